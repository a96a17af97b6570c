// Online least squares shared by the audio and image predictors.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "coder/binary_coder.h"
#include "common/simd.h"

namespace sibyl {

// floor(v + 0.5) with v clamped to +-1e12 (a NaN, which bounded inputs
// cannot produce, would give -1e12: never undefined behaviour), inline
// (std::floor is a library call without SSE4.1).
SIBYL_ALWAYS_INLINE int64_t round_half_up(double v) {
  if (!(v >= -1e12)) v = -1e12;
  if (v > 1e12) v = 1e12;
  const double q = v + 0.5;
  int64_t i = static_cast<int64_t>(q);  // toward zero
  if (static_cast<double>(i) > q) --i;
  return i;
}

// Recursive least squares by periodic solution ("OLS", as in high-end
// lossless audio coders): the covariance of the inputs and their
// correlation with the target decay by lambda per value, and every
// `period` values the weights are re-solved by a Cholesky factorisation
// (regularised). Plain double arithmetic in a fixed order: no reduction is
// reordered (no fast-math, no contraction), so every build computes the
// same values; the prediction is rounded to an integer.
class Ols {
 public:
  static constexpr int kMax = 32;
  void init(int n, double lambda, double reg, int period) {
    n_ = n;  // < kMax
    lambda_ = lambda;
    reg_ = reg;
    period_ = period;
    std::memset(r_, 0, sizeof(r_));
    std::memset(b_, 0, sizeof(b_));
    std::memset(w_, 0, sizeof(w_));
    count_ = 0;
    inv_lambda_ = 1.0 / lambda;
    scale_ = 1.0;
  }
  double* inputs() { return x_; }
  // The solved weights (n of them), for saving and restoring a trained fit.
  double* weights() { return w_; }
  const double* weights() const { return w_; }
  int64_t predict() { return round_half_up(predict_value()); }
  double predict_value() const {
    double p = 0;
    for (int i = 0; i < n_; ++i) p += w_[i] * x_[i];
    return p;
  }
  // R = lambda R + x x^T and b = lambda b + x y, kept as S = R / lambda^t
  // (t values since the last solve) so that a value costs one product and
  // one sum per element: S += (x_i / lambda^t) x_j, with 1 / lambda^t kept
  // as a running product; solve() scales S back by lambda^t. The upper
  // triangle is what solve() reads; the SSE2 path also updates the one
  // element left of the diagonal in odd rows, which nothing reads, and
  // computes every other element with the same product and sum.
  void update(double target) {
    scale_ *= inv_lambda_;
#if defined(SIBYL_SSE2)
    for (int i = 0; i < n_; ++i) {
      double* row = r_[i];
      const double ci = scale_ * x_[i];
      const __m128d xi = _mm_set1_pd(ci);
      for (int j = i & ~1; j < n_; j += 2)
        _mm_storeu_pd(row + j, _mm_add_pd(_mm_loadu_pd(row + j), _mm_mul_pd(xi, _mm_loadu_pd(x_ + j))));
      b_[i] += ci * target;
    }
#else
    for (int i = 0; i < n_; ++i) {
      double* row = r_[i];
      const double ci = scale_ * x_[i];
      for (int j = i; j < n_; ++j) row[j] += ci * x_[j];
      b_[i] += ci * target;
    }
#endif
    if (++count_ >= period_) {
      count_ = 0;
      const double back = 1.0 / scale_;  // lambda^t
      for (int i = 0; i < n_; ++i) {
        for (int j = i; j < n_; ++j) r_[i][j] *= back;
        b_[i] *= back;
      }
      scale_ = 1.0;
      solve();
    }
  }

 private:
  void solve() {
    double l[kMax][kMax];
    for (int i = 0; i < n_; ++i) {
      for (int j = 0; j <= i; ++j) {
        double sum = r_[j][i] + (i == j ? reg_ + r_[i][i] * 1e-5 : 0.0);
        for (int k = 0; k < j; ++k) sum -= l[i][k] * l[j][k];
        if (i == j) {
          if (!(sum > 0)) return;  // not positive definite: keep the weights
          l[i][i] = std::sqrt(sum);
        } else {
          l[i][j] = sum / l[j][j];
        }
      }
    }
    double y[kMax];
    for (int i = 0; i < n_; ++i) {
      double sum = b_[i];
      for (int k = 0; k < i; ++k) sum -= l[i][k] * y[k];
      y[i] = sum / l[i][i];
    }
    for (int i = n_ - 1; i >= 0; --i) {
      double sum = y[i];
      for (int k = i + 1; k < n_; ++k) sum -= l[k][i] * w_[k];
      w_[i] = sum / l[i][i];
    }
  }

  int n_ = 0, period_ = 1, count_ = 0;
  double lambda_ = 0.998, reg_ = 1, inv_lambda_ = 1, scale_ = 1;
  double r_[kMax][kMax];
  double b_[kMax];
  double w_[kMax];
  double x_[kMax] = {};
};

}  // namespace sibyl
