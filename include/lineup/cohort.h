// Cohort: how similar a face is to everyone else in a gallery, for ranking candidates.
//
// Some faces resemble many people (a blurred or half-turned photo, a common look) and
// score high against any probe; ranking a probe's candidates by raw similarity puts such
// faces above a mate more often than their similarity deserves. A Cohort is fitted on
// the gallery's own faces (its mean and covariance) and gives, for any face g, the mean
// and spread of g's similarity to a random face of the gallery in closed form:
//     mean(g) = g . m        sd(g)^2 = g' C g     (m, C: the faces' mean and covariance)
// Normalise(s, g) = (s - mean(g)) / sd(g) is gallery-side z-normalisation; the gallery
// ranks candidates by it and still reports, thresholds and calibrates the raw similarity
// (docs/accuracy.md measures both). It holds only those aggregates, in memory: it is
// refitted from the live faces, never stored, so an erased face stops counting at once.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "lineup/status.h"

namespace lineup {

class Cohort {
 public:
  // Fewer faces than this give too rough a covariance (real vectors fill ~160 dimensions).
  static constexpr int64_t kMinFaces = 1000;

  // Fits on `vectors` (rows of `dim` unit-length floats). InvalidArgument if there are
  // fewer than kMinFaces rows or the sizes do not fit.
  static Result<Cohort> Fit(std::span<const float> vectors, int dim);

  int64_t faces() const { return faces_; }
  // For each of the n faces (rows of dim floats): the mean and standard deviation of its
  // similarity to a face of the cohort.
  void Moments(const float* faces, int64_t n, double* mean, double* sd) const;
  // (score - mean) / sd for the gallery face `face`.
  double Normalise(float score, const float* face) const;
  // (score - mean) / sd from a face's Moments (0 if sd is 0).
  static double ZScore(double score, double mean, double sd) { return sd > 0 ? (score - mean) / sd : 0.0; }

 private:
  int dim_ = 0, rank_ = 0;
  int64_t faces_ = 0;
  std::vector<float> mean_;
  std::vector<float> axes_;  // rank_ rows of dim_: sqrt(eigenvalue) x eigenvector of C
};

}  // namespace lineup
