// Cluster evaluation: how well a grouping of items matches their true identities.
//
// `lineup eval cluster` groups the faces of a labelled set with the labels hidden and
// scores the grouping here. Two standard views, since each forgives different mistakes:
//   - pairwise: over all pairs of items, precision = pairs grouped together that are the
//     same identity / pairs grouped together; recall = same-identity pairs grouped
//     together / same-identity pairs. Large groups dominate (a pair count grows with the
//     square of a group's size).
//   - BCubed (Bagga and Baldwin 1998): per item, precision = the share of its group that
//     is its identity, recall = the share of its identity that is in its group; each is
//     averaged over the items, so every face counts once.
// F is the harmonic mean of precision and recall. A rate whose denominator is zero (no
// pair grouped together, no identity with two items) is 1: nothing could go wrong.
#pragma once

#include <cstdint>
#include <span>

namespace lineup {

struct PrecisionRecall {
  double precision = 1, recall = 1, f = 1;
};

struct ClusterScores {
  int64_t items = 0, clusters = 0, identities = 0;
  PrecisionRecall pairwise, bcubed;
};

// truth[i] and predicted[i] label item i (any integers; equal labels, same group).
// The spans must have the same length.
ClusterScores ScoreClusters(std::span<const int64_t> truth, std::span<const int64_t> predicted);

}  // namespace lineup
