#include "lineup/cohort.h"

#include <faiss/VectorTransform.h>
#include <faiss/utils/distances.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "util/dot_rows.h"

namespace lineup {

Result<Cohort> Cohort::Fit(std::span<const float> vectors, int dim) {
  if (dim <= 0 || vectors.size() % static_cast<size_t>(dim) != 0)
    return Status::InvalidArgument("cohort vectors must have " + std::to_string(dim) + " values each");
  const int64_t n = static_cast<int64_t>(vectors.size() / static_cast<size_t>(dim));
  if (n < kMinFaces)
    return Status::InvalidArgument("a cohort needs at least " + std::to_string(kMinFaces) + " faces, got " +
                                   std::to_string(n));
  // FAISS's PCA does the covariance and eigen decomposition with BLAS and LAPACK.
  faiss::PCAMatrix pca(dim, dim, 0, false);
  pca.train(n, vectors.data());
  Cohort c;
  c.dim_ = dim;
  c.faces_ = n;
  c.mean_ = pca.mean;
  // Scale the eigenvalues to the covariance's own trace (the mean squared distance to
  // the mean), whatever normalisation the decomposition used.
  double trace = 0, total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* x = vectors.data() + i * dim;
    for (int j = 0; j < dim; ++j) {
      const double v = static_cast<double>(x[j]) - c.mean_[static_cast<size_t>(j)];
      trace += v * v;
    }
  }
  trace /= static_cast<double>(n);
  for (float e : pca.eigenvalues) total += std::max(0.0f, e);
  if (!(total > 0)) return Status::InvalidArgument("cohort vectors do not vary");
  const double scale = trace / total;
  // Keep the directions holding all but 1e-4 of the variance (160 of the default
  // model's 512): the rest changes a face's similarity spread by less than that share.
  double kept = 0;
  for (int r = 0; r < dim && kept < (1 - 1e-4) * total; ++r) {
    const double e = std::max(0.0f, pca.eigenvalues[static_cast<size_t>(r)]);
    kept += e;
    const float w = static_cast<float>(std::sqrt(e * scale));
    for (int j = 0; j < dim; ++j) c.axes_.push_back(w * pca.PCAMat[static_cast<size_t>(r) * dim + j]);
    ++c.rank_;
  }
  return c;
}

void Cohort::Moments(const float* faces, int64_t n, double* mean, double* sd) const {
  if (n <= 0) return;
  // proj (n x rank_) = faces (n x dim_) . axes_' by BLAS: a search re-ranks 50 candidates,
  // and one at a time that cost milliseconds.
  std::vector<float> proj(static_cast<size_t>(n) * static_cast<size_t>(rank_));
  DotRows(axes_.data(), rank_, faces, n, dim_, proj.data());
  const size_t d = static_cast<size_t>(dim_);
  for (int64_t i = 0; i < n; ++i) {
    const float* p = proj.data() + static_cast<size_t>(i) * static_cast<size_t>(rank_);
    double var = 0;
    for (int r = 0; r < rank_; ++r) var += static_cast<double>(p[r]) * p[r];
    sd[i] = std::sqrt(var);
    mean[i] = faiss::fvec_inner_product(mean_.data(), faces + static_cast<size_t>(i) * d, d);
  }
}

double Cohort::Normalise(float score, const float* face) const {
  double m, sd;
  Moments(face, 1, &m, &sd);
  return ZScore(score, m, sd);
}

}  // namespace lineup
