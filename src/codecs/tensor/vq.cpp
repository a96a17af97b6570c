#include "codecs/tensor/vq.h"

#include <algorithm>

#include "codecs/tensor/tensor_params.h"

namespace sibyl::tensor {

bool vq_shape_valid(const VqShape& s) {
  return s.dim >= 1 && s.dim <= kVqMaxDim && s.stages >= 1 && s.stages <= kVqMaxStages && s.k >= 2 && s.k <= kVqMaxK &&
         static_cast<uint64_t>(s.dim) * static_cast<uint64_t>(s.stages) * static_cast<uint64_t>(s.k) <= kVqMaxCodebook;
}

namespace {

// Squared distance in float, dimensions in order (the same on every machine:
// no contraction, no reassociation).
inline float dist2(const float* a, const float* b, int g) {
  float d = 0.0f;
  for (int i = 0; i < g; ++i) {
    const float t = a[i] - b[i];
    d += t * t;
  }
  return d;
}

// Centres laid out dimension-major (g x k), so that the distances to all
// centres are computed together: each centre's sum still adds its
// dimensions in order (the same result as dist2), but the loop over
// centres vectorises.
class Nearest {
 public:
  Nearest(const float* centres, int k, int g)
      : k_(static_cast<size_t>(k)), g_(static_cast<size_t>(g)), t_(k_ * g_), d_(k_) {
    for (size_t c = 0; c < k_; ++c)
      for (size_t i = 0; i < g_; ++i) t_[i * k_ + c] = centres[c * g_ + i];
  }
  // The nearest centre (the first of equals) and its distance.
  int operator()(const float* v, float* best_d) {
    float* d = d_.data();
    std::fill(d_.begin(), d_.end(), 0.0f);
    for (size_t i = 0; i < g_; ++i) {
      const float x = v[i];
      const float* col = t_.data() + i * k_;
      for (size_t c = 0; c < k_; ++c) {
        const float t = x - col[c];
        d[c] += t * t;
      }
    }
    size_t best = 0;
    for (size_t c = 1; c < k_; ++c)
      if (d[c] < d[best]) best = c;
    *best_d = d[best];
    return static_cast<int>(best);
  }

 private:
  size_t k_, g_;
  std::vector<float> t_, d_;
};

// Lloyd's k-means on `m` vectors (m x g) into `k` centres, seeded as
// k-means++ does (each next centre drawn with probability proportional to
// its squared distance from the centres so far; a fixed xorshift sequence
// draws, so the result is the same everywhere). A centre left empty moves
// to the vector farthest from its own centre.
void kmeans(const float* x, size_t m, int g, int k, float* centres) {
  const auto G = static_cast<size_t>(g);
  if (m <= static_cast<size_t>(k)) {
    for (int c = 0; c < k; ++c) {
      const size_t from = m == 0 ? 0 : static_cast<size_t>(c) % m;
      for (size_t d = 0; d < G; ++d) centres[static_cast<size_t>(c) * G + d] = m == 0 ? 0.0f : x[from * G + d];
    }
    return;
  }
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  auto uniform = [&rng]() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return static_cast<double>(rng >> 11) / 9007199254740992.0;
  };
  std::vector<float> dmin(m);
  std::copy(x, x + G, centres);  // the first centre: the first vector
  for (size_t i = 0; i < m; ++i) dmin[i] = dist2(x + i * G, centres, g);
  for (int c = 1; c < k; ++c) {
    double total = 0;
    for (size_t i = 0; i < m; ++i) total += static_cast<double>(dmin[i]);
    size_t pick = 0;
    if (total > 0) {
      const double target = uniform() * total;
      double acc = 0;
      for (pick = 0; pick + 1 < m; ++pick) {
        acc += static_cast<double>(dmin[pick]);
        if (acc > target) break;
      }
    } else {
      pick = static_cast<size_t>(c) % m;  // every vector is a centre already
    }
    float* cc = centres + static_cast<size_t>(c) * G;
    std::copy(x + pick * G, x + (pick + 1) * G, cc);
    for (size_t i = 0; i < m; ++i) dmin[i] = std::min(dmin[i], dist2(x + i * G, cc, g));
  }
  std::vector<int> assign(m);
  std::vector<float> far(m);
  std::vector<double> sum(static_cast<size_t>(k) * G);
  std::vector<uint64_t> count(static_cast<size_t>(k));
  for (int it = 0; it < kVqIterations; ++it) {
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(count.begin(), count.end(), 0);
    Nearest nearest(centres, k, g);
    for (size_t i = 0; i < m; ++i) {
      const int c = nearest(x + i * G, &far[i]);
      assign[i] = c;
      ++count[static_cast<size_t>(c)];
      for (size_t d = 0; d < G; ++d) sum[static_cast<size_t>(c) * G + d] += static_cast<double>(x[i * G + d]);
    }
    for (int c = 0; c < k; ++c) {
      const auto cu = static_cast<size_t>(c);
      if (count[cu] > 0) {
        for (size_t d = 0; d < G; ++d) centres[cu * G + d] = static_cast<float>(sum[cu * G + d] / static_cast<double>(count[cu]));
        continue;
      }
      // Empty: take the worst-served vector (the first of equals).
      size_t worst = 0;
      for (size_t i = 1; i < m; ++i)
        if (far[i] > far[worst]) worst = i;
      for (size_t d = 0; d < G; ++d) centres[cu * G + d] = x[worst * G + d];
      far[worst] = 0.0f;
    }
  }
}

}  // namespace

void vq_train(const VqShape& shape, const float* x, size_t n, std::vector<float>* codebooks,
              std::vector<uint16_t>* codes) {
  const auto G = static_cast<size_t>(shape.dim), S = static_cast<size_t>(shape.stages), K = static_cast<size_t>(shape.k);
  codebooks->assign(S * K * G, 0.0f);
  codes->assign(n * S, 0);
  std::vector<float> resid(x, x + n * G);
  // Training sample: vectors spread evenly over the input.
  const size_t m = std::min<size_t>(n, kVqTrainVectors);
  std::vector<float> sample(m * G);
  for (size_t s = 0; s < S; ++s) {
    for (size_t j = 0; j < m; ++j) {
      const size_t i = static_cast<size_t>((static_cast<uint64_t>(j) * n) / m);
      std::copy(resid.begin() + static_cast<std::ptrdiff_t>(i * G), resid.begin() + static_cast<std::ptrdiff_t>((i + 1) * G),
                sample.begin() + static_cast<std::ptrdiff_t>(j * G));
    }
    float* c = codebooks->data() + s * K * G;
    kmeans(sample.data(), m, shape.dim, shape.k, c);
    Nearest nearest(c, shape.k, shape.dim);
    for (size_t i = 0; i < n; ++i) {
      float d2 = 0;
      const int best = nearest(resid.data() + i * G, &d2);
      (*codes)[i * S + s] = static_cast<uint16_t>(best);
      for (size_t d = 0; d < G; ++d) resid[i * G + d] -= c[static_cast<size_t>(best) * G + d];
    }
  }
}

}  // namespace sibyl::tensor
