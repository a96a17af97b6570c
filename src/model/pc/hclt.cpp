#include "model/pc/hclt.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/bytes.h"
#include "common/checksum.h"
#include "common/simd.h"

namespace sibyl::pc {

namespace {

constexpr char kMagic[8] = {'S', 'I', 'B', 'Y', 'L', 'P', 'C', '1'};

// Scales v[0..k) to sum 1 (uniform if the sum is not positive and finite).
inline void normalise(float* v, uint32_t k) {
  float sum = 0;
  for (uint32_t i = 0; i < k; ++i) sum += v[i];
  if (!(sum > 0) || !std::isfinite(sum)) {
    for (uint32_t i = 0; i < k; ++i) v[i] = 1.0f / static_cast<float>(k);
    return;
  }
  const float r = 1.0f / sum;
  for (uint32_t i = 0; i < k; ++i) v[i] *= r;
}

void put_f32(std::vector<uint8_t>& out, float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(u >> (8 * i)));
}


// out[j] = sum over z (ascending) of w[z] * rows[z * n + j], j < n: the
// products of every message and distribution. Each output is a float sum
// in the same order in every version (no FMA), so the versions agree to
// the bit; they differ in how many outputs they keep in registers.
void weighted_rows_scalar(const float* w, const float* rows, uint32_t k, uint32_t n, float* out) {
  for (uint32_t j = 0; j < n; ++j) out[j] = 0.0f;
  for (uint32_t z = 0; z < k; ++z) {
    const float wz = w[z];
    const float* r = rows + size_t(z) * n;
    for (uint32_t j = 0; j < n; ++j) out[j] += wz * r[j];
  }
}

#if defined(SIBYL_SSE2)
void weighted_rows_sse2(const float* w, const float* rows, uint32_t k, uint32_t n, float* out) {
  uint32_t j = 0;
  for (; j + 32 <= n; j += 32) {
    __m128 a[8];
    for (auto& v : a) v = _mm_setzero_ps();
    for (uint32_t z = 0; z < k; ++z) {
      const __m128 wz = _mm_set1_ps(w[z]);
      const float* r = rows + size_t(z) * n + j;
      for (int q = 0; q < 8; ++q) a[q] = _mm_add_ps(a[q], _mm_mul_ps(wz, _mm_loadu_ps(r + 4 * q)));
    }
    for (int q = 0; q < 8; ++q) _mm_storeu_ps(out + j + 4 * q, a[q]);
  }
  for (; j < n; ++j) {
    float acc = 0.0f;
    for (uint32_t z = 0; z < k; ++z) acc += w[z] * rows[size_t(z) * n + j];
    out[j] = acc;
  }
}
#endif

#if defined(SIBYL_AVX2_DISPATCH)
SIBYL_TARGET_AVX2 void weighted_rows_avx2(const float* w, const float* rows, uint32_t k, uint32_t n, float* out) {
  uint32_t j = 0;
  for (; j + 64 <= n; j += 64) {
    __m256 a[8];
    for (auto& v : a) v = _mm256_setzero_ps();
    for (uint32_t z = 0; z < k; ++z) {
      const __m256 wz = _mm256_set1_ps(w[z]);
      const float* r = rows + size_t(z) * n + j;
      for (int q = 0; q < 8; ++q) a[q] = _mm256_add_ps(a[q], _mm256_mul_ps(wz, _mm256_loadu_ps(r + 8 * q)));
    }
    for (int q = 0; q < 8; ++q) _mm256_storeu_ps(out + j + 8 * q, a[q]);
  }
  for (; j + 32 <= n; j += 32) {  // K x K messages of 32 states
    __m256 a[4];
    for (auto& v : a) v = _mm256_setzero_ps();
    for (uint32_t z = 0; z < k; ++z) {
      const __m256 wz = _mm256_set1_ps(w[z]);
      const float* r = rows + size_t(z) * n + j;
      for (int q = 0; q < 4; ++q) a[q] = _mm256_add_ps(a[q], _mm256_mul_ps(wz, _mm256_loadu_ps(r + 8 * q)));
    }
    for (int q = 0; q < 4; ++q) _mm256_storeu_ps(out + j + 8 * q, a[q]);
  }
  for (; j + 8 <= n; j += 8) {
    __m256 a = _mm256_setzero_ps();
    for (uint32_t z = 0; z < k; ++z)
      a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_set1_ps(w[z]), _mm256_loadu_ps(rows + size_t(z) * n + j)));
    _mm256_storeu_ps(out + j, a);
  }
  for (; j < n; ++j) {
    float acc = 0.0f;
    for (uint32_t z = 0; z < k; ++z) acc += w[z] * rows[size_t(z) * n + j];
    out[j] = acc;
  }
}
#endif

}  // namespace

WeightedRows weighted_rows_kernel(SimdLevel level) {
#if defined(SIBYL_AVX2_DISPATCH)
  if (level >= SimdLevel::kAvx2) return weighted_rows_avx2;
#endif
#if defined(SIBYL_SSE2)
  if (level >= SimdLevel::kSse2) return weighted_rows_sse2;
#endif
  (void)level;
  return weighted_rows_scalar;
}

uint32_t Hclt::root() const {
  for (uint32_t v = 0; v < vars; ++v)
    if (parent[v] == kNoParent) return v;
  return 0;
}

void Hclt::allocate() {
  prior.assign(latent, 0.0f);
  trans.assign(size_t(vars) * latent * latent, 0.0f);
  leaf.assign(size_t(vars) * latent * values, 0.0f);
}

Status TreeOrder::build(const std::vector<uint32_t>& parent) {
  const uint32_t n = static_cast<uint32_t>(parent.size());
  if (n == 0) return Error(ErrorCode::kCorrupt, "prior: no variables");
  uint32_t root = kNoParent;
  std::vector<uint32_t> count(n + 1, 0);
  for (uint32_t v = 0; v < n; ++v) {
    if (parent[v] == kNoParent) {
      if (root != kNoParent) return Error(ErrorCode::kCorrupt, "prior: the tree has two roots");
      root = v;
    } else if (parent[v] >= n || parent[v] == v) {
      return Error(ErrorCode::kCorrupt, "prior: a variable has an invalid parent");
    } else {
      ++count[parent[v] + 1];
    }
  }
  if (root == kNoParent) return Error(ErrorCode::kCorrupt, "prior: the tree has no root");
  child_begin.assign(n + 1, 0);
  for (uint32_t v = 0; v < n; ++v) child_begin[v + 1] = child_begin[v] + count[v + 1];
  children.assign(n - 1, 0);
  std::vector<uint32_t> fill(child_begin.begin(), child_begin.end() - 1);
  for (uint32_t v = 0; v < n; ++v)
    if (parent[v] != kNoParent) children[fill[parent[v]]++] = v;  // ascending: v goes up
  // Iterative preorder; a cycle leaves variables unvisited.
  order.clear();
  order.reserve(n);
  position.assign(n, kNoParent);
  last.assign(n, 0);
  std::vector<uint32_t> stack{root};
  while (!stack.empty()) {
    const uint32_t v = stack.back();
    stack.pop_back();
    position[v] = static_cast<uint32_t>(order.size());
    order.push_back(v);
    for (uint32_t j = child_begin[v + 1]; j > child_begin[v]; --j) stack.push_back(children[j - 1]);
  }
  if (order.size() != n) return Error(ErrorCode::kCorrupt, "prior: the parent links do not form one tree");
  // Subtree ends, children before parents (reverse preorder).
  for (uint32_t i = n; i-- > 0;) {
    const uint32_t v = order[i];
    uint32_t end = i;
    for (uint32_t j = child_begin[v]; j < child_begin[v + 1]; ++j) end = std::max(end, last[children[j]]);
    last[v] = end;
  }
  return Status::Ok();
}

std::vector<uint8_t> write_prior(const Hclt& m) {
  std::vector<uint8_t> out(kMagic, kMagic + 8);
  const uint32_t head[4] = {m.mixing.empty() ? 1u : kPriorVersion, m.vars, m.values, m.latent};
  for (uint32_t h : head)
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(h >> (8 * i)));
  for (uint32_t p : m.parent)
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(p >> (8 * i)));
  out.reserve(out.size() + 4 * (m.prior.size() + m.trans.size() + m.leaf.size()) + 8);
  for (float f : m.prior) put_f32(out, f);
  const size_t kk = size_t(m.latent) * m.latent;
  for (uint32_t v = 0; v < m.vars; ++v) {
    if (m.parent[v] == kNoParent) continue;
    for (size_t j = 0; j < kk; ++j) put_f32(out, m.trans[v * kk + j]);
  }
  for (float f : m.leaf) put_f32(out, f);
  if (!m.mixing.empty()) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(uint64_t(m.mixing.size()) >> (8 * i)));
    out.insert(out.end(), m.mixing.begin(), m.mixing.end());
  }
  const uint64_t h = xxh64(out.data(), out.size());
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(h >> (8 * i)));
  return out;
}

Status read_prior(std::span<const uint8_t> file, Hclt* m, uint64_t* hash) {
  if (file.size() < 8 + 16 + 8 || std::memcmp(file.data(), kMagic, 8) != 0)
    return Error(ErrorCode::kCorrupt, "not a Sibyl prior file (bad magic)");
  ByteReader r(file.data() + 8, file.size() - 8);
  const uint32_t version = r.u32();
  if (version != 1 && version != kPriorVersion)
    return Error(ErrorCode::kUnsupportedVersion, "prior file version not supported");
  const uint32_t vars = r.u32(), values = r.u32(), latent = r.u32();
  if (vars == 0 || vars > kMaxVars || values < 2 || values > kMaxValues || latent == 0 || latent > kMaxLatent)
    return Error(ErrorCode::kCorrupt, "prior file: sizes out of range");
  const uint64_t params = uint64_t(latent) + uint64_t(vars - 1) * latent * latent + uint64_t(vars) * latent * values;
  if (params > kMaxParams) return Error(ErrorCode::kCorrupt, "prior file: too many parameters");
  const uint64_t fixed = 8 + 16 + uint64_t(vars) * 4 + params * 4;
  uint64_t mixing = 0;
  if (version >= 2) {
    if (file.size() < fixed + 16) return Error(ErrorCode::kCorrupt, "prior file: wrong size for its header");
    mixing = load_le64(file.data() + fixed);
    if (mixing == 0 || mixing > kMaxMixingBytes) return Error(ErrorCode::kCorrupt, "prior file: bad mixing model size");
    mixing += 8;
  }
  if (file.size() != fixed + mixing + 8) return Error(ErrorCode::kCorrupt, "prior file: wrong size for its header");
  const uint64_t stored = load_le64(file.data() + file.size() - 8);
  if (xxh64(file.data(), file.size() - 8) != stored) return Error(ErrorCode::kChecksum, "prior file: checksum mismatch");
  Hclt out;
  out.vars = vars;
  out.values = values;
  out.latent = latent;
  out.parent.resize(vars);
  for (uint32_t v = 0; v < vars; ++v) out.parent[v] = r.u32();
  TreeOrder tree;
  SIBYL_RETURN_IF_ERROR(tree.build(out.parent));
  out.allocate();
  auto get = [&](float* f) {
    const uint32_t u = r.u32();
    std::memcpy(f, &u, 4);
    return std::isfinite(*f) && *f >= kMinParam && *f <= 1.0f;
  };
  bool ok = true;
  for (uint32_t z = 0; z < latent; ++z) ok &= get(&out.prior[z]);
  const size_t kk = size_t(latent) * latent;
  for (uint32_t v = 0; v < vars; ++v) {
    if (out.parent[v] == kNoParent) continue;
    for (size_t j = 0; j < kk; ++j) ok &= get(&out.trans[v * kk + j]);
  }
  for (float& f : out.leaf) ok &= get(&f);
  if (!ok || r.failed()) return Error(ErrorCode::kCorrupt, "prior file: a parameter is not a probability");
  if (mixing > 0) out.mixing.assign(file.data() + fixed + 8, file.data() + fixed + mixing);
  *m = std::move(out);
  *hash = stored;
  return Status::Ok();
}

std::vector<float> transpose_transitions(const Hclt& m) {
  const uint32_t k = m.latent;
  const size_t kk = size_t(k) * k;
  std::vector<float> t(m.trans.size(), 0.0f);
  for (uint32_t v = 0; v < m.vars; ++v)
    for (uint32_t p = 0; p < k; ++p)
      for (uint32_t c = 0; c < k; ++c) t[v * kk + size_t(c) * k + p] = m.trans[v * kk + size_t(p) * k + c];
  return t;
}

HcltCoder::HcltCoder(const Hclt& m, const TreeOrder& tree, const float* trans_t, SimdLevel level)
    : m_(m), t_(tree), k_(m.latent), trans_t_(trans_t), kernel_(weighted_rows_kernel(level)) {
  acc_.assign(size_t(m.vars) * k_, 0.0f);
  down_.assign(size_t(m.vars) * k_, 0.0f);
}

void HcltCoder::reset() { have_down_ = false; }

void HcltCoder::compute_down(uint32_t i) {
  const uint32_t v = t_.order[i];
  const uint32_t p = m_.parent[v];
  float* d = &down_[size_t(v) * k_];
  if (p == kNoParent) {
    for (uint32_t z = 0; z < k_; ++z) d[z] = m_.prior[z];
  } else {
    // What the parent knows: the message into it times the evidence of its
    // own value and of its finished subtrees; then down the edge:
    // down[c] = sum_p (down[parent] acc[parent])[p] T_v[p][c].
    const float* dp = &down_[size_t(p) * k_];
    const float* a = &acc_[size_t(p) * k_];
    float w[kMaxLatent];
    for (uint32_t zp = 0; zp < k_; ++zp) w[zp] = dp[zp] * a[zp];
    kernel_(w, &m_.trans[m_.trans_offset(v)], k_, k_, d);
    normalise(d, k_);
  }
  have_down_ = true;
  down_pos_ = i;
}

void HcltCoder::predict(uint32_t i, float* dist) {
  if (!have_down_ || down_pos_ != i) compute_down(i);
  const uint32_t v = t_.order[i];
  const uint32_t nv = m_.values;
  kernel_(&down_[size_t(v) * k_], &m_.leaf[m_.leaf_offset(v)], k_, nv, dist);
}

void HcltCoder::observe(uint32_t i, int value) {
  if (!have_down_ || down_pos_ != i) compute_down(i);
  have_down_ = false;
  uint32_t v = t_.order[i];
  // The evidence of v's subtree, so far v's own value.
  float* a = &acc_[size_t(v) * k_];
  if (value >= 0) {
    const float* leaf = &m_.leaf[m_.leaf_offset(v)] + value;
    for (uint32_t z = 0; z < k_; ++z) a[z] = leaf[size_t(z) * m_.values];
    normalise(a, k_);
  } else {
    for (uint32_t z = 0; z < k_; ++z) a[z] = 1.0f;
  }
  // Every subtree that ends here sends its evidence up.
  const size_t kk = size_t(k_) * k_;
  float up[kMaxLatent];
  while (t_.last[v] == i && m_.parent[v] != kNoParent) {
    const uint32_t p = m_.parent[v];
    kernel_(&acc_[size_t(v) * k_], trans_t_ + v * kk, k_, k_, up);
    float* dst = &acc_[size_t(p) * k_];
    for (uint32_t zp = 0; zp < k_; ++zp) dst[zp] *= up[zp];
    normalise(dst, k_);
    v = p;
  }
}

namespace {
// Scales v to a mean of 1 (uniform when it holds nothing usable).
inline void normalise_mean(float* v, uint32_t k) {
  float sum = 0;
  for (uint32_t i = 0; i < k; ++i) sum += v[i];
  if (!(sum > 0) || !std::isfinite(sum)) {
    for (uint32_t i = 0; i < k; ++i) v[i] = 1.0f;
    return;
  }
  const float r = static_cast<float>(k) / sum;
  for (uint32_t i = 0; i < k; ++i) v[i] *= r;
}
}  // namespace

HcltFocusCoder::HcltFocusCoder(const Hclt& m, const TreeOrder& tree, const float* trans_t, SimdLevel level)
    : m_(m), t_(tree), k_(m.latent), trans_t_(trans_t), kernel_(weighted_rows_kernel(level)) {
  depth_.assign(m.vars, 0);
  for (uint32_t i = 0; i < m.vars; ++i) {
    const uint32_t v = t_.order[i];  // preorder: parents first
    if (m.parent[v] != kNoParent) depth_[v] = depth_[m.parent[v]] + 1;
  }
  up_.assign(size_t(m.vars) * k_, 1.0f);
  down_.assign(size_t(m.vars) * k_, 1.0f);
  ev_.assign(size_t(m.vars) * k_, 1.0f);
  path_.reserve(m.vars);
  root_ = m.root();
  reset();
}

void HcltFocusCoder::reset() {
  // With nothing observed every upward message is flat: the focus starts
  // at the root, where every message points.
  std::fill(up_.begin(), up_.end(), 1.0f);
  std::fill(ev_.begin(), ev_.end(), 1.0f);
  focus_ = root_;
}

void HcltFocusCoder::gather(uint32_t u, uint32_t skip, float* out) const {
  const float* e = &ev_[size_t(u) * k_];
  for (uint32_t z = 0; z < k_; ++z) out[z] = e[z];
  const uint32_t p = m_.parent[u];
  if (p == kNoParent) {
    for (uint32_t z = 0; z < k_; ++z) out[z] *= m_.prior[z];
  } else if (p != skip) {
    const float* d = &down_[size_t(u) * k_];
    for (uint32_t z = 0; z < k_; ++z) out[z] *= d[z];
  }
  for (uint32_t j = t_.child_begin[u]; j < t_.child_begin[u + 1]; ++j) {
    const uint32_t c = t_.children[j];
    if (c == skip) continue;
    const float* q = &up_[size_t(c) * k_];
    for (uint32_t z = 0; z < k_; ++z) out[z] *= q[z];
  }
  normalise_mean(out, k_);
}

void HcltFocusCoder::move_to(uint32_t v) {
  if (v == focus_) return;
  // The path focus -> v: up from the focus to the common ancestor, then down.
  uint32_t a = focus_, b = v;
  path_.clear();
  const size_t kk = size_t(k_) * k_;
  float in[kMaxLatent];
  while (depth_[a] > depth_[b]) {
    gather(a, m_.parent[a], in);
    kernel_(in, trans_t_ + a * kk, k_, k_, &up_[size_t(a) * k_]);
    normalise_mean(&up_[size_t(a) * k_], k_);
    a = m_.parent[a];
    ++steps_;
  }
  while (depth_[b] > depth_[a]) {
    path_.push_back(b);
    b = m_.parent[b];
  }
  while (a != b) {
    gather(a, m_.parent[a], in);
    kernel_(in, trans_t_ + a * kk, k_, k_, &up_[size_t(a) * k_]);
    normalise_mean(&up_[size_t(a) * k_], k_);
    a = m_.parent[a];
    ++steps_;
    path_.push_back(b);
    b = m_.parent[b];
  }
  // Down from the common ancestor: the path's nodes, nearest the top last
  // pushed.
  for (size_t i = path_.size(); i-- > 0;) {
    const uint32_t c = path_[i];
    const uint32_t p = m_.parent[c];
    gather(p, c, in);
    kernel_(in, &m_.trans[m_.trans_offset(c)], k_, k_, &down_[size_t(c) * k_]);
    normalise_mean(&down_[size_t(c) * k_], k_);
    ++steps_;
  }
  focus_ = v;
}

void HcltFocusCoder::belief(uint32_t v, float* w) {
  move_to(v);
  gather(v, kNoParent, w);
}

void HcltFocusCoder::predict(uint32_t v, float* dist) {
  float in[kMaxLatent];
  belief(v, in);
  kernel_(in, &m_.leaf[m_.leaf_offset(v)], k_, m_.values, dist);
}

void HcltFocusCoder::observe_evidence(uint32_t v, const float* evidence) {
  move_to(v);
  float* e = &ev_[size_t(v) * k_];
  for (uint32_t z = 0; z < k_; ++z) e[z] = evidence[z];
  normalise_mean(e, k_);
}

LeafTables build_leaf_tables(const Hclt& m) {
  LeafTables t;
  t.values = m.values;
  t.latent = m.latent;
  const uint32_t k = m.latent, nv = m.values;
  t.cum.assign(size_t(m.vars) * (nv + 1) * k, 0.0f);
  t.mean.assign(size_t(m.vars) * k, 0.0f);
  t.spread.assign(size_t(m.vars) * k, 0.0f);
  for (uint32_t v = 0; v < m.vars; ++v)
    for (uint32_t z = 0; z < k; ++z) {
      const float* leaf = &m.leaf[m.leaf_offset(v) + size_t(z) * nv];
      float c = 0;
      double s1 = 0, s2 = 0, n = 0;
      for (uint32_t x = 0; x < nv; ++x) {
        c += leaf[x];
        t.cum[(size_t(v) * (nv + 1) + x + 1) * k + z] = c;
        n += leaf[x];
        s1 += double(leaf[x]) * x;
        s2 += double(leaf[x]) * x * x;
      }
      const double mu = s1 / n;
      t.mean[size_t(v) * k + z] = static_cast<float>(mu);
      t.spread[size_t(v) * k + z] = static_cast<float>(std::sqrt(std::max(0.0, s2 / n - mu * mu)));
    }
  return t;
}

void HcltFocusCoder::observe(uint32_t v, int value) {
  if (value < 0) return;
  move_to(v);
  float* e = &ev_[size_t(v) * k_];
  const float* leaf = &m_.leaf[m_.leaf_offset(v)] + value;
  for (uint32_t z = 0; z < k_; ++z) e[z] = leaf[size_t(z) * m_.values];
  normalise_mean(e, k_);
}

double record_bits(const Hclt& m, const TreeOrder& tree, const uint8_t* record, std::vector<float>& scratch) {
  const uint32_t k = m.latent;
  scratch.assign(size_t(m.vars) * k, 1.0f);
  const size_t kk = size_t(k) * k;
  double bits = 0;
  float up[kMaxLatent];
  for (uint32_t i = m.vars; i-- > 0;) {
    const uint32_t v = tree.order[i];
    float* b = &scratch[size_t(v) * k];
    const float* leaf = &m.leaf[m.leaf_offset(v)] + record[v];
    float sum = 0;
    for (uint32_t z = 0; z < k; ++z) {
      b[z] *= leaf[size_t(z) * m.values];
      sum += b[z];
    }
    bits -= std::log2(static_cast<double>(sum));
    const float r = 1.0f / sum;
    for (uint32_t z = 0; z < k; ++z) b[z] *= r;
    const uint32_t p = m.parent[v];
    if (p == kNoParent) {
      double total = 0;
      for (uint32_t z = 0; z < k; ++z) total += static_cast<double>(m.prior[z]) * b[z];
      bits -= std::log2(total);
    } else {
      const float* t = &m.trans[v * kk];
      for (uint32_t zp = 0; zp < k; ++zp) {
        float s = 0;
        for (uint32_t c = 0; c < k; ++c) s += t[size_t(zp) * k + c] * b[c];
        up[zp] = s;
      }
      float* pb = &scratch[size_t(p) * k];
      for (uint32_t zp = 0; zp < k; ++zp) pb[zp] *= up[zp];
    }
  }
  return bits;
}

}  // namespace sibyl::pc
