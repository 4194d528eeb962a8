// Open-set 1:N identification: the LFW split and exact scoring (lineup/identification.h).
#include "lineup/identification.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <opencv2/core.hpp>
#include <unordered_map>

#include "lineup/cohort.h"

namespace lineup {

namespace {

std::string FileName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string TargetKey(double target) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", target);
  return buf;
}

// Mean and standard deviation of the `k` best values of row[0..n), skipping index `skip`
// (-1: none) and, if drop_best, the very best one (ranks 2..k+1). `scratch` is reused.
void CohortStats(const float* row, int n, int skip, int k, bool drop_best, std::vector<float>* scratch, float* mean,
                 float* sd) {
  scratch->clear();
  for (int j = 0; j < n; ++j)
    if (j != skip) scratch->push_back(row[j]);
  size_t take = std::min(scratch->size(), static_cast<size_t>(k) + (drop_best ? 1 : 0));
  std::nth_element(scratch->begin(), scratch->begin() + static_cast<std::ptrdiff_t>(take) - 1, scratch->end(),
                   std::greater<float>());
  double sum = 0, sq = 0, best = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < take; ++i) {
    sum += (*scratch)[i];
    sq += double((*scratch)[i]) * (*scratch)[i];
    best = std::max(best, double((*scratch)[i]));
  }
  size_t m = take;
  if (drop_best) {
    sum -= best;
    sq -= best * best;
    --m;
  }
  double mu = sum / static_cast<double>(m);
  double var = std::max(0.0, sq / static_cast<double>(m) - mu * mu);
  *mean = static_cast<float>(mu);
  *sd = static_cast<float>(std::max(std::sqrt(var), 1e-6));
}

}  // namespace

Result<std::vector<LabelledPhoto>> ReadIdentities(const std::string& file, const std::string& root) {
  return ReadPhotoLabels(file, root, "identity");
}

Result<std::vector<LabelledPhoto>> ReadPhotoLabels(const std::string& file, const std::string& root,
                                                   const std::string& column) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::NotFound(file + ": cannot open " + (column == "identity" ? "identities" : column + "s") + " file");
  std::vector<LabelledPhoto> photos;
  std::unordered_map<std::string, int> seen;  // path -> line
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    auto bad = [&](const std::string& why) {
      std::string m = file;
      m.append(":").append(std::to_string(lineno)).append(": ").append(why);
      return Status::InvalidArgument(m);
    };
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line.find('\0') != std::string::npos) return bad("NUL byte in line");
    size_t tab = line.find('\t');
    if (tab == std::string::npos || line.find('\t', tab + 1) != std::string::npos)
      return bad("expected image_relpath<TAB>" + column);
    std::string rel = line.substr(0, tab), who = line.substr(tab + 1);
    if (lineno == 1 && rel == "image_relpath" && who == column) continue;  // the header
    if (rel.empty()) return bad("empty image path");
    if (who.find_first_not_of(" \t") == std::string::npos) return bad("empty " + column);
    std::string path = rel[0] == '/' || root.empty() ? rel : (std::filesystem::path(root) / rel).string();
    auto [it, fresh] = seen.emplace(path, lineno);
    if (!fresh) {
      std::string why = rel;
      why.append(" is listed again (first on line ").append(std::to_string(it->second)).append(")");
      return bad(why);
    }
    photos.push_back({std::move(path), std::move(who)});
  }
  if (in.bad()) return Status::IOError(file + ": read error");
  if (photos.empty()) return Status::InvalidArgument(file + ": no photos listed");
  return photos;
}

Result<IdentificationSplit> BuildIdentificationSplit(const std::vector<LabelledPhoto>& photos, int limit_people) {
  if (limit_people < 0) return Status::InvalidArgument("limit_people must not be negative");
  std::map<std::string, std::vector<size_t>> people;  // byte-order names
  for (size_t i = 0; i < photos.size(); ++i) people[photos[i].identity].push_back(i);

  IdentificationSplit s;
  s.labels.assign(photos.size(), -1);
  std::vector<std::vector<size_t>*> multi;
  for (auto& [name, idx] : people) {
    if (limit_people > 0 && static_cast<int>(s.identities.size()) >= limit_people) break;
    const int label = static_cast<int>(s.identities.size());
    s.identities.push_back(name);
    // By file name; the full path breaks ties (same name in different folders).
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      std::string fa = FileName(photos[a].path), fb = FileName(photos[b].path);
      return fa != fb ? fa < fb : photos[a].path < photos[b].path;
    });
    for (size_t i : idx) s.labels[i] = label;
    if (idx.size() >= 2) {
      multi.push_back(&idx);
    } else {
      s.gallery.push_back(idx[0]);
      s.distractors++;
    }
  }
  for (size_t k = 0; k < multi.size(); ++k) {
    const auto& idx = *multi[k];
    if (k % 2 == 0) {
      s.gallery.push_back(idx[0]);
      s.mated.insert(s.mated.end(), idx.begin() + 1, idx.end());
      s.enrolled_people++;
    } else {
      s.non_mated.insert(s.non_mated.end(), idx.begin(), idx.end());
      s.unenrolled_people++;
    }
  }
  // The gallery in name order of its people (distractors interleaved), as listed.
  std::sort(s.gallery.begin(), s.gallery.end(),
            [&](size_t a, size_t b) { return s.labels[a] != s.labels[b] ? s.labels[a] < s.labels[b] : a < b; });
  if (s.mated.empty() || s.non_mated.empty()) {
    std::string m = limit_people > 0 ? "the first " + std::to_string(s.identities.size()) + " people by name include "
                                     : std::string("the identities give ");
    m.append(std::to_string(multi.size()))
        .append(" people with two or more photos; the 1:N protocol needs at least two (one enrolled and searched, one only searched)");
    return Status::InvalidArgument(m);
  }
  return s;
}

Result<IdentificationReport> EvaluateIdentification(const std::vector<std::vector<float>>& vectors,
                                                    const std::vector<int>& labels, const IdentificationSplit& split,
                                                    const IdentificationOptions& options) {
  if (options.max_rank < 1) return Status::InvalidArgument("max_rank must be at least 1");
  for (double t : options.fpir_targets)
    if (!(t > 0 && t < 1)) return Status::InvalidArgument("FPIR targets must be in (0, 1), not " + TargetKey(t));
  const bool norm = options.score_norm == "as-norm";
  if (!options.score_norm.empty() && !norm)
    return Status::InvalidArgument("unknown score normalisation \"" + options.score_norm + "\" (known: as-norm)");
  if (norm && options.cohort_k < 2) return Status::InvalidArgument("cohort_k must be at least 2");
  if (options.ranking != "cohort" && options.ranking != "raw")
    return Status::InvalidArgument("unknown ranking \"" + options.ranking + "\" (known: cohort, raw)");

  // Every photo the split names must have a label; its vector may be missing (no face).
  size_t dim = 0;
  for (const auto* list : {&split.gallery, &split.mated, &split.non_mated}) {
    for (size_t i : *list) {
      if (i >= labels.size() || labels[i] < 0) {
        std::string m = "photo ";
        m.append(std::to_string(i)).append(" of the split has no identity label");
        return Status::InvalidArgument(m);
      }
      if (i >= vectors.size() || vectors[i].empty()) continue;
      if (dim == 0) dim = vectors[i].size();
      if (vectors[i].size() != dim) return Status::InvalidArgument("identity vectors differ in length");
      for (float v : vectors[i])
        if (!std::isfinite(v)) {
          std::string m = "photo ";
          m.append(std::to_string(i)).append(": identity vector has a non-finite value");
          return Status::InvalidArgument(m);
        }
    }
  }
  auto has_face = [&](size_t i) { return i < vectors.size() && !vectors[i].empty(); };

  IdentificationReport r;
  r.score_norm = options.score_norm;
  r.gallery_size = static_cast<int>(split.gallery.size());
  r.mated_searches = static_cast<int>(split.mated.size());
  r.non_mated_searches = static_cast<int>(split.non_mated.size());

  // The enrolled gallery as a matrix of rows.
  std::vector<size_t> enrolled;
  for (size_t i : split.gallery) {
    if (has_face(i)) enrolled.push_back(i);
    else r.failures_to_enrol++;
  }
  r.gallery_enrolled = static_cast<int>(enrolled.size());
  const int ng = static_cast<int>(enrolled.size());
  std::vector<int> glabel(enrolled.size());
  cv::Mat g(ng, static_cast<int>(dim), CV_32F);
  for (int j = 0; j < ng; ++j) {
    glabel[static_cast<size_t>(j)] = labels[enrolled[static_cast<size_t>(j)]];
    std::memcpy(g.ptr<float>(j), vectors[enrolled[static_cast<size_t>(j)]].data(), sizeof(float) * dim);
  }
  // Labels that have an enrolled face.
  std::unordered_map<int, int> enrolled_count;
  for (int l : glabel) enrolled_count[l]++;

  const int block = 512;
  std::vector<float> scratch;
  // Gallery-side cohort statistics for the normalisation.
  std::vector<float> mu_g, sd_g;
  if (norm && ng > 0) {
    if (ng < 3) return Status::InvalidArgument("as-norm needs at least three enrolled faces");
    mu_g.resize(static_cast<size_t>(ng));
    sd_g.resize(static_cast<size_t>(ng));
    for (int r0 = 0; r0 < ng; r0 += block) {
      const int r1 = std::min(ng, r0 + block);
      cv::Mat s;
      cv::gemm(g.rowRange(r0, r1), g, 1.0, cv::Mat(), 0.0, s, cv::GEMM_2_T);
      for (int i = r0; i < r1; ++i)
        CohortStats(s.ptr<float>(i - r0), ng, i, options.cohort_k, false, &scratch, &mu_g[static_cast<size_t>(i)],
                    &sd_g[static_cast<size_t>(i)]);
    }
  }

  // Ranking keys: each enrolled face's similarity moments against the enrolled faces.
  std::vector<double> rank_mean, rank_sd;
  r.ranking = "raw";
  if (!norm && options.ranking == "cohort" && ng >= Cohort::kMinFaces) {
    auto cohort =
        Cohort::Fit(std::span<const float>(g.ptr<float>(0), static_cast<size_t>(ng) * dim), static_cast<int>(dim));
    if (!cohort.ok()) return cohort.status();
    rank_mean.resize(static_cast<size_t>(ng));
    rank_sd.resize(static_cast<size_t>(ng));
    cohort->Moments(g.ptr<float>(0), ng, rank_mean.data(), rank_sd.data());
    r.ranking = "cohort";
  }
  const bool cohort_ranking = !rank_mean.empty();
  std::vector<double> key(static_cast<size_t>(ng));

  // Searches: mated first, then non-mated.
  std::vector<size_t> probes(split.mated);
  probes.insert(probes.end(), split.non_mated.begin(), split.non_mated.end());
  r.searches.resize(probes.size());
  std::vector<size_t> with_face;  // positions in probes
  for (size_t p = 0; p < probes.size(); ++p) {
    SearchOutcome& o = r.searches[p];
    o.photo = probes[p];
    o.mated = p < split.mated.size();
    o.has_face = has_face(probes[p]);
    if (o.has_face && ng > 0) with_face.push_back(p);
    if (o.mated && !o.has_face) r.mated_without_face++;
    if (!o.mated && !o.has_face) r.non_mated_without_face++;
    if (o.mated && o.has_face && !enrolled_count.count(labels[probes[p]])) r.mated_not_enrolled++;
  }
  std::vector<float> row(static_cast<size_t>(ng));
  for (size_t b0 = 0; b0 < with_face.size(); b0 += block) {
    const size_t b1 = std::min(with_face.size(), b0 + block);
    cv::Mat q(static_cast<int>(b1 - b0), static_cast<int>(dim), CV_32F);
    for (size_t b = b0; b < b1; ++b)
      std::memcpy(q.ptr<float>(static_cast<int>(b - b0)), vectors[probes[with_face[b]]].data(), sizeof(float) * dim);
    cv::Mat s;
    cv::gemm(q, g, 1.0, cv::Mat(), 0.0, s, cv::GEMM_2_T);
    for (size_t b = b0; b < b1; ++b) {
      SearchOutcome& o = r.searches[with_face[b]];
      const float* raw = s.ptr<float>(static_cast<int>(b - b0));
      std::copy(raw, raw + ng, row.begin());
      if (norm) {
        float mu_p, sd_p;
        CohortStats(raw, ng, -1, options.cohort_k, true, &scratch, &mu_p, &sd_p);
        for (int j = 0; j < ng; ++j) {
          const size_t u = static_cast<size_t>(j);
          row[u] = 0.5f * ((raw[j] - mu_p) / sd_p + (raw[j] - mu_g[u]) / sd_g[u]);
        }
      }
      // Order by key; decide on row (the score) of the candidate the order puts first.
      for (int j = 0; j < ng; ++j) {
        const size_t u = static_cast<size_t>(j);
        key[u] = cohort_ranking ? Cohort::ZScore(row[u], rank_mean[u], rank_sd[u]) : row[u];
      }
      int top = 0;
      for (int j = 1; j < ng; ++j)
        if (key[static_cast<size_t>(j)] > key[static_cast<size_t>(top)]) top = j;
      o.top_score = row[static_cast<size_t>(top)];
      o.top_photo = static_cast<long long>(enrolled[static_cast<size_t>(top)]);
      if (!o.mated) continue;
      const int label = labels[o.photo];
      int mate = -1;  // the best-ranked enrolled face of the person
      for (int j = 0; j < ng; ++j)
        if (glabel[static_cast<size_t>(j)] == label &&
            (mate < 0 || key[static_cast<size_t>(j)] > key[static_cast<size_t>(mate)]))
          mate = j;
      if (mate < 0) continue;  // the mate was not enrolled: a miss
      int ahead = 0;  // non-mates at or above the mate: ties count against it
      for (int j = 0; j < ng; ++j)
        if (glabel[static_cast<size_t>(j)] != label && key[static_cast<size_t>(j)] >= key[static_cast<size_t>(mate)])
          ++ahead;
      o.rank = ahead + 1;
      o.mate_score = row[static_cast<size_t>(mate)];
    }
  }

  // Rank statistics over all mated searches.
  const double nm = r.mated_searches, nn = r.non_mated_searches;
  const double undefined = std::numeric_limits<double>::quiet_NaN();
  std::vector<int> at_rank(static_cast<size_t>(options.max_rank) + 1, 0);
  std::vector<float> hits;  // scores of mates found at rank 1
  std::vector<float> nonmated_top;  // top scores of non-mated searches with a candidate
  for (const auto& o : r.searches) {
    if (o.mated) {
      if (o.rank >= 1 && o.rank <= options.max_rank) at_rank[static_cast<size_t>(o.rank)]++;
      if (o.rank == 1) hits.push_back(o.mate_score);
    } else if (o.top_photo >= 0) {
      nonmated_top.push_back(o.top_score);
    }
  }
  int cum = 0;
  for (int k = 1; k <= options.max_rank; ++k) {
    cum += at_rank[static_cast<size_t>(k)];
    r.cmc.push_back(nm > 0 ? cum / nm : undefined);
  }
  r.rank1 = r.cmc[0];
  r.rank5 = r.cmc[static_cast<size_t>(std::min(options.max_rank, 5) - 1)];
  if (options.max_rank < 5) r.rank5 = undefined;

  // Thresholds: hits and non-mated top scores sorted falling.
  std::sort(hits.begin(), hits.end(), std::greater<float>());
  std::sort(nonmated_top.begin(), nonmated_top.end(), std::greater<float>());
  auto at_or_above = [](const std::vector<float>& falling, float t) {
    return static_cast<double>(std::upper_bound(falling.begin(), falling.end(), t, std::greater<float>()) -
                               falling.begin());
  };
  auto fnir = [&](float t) { return nm > 0 ? 1.0 - at_or_above(hits, t) / nm : undefined; };
  for (double target : options.fpir_targets) {
    const std::string key = TargetKey(target);
    const size_t allowed = static_cast<size_t>(std::floor(target * nn + 1e-9));
    float t = -std::numeric_limits<float>::infinity();  // any threshold holds the target
    if (allowed < nonmated_top.size()) t = std::nextafter(nonmated_top[allowed], std::numeric_limits<float>::infinity());
    r.threshold_at_fpir[key] = t;
    r.fpir_actual[key] = nn > 0 ? at_or_above(nonmated_top, t) / nn : undefined;
    r.fnir_at_fpir[key] = fnir(t);
  }
  for (size_t k = 0; k < nonmated_top.size(); ++k) {
    if (k + 1 < nonmated_top.size() && nonmated_top[k + 1] == nonmated_top[k]) continue;
    const float t = nonmated_top[k];
    r.det.push_back({static_cast<double>(k + 1) / nn, fnir(t), t});
  }
  return r;
}

ThresholdOutcome AtThreshold(const IdentificationReport& r, float t) {
  ThresholdOutcome out;
  int hits = 0;
  for (const auto& o : r.searches) {
    if (o.mated) hits += o.rank == 1 && o.mate_score >= t;
    else out.non_mated_above += o.top_photo >= 0 && o.top_score >= t;
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out.fpir = r.non_mated_searches > 0 ? static_cast<double>(out.non_mated_above) / r.non_mated_searches : nan;
  out.fnir = r.mated_searches > 0 ? 1.0 - static_cast<double>(hits) / r.mated_searches : nan;
  return out;
}

}  // namespace lineup
