// EvaluateGroups and SplitSearchesByGroup (lineup/group_evaluation.h).
#include "lineup/group_evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <queue>
#include <random>
#include <unordered_map>

#include <opencv2/core.hpp>

#include "lineup/calibration.h"

namespace lineup {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Share(int64_t errors, int64_t trials) {
  return trials > 0 ? static_cast<double>(errors) / static_cast<double>(trials) : kNaN;
}

// The (alpha/2, 1 - alpha/2) quantiles of `values` by the nearest rank; NaN values (a
// resample without trials) count as unknown, and if they are more than the tails allow
// the interval is unknown too.
std::pair<double, double> Interval(std::vector<double> values, double confidence) {
  if (values.empty()) return {kNaN, kNaN};
  const size_t total = values.size();
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }), values.end());
  const double tail = (1 - confidence) / 2;
  if (static_cast<double>(total - values.size()) > tail * static_cast<double>(total) || values.empty())
    return {kNaN, kNaN};
  std::sort(values.begin(), values.end());
  auto at = [&](double p) {
    const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(values.size())));
    return values[std::min(values.size() - 1, rank > 0 ? rank - 1 : 0)];
  };
  return {at(tail), at(1 - tail)};
}

// A person within a group: the unit the bootstrap draws.
struct Unit {
  int group = 0;
  int identity = 0;
  int64_t photos = 0;
  std::vector<int64_t> misses;  // genuine pairs under each threshold
  int64_t genuine_pairs() const { return photos * (photos - 1) / 2; }
};

uint64_t PairKey(int a, int b) {
  if (a > b) std::swap(a, b);
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

std::vector<std::pair<double, double>> Det(const std::vector<int64_t>& imp, const std::vector<int64_t>& gen) {
  std::vector<std::pair<double, double>> det;
  int64_t imp_total = 0, gen_total = 0;
  for (auto v : imp) imp_total += v;
  for (auto v : gen) gen_total += v;
  if (imp_total == 0 || gen_total == 0) return det;
  int64_t imp_above = imp_total, gen_below = 0;
  for (size_t b = 0; b < imp.size(); ++b) {
    // Threshold at the lower edge of bin b: bins b.. are matches.
    if (imp_above == 0) break;
    if (b == 0 || imp[b - 1] > 0)
      det.push_back({static_cast<double>(imp_above) / static_cast<double>(imp_total),
                     static_cast<double>(gen_below) / static_cast<double>(gen_total)});
    imp_above -= imp[b];
    gen_below += gen[b];
  }
  return det;
}

}  // namespace

Result<PhotoGroups> MatchGroups(const std::vector<LabelledPhoto>& photos, const std::vector<LabelledPhoto>& groups) {
  PhotoGroups out;
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < photos.size(); ++i) index.emplace(photos[i].path, i);
  out.of_photo.assign(photos.size(), -1);
  std::map<std::string, int> named;
  size_t unknown = 0;
  std::string first_unknown;
  for (const LabelledPhoto& g : groups) {
    auto it = index.find(g.path);
    if (it == index.end()) {
      if (unknown++ == 0) first_unknown = g.path;
      continue;
    }
    auto [n, fresh] = named.emplace(g.identity, static_cast<int>(out.names.size()));
    if (fresh) out.names.push_back(g.identity);
    out.of_photo[it->second] = n->second;
  }
  if (unknown > 0)
    return Status::InvalidArgument("the groups file names " + std::to_string(unknown) +
                                   " photos that are not in the identities file, the first " + first_unknown +
                                   " (are both relative to the same root?)");
  for (int g : out.of_photo) out.unlabelled += g < 0;
  if (out.names.empty() || out.unlabelled == static_cast<int>(photos.size()))
    return Status::InvalidArgument("no photo of the identities file has a group");
  return out;
}

float AdjustScore(const GroupEvaluationOptions& options, size_t i, size_t j, float raw) {
  float v = raw;
  if (!options.cohort_mean.empty())
    v = 0.5f * ((raw - options.cohort_mean[i]) / options.cohort_sd[i] + (raw - options.cohort_mean[j]) / options.cohort_sd[j]);
  if (options.quality_margin != 0) v -= options.quality_margin * (1.0f - std::min(options.quality[i], options.quality[j]));
  return v;
}

Result<GroupEvaluation> EvaluateGroups(const std::vector<std::vector<float>>& vectors, const std::vector<int>& identity,
                                       const std::vector<int>& group, const std::vector<std::string>& group_names,
                                       const GroupEvaluationOptions& options,
                                       const std::function<void(size_t, size_t)>& progress) {
  const size_t n_all = vectors.size();
  if (identity.size() != n_all || group.size() != n_all)
    return Status::InvalidArgument("vectors, identities and groups differ in number");
  if (options.thresholds.empty() && options.self_calibrated_fmr.empty())
    return Status::InvalidArgument("no threshold to evaluate at");
  for (double f : options.self_calibrated_fmr)
    if (!(f > 0 && f < 1)) return Status::InvalidArgument("a false-match rate to calibrate for must be between 0 and 1");
  if (!options.cohort_mean.empty() && (options.cohort_mean.size() != n_all || options.cohort_sd.size() != n_all))
    return Status::InvalidArgument("cohort statistics must have one mean and one spread per photo");
  for (float sd : options.cohort_sd)
    if (!(sd > 0) || !std::isfinite(sd)) return Status::InvalidArgument("a cohort spread is not positive");
  for (float m : options.cohort_mean)
    if (!std::isfinite(m)) return Status::InvalidArgument("a cohort mean is not a number");
  if (!std::isfinite(options.quality_margin)) return Status::InvalidArgument("the quality margin is not a number");
  if (options.quality_margin != 0 && options.quality.size() != n_all)
    return Status::InvalidArgument("a quality-aware threshold needs one quality per photo");
  if (options.resamples < 0 || options.resamples > 100000)
    return Status::InvalidArgument("resamples must be between 0 and 100000");
  if (!(options.confidence > 0 && options.confidence < 1))
    return Status::InvalidArgument("confidence must be between 0 and 1");
  for (const auto& [key, t] : options.thresholds)
    if (!std::isfinite(t)) return Status::InvalidArgument("threshold " + key + " is not a number");
  const int ngroups = static_cast<int>(group_names.size());
  int dim = 0;
  for (size_t i = 0; i < n_all; ++i) {
    if (group[i] < -1 || group[i] >= ngroups) return Status::InvalidArgument("a photo's group is out of range");
    if (identity[i] < 0) return Status::InvalidArgument("a photo has no identity");
    if (vectors[i].empty()) continue;
    if (dim == 0) dim = static_cast<int>(vectors[i].size());
    if (static_cast<int>(vectors[i].size()) != dim) return Status::InvalidArgument("vectors differ in length");
    for (float v : vectors[i])
      if (!std::isfinite(v)) return Status::InvalidArgument("a vector holds a value that is not a number");
  }

  GroupEvaluation out;
  out.resamples = options.resamples;
  out.seed = options.seed;
  out.confidence = options.confidence;
  out.groups.resize(static_cast<size_t>(ngroups));
  for (int g = 0; g < ngroups; ++g) out.groups[static_cast<size_t>(g)].name = group_names[static_cast<size_t>(g)];
  out.cross.name = "cross-group";

  // The labelled photos and their units (a person within a group).
  std::vector<size_t> kept;
  std::vector<int> unit_of;
  std::vector<Unit> units;
  {
    std::map<std::pair<int, int>, int> unit_index;
    for (size_t i = 0; i < n_all; ++i) {
      if (group[i] < 0) {
        out.unlabelled_photos++;
        continue;
      }
      auto [it, fresh] = unit_index.emplace(std::pair{group[i], identity[i]}, static_cast<int>(units.size()));
      if (fresh) units.push_back({group[i], identity[i], 0, {}});
      units[static_cast<size_t>(it->second)].photos++;
      kept.push_back(i);
      unit_of.push_back(it->second);
      GroupRates& gr = out.groups[static_cast<size_t>(group[i])];
      gr.photos++;
      gr.photos_without_face += vectors[i].empty();
      gr.people += fresh;
    }
  }
  const int n = static_cast<int>(kept.size());
  cv::Mat e(std::max(n, 1), std::max(dim, 1), CV_32F, cv::Scalar(0));
  std::vector<char> has_face(static_cast<size_t>(n), 0);
  for (int r = 0; r < n; ++r) {
    const auto& v = vectors[kept[static_cast<size_t>(r)]];
    if (v.empty()) continue;
    has_face[static_cast<size_t>(r)] = 1;
    std::memcpy(e.ptr<float>(r), v.data(), sizeof(float) * v.size());
  }

  // Every pair of labelled photos, scored (and adjusted) once per pass.
  const bool normalised = !options.cohort_mean.empty();
  const bool quality_aware = options.quality_margin != 0;
  auto adjusted = [&](int r, int c, float raw) {
    return normalised || quality_aware ? AdjustScore(options, kept[static_cast<size_t>(r)], kept[static_cast<size_t>(c)], raw)
                                       : raw;
  };
  const int passes = options.self_calibrated_fmr.empty() ? 1 : 2;
  const size_t total_steps = static_cast<size_t>(passes) * static_cast<size_t>(n) + static_cast<size_t>(options.resamples);
  size_t steps_done = 0;
  auto for_each_pair = [&](const std::function<void(int r, int c, float score)>& visit) {
    const int block = 256;
    cv::Mat s;
    for (int r0 = 0; r0 < n; r0 += block) {
      const int r1 = std::min(n, r0 + block);
      cv::gemm(e.rowRange(r0, r1), e.rowRange(r0, n), 1.0, cv::Mat(), 0.0, s, cv::GEMM_2_T);
      for (int r = r0; r < r1; ++r) {
        const float* row = s.ptr<float>(r - r0);
        const bool face_r = has_face[static_cast<size_t>(r)];
        for (int c = r + 1; c < n; ++c) {
          const bool scored = face_r && has_face[static_cast<size_t>(c)];
          visit(r, c, scored ? adjusted(r, c, row[c - r0]) : -std::numeric_limits<float>::infinity());
        }
        ++steps_done;
        if (progress && (r % 64 == 0 || r + 1 == n)) progress(steps_done, total_steps);
      }
    }
  };

  // Thresholds of the evaluated pairs themselves: the highest impostor scores, enough for
  // the largest target.
  std::vector<float> thr;
  std::vector<std::string> keys;
  if (!options.self_calibrated_fmr.empty()) {
    int64_t same_person = 0;
    {
      std::map<int, int64_t> photos_of;
      for (int r = 0; r < n; ++r) photos_of[units[static_cast<size_t>(unit_of[static_cast<size_t>(r)])].identity]++;
      for (const auto& [id, count] : photos_of) same_person += count * (count - 1) / 2;
    }
    const int64_t impostors = static_cast<int64_t>(n) * (n - 1) / 2 - same_person;
    const double highest = *std::max_element(options.self_calibrated_fmr.begin(), options.self_calibrated_fmr.end());
    const size_t keep_top = static_cast<size_t>(std::floor(highest * static_cast<double>(impostors))) + 1;
    std::priority_queue<float, std::vector<float>, std::greater<>> top;  // the keep_top highest, smallest on top
    for_each_pair([&](int r, int c, float score) {
      if (units[static_cast<size_t>(unit_of[static_cast<size_t>(r)])].identity ==
          units[static_cast<size_t>(unit_of[static_cast<size_t>(c)])].identity)
        return;
      if (top.size() < keep_top) top.push(score);
      else if (score > top.top()) top.pop(), top.push(score);
    });
    std::vector<float> desc;
    while (!top.empty()) desc.push_back(top.top()), top.pop();
    std::reverse(desc.begin(), desc.end());
    for (double f : options.self_calibrated_fmr) {
      const size_t k = static_cast<size_t>(std::floor(f * static_cast<double>(impostors)));
      // Strictly above the (k+1)-th highest: at most k impostor pairs at or above.
      const float t = k < desc.size() ? std::nextafter(desc[k], std::numeric_limits<float>::infinity())
                                      : -std::numeric_limits<float>::infinity();
      char key[32];
      std::snprintf(key, sizeof key, "%g", f);
      keys.push_back(key);
      thr.push_back(t);
    }
  } else {
    for (const auto& [key, t] : options.thresholds) keys.push_back(key), thr.push_back(t);
  }
  const size_t nthr = thr.size();
  for (size_t k = 0; k < nthr; ++k) out.thresholds[keys[k]] = thr[k];
  for (auto& u : units) u.misses.assign(nthr, 0);

  // Histograms for the DET curves (plain scores only: adjusted ones leave [-1, 1]), misses
  // per unit, and the false matches of each pair of units (few: only those at or above a
  // threshold are kept).
  std::vector<std::vector<int64_t>> imp(static_cast<size_t>(ngroups + 1), std::vector<int64_t>(kHistogramBins, 0));
  std::vector<std::vector<int64_t>> gen(static_cast<size_t>(ngroups), std::vector<int64_t>(kHistogramBins, 0));
  std::vector<std::unordered_map<uint64_t, int64_t>> false_matches(nthr);
  for_each_pair([&](int r, int c, float score) {
    const int ur = unit_of[static_cast<size_t>(r)], uc = unit_of[static_cast<size_t>(c)];
    Unit& a = units[static_cast<size_t>(ur)];
    const Unit& b = units[static_cast<size_t>(uc)];
    const size_t bin = static_cast<size_t>(std::isfinite(score) ? HistogramBin(score) : 0);
    if (a.identity == b.identity) {
      if (a.group != b.group) {
        out.genuine_pairs_across_groups++;
        return;
      }
      gen[static_cast<size_t>(a.group)][bin]++;
      for (size_t k = 0; k < nthr; ++k)
        if (!(score >= thr[k])) a.misses[k]++;
      return;
    }
    imp[static_cast<size_t>(a.group == b.group ? a.group : ngroups)][bin]++;
    for (size_t k = 0; k < nthr; ++k)
      if (score >= thr[k]) false_matches[k][PairKey(ur, uc)]++;
  });
  const bool plain_scores = !normalised && !quality_aware;

  // Point estimates.
  const size_t nunits = units.size();
  // The rates of every group and of the cross-group pairs for multiplicities m of the
  // units (all 1: the data as it is; a bootstrap draw otherwise).
  // Same-person units of two groups: their pairs are genuine, never cross-group impostors.
  std::vector<std::pair<int, int>> same_person_across;
  {
    std::map<int, std::vector<int>> by_identity;
    for (size_t u = 0; u < nunits; ++u) by_identity[units[u].identity].push_back(static_cast<int>(u));
    for (const auto& [id, list] : by_identity)
      for (size_t i = 0; i < list.size(); ++i)
        for (size_t j = i + 1; j < list.size(); ++j) same_person_across.push_back({list[i], list[j]});
  }
  struct Counts {
    // [group][threshold]; group ngroups is the cross-group pairs (impostors only).
    std::vector<std::vector<double>> imp_errors, gen_errors;
    std::vector<double> imp_trials, gen_trials;
  };
  auto count = [&](const std::vector<double>& m) {
    Counts c;
    c.imp_errors.assign(static_cast<size_t>(ngroups + 1), std::vector<double>(nthr, 0));
    c.gen_errors.assign(static_cast<size_t>(ngroups), std::vector<double>(nthr, 0));
    c.imp_trials.assign(static_cast<size_t>(ngroups + 1), 0);
    c.gen_trials.assign(static_cast<size_t>(ngroups), 0);
    std::vector<double> sum(static_cast<size_t>(ngroups), 0), sum_sq(static_cast<size_t>(ngroups), 0);
    for (size_t u = 0; u < nunits; ++u) {
      if (m[u] == 0) continue;
      const Unit& x = units[u];
      const size_t g = static_cast<size_t>(x.group);
      const double photos = static_cast<double>(x.photos);
      sum[g] += m[u] * photos;
      sum_sq[g] += m[u] * m[u] * photos * photos;
      c.gen_trials[g] += m[u] * static_cast<double>(x.genuine_pairs());
      for (size_t k = 0; k < nthr; ++k) c.gen_errors[g][k] += m[u] * static_cast<double>(x.misses[k]);
    }
    double all = 0;
    for (size_t g = 0; g < static_cast<size_t>(ngroups); ++g) {
      c.imp_trials[g] = (sum[g] * sum[g] - sum_sq[g]) / 2;
      all += sum[g];
    }
    double within = 0;
    for (size_t g = 0; g < static_cast<size_t>(ngroups); ++g) within += sum[g] * sum[g];
    c.imp_trials[static_cast<size_t>(ngroups)] = (all * all - within) / 2;
    for (const auto& [u, v] : same_person_across)
      c.imp_trials[static_cast<size_t>(ngroups)] -= m[static_cast<size_t>(u)] * m[static_cast<size_t>(v)] *
                                                    static_cast<double>(units[static_cast<size_t>(u)].photos) *
                                                    static_cast<double>(units[static_cast<size_t>(v)].photos);
    for (size_t k = 0; k < nthr; ++k)
      for (const auto& [key, errors] : false_matches[k]) {
        const size_t u = key >> 32, v = key & 0xffffffffu;
        const double w = m[u] * m[v];
        if (w == 0) continue;
        const int gu = units[u].group, gv = units[v].group;
        c.imp_errors[static_cast<size_t>(gu == gv ? gu : ngroups)][k] += w * static_cast<double>(errors);
      }
    return c;
  };
  auto rate = [](double errors, double trials) { return trials > 0 ? errors / trials : kNaN; };

  const Counts base = count(std::vector<double>(nunits, 1.0));
  for (size_t g = 0; g <= static_cast<size_t>(ngroups); ++g) {
    GroupRates& gr = g < static_cast<size_t>(ngroups) ? out.groups[g] : out.cross;
    gr.impostor_pairs = std::llround(base.imp_trials[g]);
    if (g < static_cast<size_t>(ngroups)) gr.genuine_pairs = std::llround(base.gen_trials[g]);
    for (size_t k = 0; k < nthr; ++k) {
      const std::string& key = keys[k];
      RateWithInterval f;
      f.errors = std::llround(base.imp_errors[g][k]);
      f.trials = gr.impostor_pairs;
      f.rate = Share(f.errors, f.trials);
      f.low = f.high = kNaN;
      gr.fmr[key] = f;
      if (g == static_cast<size_t>(ngroups)) continue;
      RateWithInterval m;
      m.errors = std::llround(base.gen_errors[g][k]);
      m.trials = gr.genuine_pairs;
      m.rate = Share(m.errors, m.trials);
      m.low = m.high = kNaN;
      gr.fnmr[key] = m;
    }
    if (plain_scores)
      gr.det = Det(imp[g], g < static_cast<size_t>(ngroups) ? gen[g] : std::vector<int64_t>(kHistogramBins, 0));
  }
  // Every labelled pair together.
  out.overall.name = "all";
  for (size_t g = 0; g <= static_cast<size_t>(ngroups); ++g) {
    out.overall.impostor_pairs += std::llround(base.imp_trials[g]);
    if (g < static_cast<size_t>(ngroups)) out.overall.genuine_pairs += std::llround(base.gen_trials[g]);
  }
  for (size_t k = 0; k < nthr; ++k) {
    RateWithInterval f, m;
    for (size_t g = 0; g <= static_cast<size_t>(ngroups); ++g) {
      f.errors += std::llround(base.imp_errors[g][k]);
      if (g < static_cast<size_t>(ngroups)) m.errors += std::llround(base.gen_errors[g][k]);
    }
    f.trials = out.overall.impostor_pairs;
    m.trials = out.overall.genuine_pairs;
    f.rate = Share(f.errors, f.trials);
    m.rate = Share(m.errors, m.trials);
    f.low = f.high = m.low = m.high = kNaN;
    out.overall.fmr[keys[k]] = f;
    out.overall.fnmr[keys[k]] = m;
  }
  // Ratios: highest group over lowest, among groups with pairs to measure.
  auto ratio_of = [&](bool fmr_side, const std::string& key) {
    GroupRatio r;
    r.ratio = r.low = r.high = kNaN;
    double hi = -1, lo = std::numeric_limits<double>::infinity();
    int measured = 0;
    for (const GroupRates& gr : out.groups) {
      const double v = (fmr_side ? gr.fmr : gr.fnmr).at(key).rate;
      if (std::isnan(v)) continue;
      ++measured;
      if (v > hi) hi = v, r.highest = gr.name;
      if (v < lo) lo = v, r.lowest = gr.name;
    }
    if (measured >= 2 && lo > 0) r.ratio = hi / lo;
    if (measured < 2) r.highest.clear(), r.lowest.clear();
    return r;
  };
  for (const std::string& key : keys) {
    out.fmr_ratio[key] = ratio_of(true, key);
    out.fnmr_ratio[key] = ratio_of(false, key);
  }

  // Bootstrap: each group's people drawn with replacement, independently.
  if (options.resamples > 0) {
    std::vector<std::vector<int>> members(static_cast<size_t>(ngroups));
    for (size_t u = 0; u < nunits; ++u) members[static_cast<size_t>(units[u].group)].push_back(static_cast<int>(u));
    std::mt19937_64 rng(options.seed);
    const size_t ng1 = static_cast<size_t>(ngroups) + 1;
    // draws[group][threshold] -> values over resamples
    std::vector<std::vector<std::vector<double>>> fmr_draws(ng1, std::vector<std::vector<double>>(nthr));
    std::vector<std::vector<std::vector<double>>> fnmr_draws(ng1, std::vector<std::vector<double>>(nthr));
    std::map<std::string, std::vector<double>> fmr_ratio_draws, fnmr_ratio_draws;
    std::map<std::string, size_t> index;
    for (int g = 0; g < ngroups; ++g) index[group_names[static_cast<size_t>(g)]] = static_cast<size_t>(g);
    std::vector<double> m(nunits);
    for (int b = 0; b < options.resamples; ++b) {
      std::fill(m.begin(), m.end(), 0.0);
      for (const auto& list : members) {
        if (list.empty()) continue;
        std::uniform_int_distribution<size_t> pick(0, list.size() - 1);
        for (size_t k = 0; k < list.size(); ++k) m[static_cast<size_t>(list[pick(rng)])] += 1;
      }
      const Counts c = count(m);
      for (size_t g = 0; g < ng1; ++g)
        for (size_t k = 0; k < nthr; ++k) {
          fmr_draws[g][k].push_back(rate(c.imp_errors[g][k], c.imp_trials[g]));
          if (g < static_cast<size_t>(ngroups)) fnmr_draws[g][k].push_back(rate(c.gen_errors[g][k], c.gen_trials[g]));
        }
      for (size_t k = 0; k < nthr; ++k) {
        const std::string& key = keys[k];
        for (int side = 0; side < 2; ++side) {
          const GroupRatio& r = (side == 0 ? out.fmr_ratio : out.fnmr_ratio)[key];
          if (r.highest.empty()) continue;
          const auto& draws = side == 0 ? fmr_draws : fnmr_draws;
          const double hi = draws[index[r.highest]][k].back(), lo = draws[index[r.lowest]][k].back();
          const double v = std::isnan(hi) || std::isnan(lo) ? kNaN
                           : lo > 0                       ? hi / lo
                                                          : std::numeric_limits<double>::infinity();
          (side == 0 ? fmr_ratio_draws : fnmr_ratio_draws)[key].push_back(v);
        }
      }
      if (progress) progress(static_cast<size_t>(n) + static_cast<size_t>(b) + 1, total_steps);
    }
    for (size_t g = 0; g < ng1; ++g) {
      GroupRates& gr = g < static_cast<size_t>(ngroups) ? out.groups[g] : out.cross;
      for (size_t k = 0; k < nthr; ++k) {
        const std::string& key = keys[k];
        std::tie(gr.fmr[key].low, gr.fmr[key].high) = Interval(fmr_draws[g][k], options.confidence);
        if (g < static_cast<size_t>(ngroups))
          std::tie(gr.fnmr[key].low, gr.fnmr[key].high) = Interval(fnmr_draws[g][k], options.confidence);
      }
    }
    for (auto& [key, r] : out.fmr_ratio)
      if (!r.highest.empty()) std::tie(r.low, r.high) = Interval(fmr_ratio_draws[key], options.confidence);
    for (auto& [key, r] : out.fnmr_ratio)
      if (!r.highest.empty()) std::tie(r.low, r.high) = Interval(fnmr_ratio_draws[key], options.confidence);
  }
  return out;
}

CohortStatistics MeasureCohort(const std::vector<std::vector<float>>& vectors, const std::vector<int>& side, int k) {
  CohortStatistics out;
  const size_t n = vectors.size();
  out.mean.assign(n, 0.0f);
  out.sd.assign(n, 1.0f);
  const bool sided = side.size() == n;
  std::vector<size_t> with_face;
  for (size_t i = 0; i < n; ++i)
    if (!vectors[i].empty()) with_face.push_back(i);
  if (with_face.size() < 3) return out;
  const int dim = static_cast<int>(vectors[with_face[0]].size());
  const int m = static_cast<int>(with_face.size());
  cv::Mat e(m, dim, CV_32F);
  for (int r = 0; r < m; ++r)
    std::memcpy(e.ptr<float>(r), vectors[with_face[static_cast<size_t>(r)]].data(), sizeof(float) * static_cast<size_t>(dim));
  const int block = 256;
  cv::Mat s;
  std::vector<float> row_scores;
  for (int r0 = 0; r0 < m; r0 += block) {
    const int r1 = std::min(m, r0 + block);
    cv::gemm(e.rowRange(r0, r1), e, 1.0, cv::Mat(), 0.0, s, cv::GEMM_2_T);
    for (int r = r0; r < r1; ++r) {
      const size_t i = with_face[static_cast<size_t>(r)];
      const float* row = s.ptr<float>(r - r0);
      row_scores.clear();
      for (int c = 0; c < m; ++c) {
        const size_t j = with_face[static_cast<size_t>(c)];
        if (j == i || (sided && side[j] == side[i])) continue;
        row_scores.push_back(row[c]);
      }
      if (row_scores.size() < 2) continue;
      size_t use = row_scores.size();
      if (k > 0 && static_cast<size_t>(k) < use) {
        std::nth_element(row_scores.begin(), row_scores.begin() + k, row_scores.end(), std::greater<>());
        use = static_cast<size_t>(k);
      }
      double sum = 0, sq = 0;
      for (size_t t = 0; t < use; ++t) sum += row_scores[t], sq += double(row_scores[t]) * row_scores[t];
      const double mean = sum / static_cast<double>(use);
      const double var = std::max(sq / static_cast<double>(use) - mean * mean, 1e-12);
      out.mean[i] = static_cast<float>(mean);
      out.sd[i] = static_cast<float>(std::sqrt(var));
    }
  }
  return out;
}

std::vector<GroupSearchRates> SplitSearchesByGroup(const IdentificationReport& report, const std::vector<int>& group,
                                                   const std::vector<std::string>& group_names,
                                                   const std::vector<std::pair<std::string, float>>& thresholds) {
  std::vector<GroupSearchRates> out(group_names.size());
  for (size_t g = 0; g < group_names.size(); ++g) {
    out[g].name = group_names[g];
    for (const auto& [key, t] : thresholds) out[g].at[key] = {};
  }
  for (const SearchOutcome& o : report.searches) {
    if (o.photo >= group.size() || group[o.photo] < 0 || group[o.photo] >= static_cast<int>(group_names.size())) continue;
    GroupSearchRates& gr = out[static_cast<size_t>(group[o.photo])];
    for (const auto& [key, t] : thresholds) {
      GroupSearchOutcome& x = gr.at[key];
      if (o.mated) {
        x.mated_searches++;
        x.mated_missed += !(o.rank == 1 && o.mate_score >= t);
      } else {
        x.non_mated_searches++;
        x.non_mated_above += o.top_photo >= 0 && o.top_score >= t;
      }
    }
  }
  for (auto& gr : out)
    for (auto& [key, x] : gr.at) {
      x.fnir = Share(x.mated_missed, x.mated_searches);
      x.fpir = Share(x.non_mated_above, x.non_mated_searches);
    }
  return out;
}

}  // namespace lineup
