#include "codecs/pc/pc_adapt.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/fixed_math.h"
#include "model/adaptive_prob.h"
#include "model/apm.h"
#include "model/mixer.h"
#include "model/ols.h"
#include "common/bytes.h"

namespace sibyl::pc {

namespace {

constexpr int kContexts = 6;
constexpr int kInputs = 8;             // the circuit, the contexts, a bias
constexpr uint32_t kLineBits = 18;     // lines of 16 counters: 16 MiB
constexpr int kCounterLimit = 127;
constexpr int kMixerSets0 = 8 * 8;     // bit number x the circuit's confidence
constexpr int kMixerSets1 = 256;       // the partial value (tree node)
constexpr int kApmContexts = 256 * 4;  // node x the circuit's confidence

inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}
inline uint32_t hash(uint32_t a, uint32_t b, uint32_t c = 0, uint32_t d = 0) {
  return mix32(a * 0x9e3779b1U ^ mix32(b + 0x632be5abU) ^ mix32(c * 0x85ebca77U + 1) ^ mix32(d * 0xc2b2ae3dU + 2));
}

struct Line {
  AdaptiveProb p[16];
};

}  // namespace

struct AdaptCoder::State {
  State(const Prior& pr, uint32_t w)
      : prior(pr),
        width(w),
        coder(pr.model, pr.tree, pr.trans_t.data()),
        dist(pr.model.values),
        vals(pr.model.vars, -1),
        table(size_t(1) << kLineBits),
        mixer({kMixerSets0, kMixerSets1}, 0, 3),
        apm(kApmContexts, 6) {
    // The circuit's prediction starts with full weight, the contexts with none.
    mixer.init_input(0, static_cast<int16_t>(1 << Mixer<kInputs, 2>::kWeightShift));
  }
  const Prior& prior;
  uint32_t width;
  HcltCoder coder;
  std::vector<float> dist;
  float cum[257];
  std::vector<int16_t> vals;  // the record's values so far (-1: not yet, or not in the piece)
  std::vector<Line> table;
  Mixer<kInputs, 2> mixer;
  Apm apm;
};

namespace {

// ---- the raster model (flags 2) ----
constexpr int kRContexts = 11;
constexpr int kRInputs = kRContexts + 3;  // the circuit, the circuit through an APM, the contexts, a bias
// Flags 4 and 5 (predictor maps): the hashed contexts' inputs stay 0 and
// kPreds maps follow the bias.
constexpr int kPreds = 16;
constexpr int kBlended = 13;                // predictors 0..12 make the blend (predictor 15)
constexpr int kErrBuckets = 16;             // a predictor's recent error, log scale
constexpr int kMapOffsets = 512;            // prediction - low end of the interval, + 256
constexpr int kMapLimit = 255;
constexpr int kXInputs = kRInputs + kPreds;
constexpr int kOlsInputs = 11;  // of the two least-squares predictors
constexpr uint32_t kRLineBits = 20;       // at most: lines of 15 counters and a check, 64 MiB
// The table's size for a block: 8 lines per byte, 2^10 .. 2^kRLineBits.
inline uint32_t raster_line_bits(uint64_t block_bytes) {
  uint32_t b = 10;
  while (b < kRLineBits && (uint64_t(1) << b) < block_bytes * 8) ++b;
  return b;
}
constexpr int kRCounterLimit = 1023;
constexpr int kRSets0 = 8 * 8;            // bit number x the circuit's confidence
constexpr int kRSets1 = 256;              // the partial value
constexpr int kRSets3 = 8 * 32;            // bit number x the circuit's expected value
constexpr int kRSets2 = 8 * 12 * 2;       // bit number x the neighbourhood's activity x background
constexpr int kRApm = 256 * 8;            // partial value x the circuit's confidence
constexpr int kRApm2 = 256 * 256;         // partial value x left and up (4 bits each)

inline int qlog(uint32_t v) {
  if (v == 0) return 0;
  const int l = 32 - __builtin_clz(v);
  return 2 * l - 1 + (l >= 2 ? static_cast<int>((v >> (l - 2)) & 1) : 0);
}

}  // namespace

struct AdaptCoder::RasterState {
  RasterState(const Prior& pr, uint32_t w, bool cols, bool use_maps, uint64_t block_bytes)
      : prior(pr),
        width(w),
        columns(cols && w != 0 && pr.model.vars % w == 0),
        maps(use_maps),
        line_bits(raster_line_bits(block_bytes)),
        coder(pr.model, pr.tree, pr.trans_t.data()),
        tables(pr.leaf_tables()),
        vals(pr.model.vars, 0),
        known(pr.model.vars, 0),
        table(use_maps ? 0 : size_t(1) << line_bits),
        pmaps(use_maps ? size_t(kErrBuckets) * kPreds * 8 * kMapOffsets : 0),
        perr(use_maps ? size_t(pr.model.vars) * kPreds : 0, 0),
        mixer({kRSets0, kRSets1, kRSets2, kRSets3}, 0, 5),
        apm_pc(kRApm, 6),
        apm(kRApm, 6),
        apm2(kRApm2, 6) {
    mixer.init_input(0, static_cast<int16_t>(1 << Mixer<kXInputs, 4>::kWeightShift));
    // Two least-squares predictors over 10 neighbours, the circuit's
    // expected value and a constant: one forgets fast (lambda 0.9), one
    // slower (0.97).
    ols[0].init(kOlsInputs, 0.9, 0.5, 32);
    ols[1].init(kOlsInputs, 0.97, 0.5, 32);
  }
  // Every u16 of the learnable state in a fixed order (the maps' p and n,
  // the mixer's four weight tables, the three APMs): f may change them.
  template <class F>
  void visit_words(F&& f) {
    for (AdaptiveProb& a : pmaps) {
      f(a.p);
      f(a.n);
    }
    for (int k = 0; k < 4; ++k)
      for (int16_t& wt : mixer.table(k)) {
        uint16_t u = static_cast<uint16_t>(wt);
        f(u);
        wt = static_cast<int16_t>(u);
      }
    for (Apm* a : {&apm_pc, &apm, &apm2})
      for (uint16_t& v : a->table()) f(v);
  }
  const Prior& prior;
  uint32_t width;
  bool columns;  // code column by column (the contexts see the transposed record)
  bool maps;     // flags 4 and 5: predictor maps instead of hashed contexts
  uint32_t line_bits;
  HcltFocusCoder coder;
  const LeafTables& tables;
  float belief[kMaxLatent];
  std::vector<uint8_t> vals;   // the record's values so far
  std::vector<uint8_t> known;  // 1 where vals holds a coded value
  std::vector<Line> table;     // p[0] of a line holds its check
  // Predictor maps: [error bucket][predictor][bit][prediction - lo + 256].
  std::vector<AdaptiveProb> pmaps;
  std::vector<uint16_t> perr;  // |prediction - value| of every predictor at every coded variable
  Ols ols[2];
  bool learn = true;      // false: a frozen mixing model (flags 6)
  bool ols_learn = true;  // false: the least-squares weights stay (train_mixing's second pass)
  Mixer<kXInputs, 4> mixer;
  Apm apm_pc;
  Apm apm;
  Apm apm2;
};

namespace {
// Tree edges between consecutive values of a scan.
uint64_t scan_steps(const Prior& prior, uint32_t width, bool columns) {
  const Hclt& m = prior.model;
  std::vector<uint32_t> depth(m.vars, 0);
  for (uint32_t v : prior.tree.order)
    if (m.parent[v] != kNoParent) depth[v] = depth[m.parent[v]] + 1;
  const uint32_t h = m.vars / width;
  uint64_t steps = 0;
  uint32_t prev = m.root();
  for (uint32_t j = 0; j < m.vars; ++j) {
    uint32_t a = prev, b = columns ? (j % h) * width + j / h : j;
    prev = b;
    while (depth[a] > depth[b]) a = m.parent[a], ++steps;
    while (depth[b] > depth[a]) b = m.parent[b], ++steps;
    while (a != b) a = m.parent[a], b = m.parent[b], steps += 2;
  }
  return steps;
}
}  // namespace

bool adapt_columns(const Prior& prior, uint32_t width) {
  if (width == 0 || prior.model.vars % width != 0 || width == prior.model.vars) return false;
  return scan_steps(prior, width, true) < scan_steps(prior, width, false);
}

static_assert(sizeof(Ols) <= 16384);

uint64_t adapt_memory(const Prior& prior, bool raster, bool maps) {
  if (maps)
    return uint64_t(sizeof(AdaptiveProb)) * kErrBuckets * kPreds * 8 * kMapOffsets + uint64_t(prior.model.vars) * (2 + 2 * kPreds + 12 * prior.model.latent) +
           uint64_t(kRSets0 + kRSets1 + kRSets2 + kRSets3) * 64 + uint64_t(kRApm) * 33 * 4 + uint64_t(kRApm2) * 33 * 2 + 2 * 16384 + 65536;
  if (raster)
    return (uint64_t(sizeof(Line)) << kRLineBits) + uint64_t(prior.model.vars) * (2 + 12 * prior.model.latent) +
           uint64_t(kRSets0 + kRSets1 + kRSets2 + kRSets3) * 32 + uint64_t(kRApm) * 33 * 4 + uint64_t(kRApm2) * 33 * 2 + 65536;
  return (uint64_t(sizeof(Line)) << kLineBits) + uint64_t(prior.model.vars) * 2 + (kMixerSets0 + kMixerSets1) * 16 +
         kApmContexts * 33 * 2 + 65536;
}

AdaptCoder::AdaptCoder(const Prior& prior, uint32_t width, bool raster, bool columns, bool maps, uint64_t block_bytes) {
  if (raster || maps)
    r_ = std::make_unique<RasterState>(prior, width, columns, maps, block_bytes);
  else
    s_ = std::make_unique<State>(prior, width);
}
AdaptCoder::~AdaptCoder() = default;

void AdaptCoder::encode(BinaryEncoder& enc, const uint8_t* piece, uint64_t col0, uint64_t len) {
  if (r_)
    code_raster(enc, const_cast<uint8_t*>(piece), col0, len);
  else
    code(enc, const_cast<uint8_t*>(piece), col0, len);
}
void AdaptCoder::decode(BinaryDecoder& dec, uint8_t* piece, uint64_t col0, uint64_t len) {
  if (r_)
    code_raster(dec, piece, col0, len);
  else
    code(dec, piece, col0, len);
}

template <class Coder>
void AdaptCoder::code_raster(Coder& c, uint8_t* piece, uint64_t col0, uint64_t len) {
  RasterState& s = *r_;
  const Hclt& m = s.prior.model;
  const uint32_t d = m.vars, nv = m.values, kz = m.latent;
  std::fill(s.known.begin(), s.known.end(), uint8_t(0));
  s.coder.reset();
  const uint32_t w = s.width, rows = w != 0 ? d / w : 0;
  const bool cols = s.columns, maps = s.maps, learn = s.learn;
  // A neighbour: its variable, or -1 when it is off the record or not
  // coded yet (and `off` gets a bit for the contexts). In column order the
  // offsets are transposed: "left" is the value above, "up" the one to the
  // left.
  uint32_t off = 0;
  auto index_of = [&](uint32_t v, int dx, int dy) -> int64_t {
    if (cols) std::swap(dx, dy);
    int64_t u;
    if (w == 0) {
      if (dy != 0) return -1;
      u = int64_t(v) + dx;
    } else {
      const int64_t x = int64_t(v % w) + dx, y = int64_t(v / w) + dy;
      if (x < 0 || x >= int64_t(w) || y < 0) return -1;
      u = y * w + x;
    }
    if (u < 0 || uint64_t(u) >= d || !s.known[size_t(u)]) return -1;
    return u;
  };
  // Its value, 0 when there is none.
  auto at = [&](uint32_t v, int dx, int dy, int bit) -> int {
    const int64_t u = index_of(v, dx, dy);
    if (u < 0) {
      off |= 1u << bit;
      return 0;
    }
    return s.vals[size_t(u)];
  };
  const uint32_t mask = (1u << s.line_bits) - 1;
  auto line_of = [&](uint32_t h) {
    Line* l = &s.table[h & mask];
    const uint16_t chk = static_cast<uint16_t>((h >> 16) | 1);
    if (l->p[0].p != chk) {
      for (AdaptiveProb& a : l->p) a = AdaptiveProb{};
      l->p[0].p = chk;
    }
    return l;
  };
  for (uint32_t pos = 0; pos < d; ++pos) {
    const uint32_t v = cols ? (pos % rows) * w + pos / rows : pos;
    if (uint64_t(v) - col0 >= len) continue;  // not in this piece: never observed
    const uint64_t j = v - col0;
    off = 0;
    const int W = at(v, -1, 0, 0), N = at(v, 0, -1, 1), NW = at(v, -1, -1, 2), NE = at(v, 1, -1, 3);
    const int WW = at(v, -2, 0, 4), NN = at(v, 0, -2, 5);
    const int grad = std::clamp(W + N - NW, 0, 255);
    const int avg = (W + N + NW + NE + 2) >> 2;
    const uint32_t act = static_cast<uint32_t>(std::abs(W - NW) + std::abs(N - NW) + std::abs(N - NE) + std::abs(W - WW));
    const int qa = std::min(qlog(act), 11);
    const int mx = std::max(W, N), mn = std::min(W, N);
    const int med = NW >= mx ? mn : (NW <= mn ? mx : W + N - NW);
    const uint32_t u = static_cast<uint32_t>(W), n = static_cast<uint32_t>(N);
    uint32_t h[kRContexts] = {};
    if (!maps) {
      // The neighbourhood's contexts first: their lines load while the
      // circuit works.
      h[0] = hash(21, v, (u >> 5) | (n >> 5) << 3);
      h[1] = hash(22, u, n, off & 3);
      h[2] = hash(23, u >> 2, n >> 2, (uint32_t(NW) >> 2) | (uint32_t(NE) >> 2) << 8);
      h[6] = hash(27, n, uint32_t(NN) >> 2, uint32_t(NE) >> 3);
      h[7] = hash(28, u, uint32_t(WW) >> 2, uint32_t(NW) >> 3);
      h[8] = hash(29, uint32_t(avg) >> 1, uint32_t(qa), off);
      for (int i : {0, 1, 2, 6, 7, 8}) __builtin_prefetch(&s.table[h[i] & mask]);
    }
    auto C = [&](uint32_t t) {
      // Four interleaved partial sums (a fixed order: the same on every build).
      const float* r = s.tables.row(v, std::min(t, nv));
      float a[4] = {0, 0, 0, 0};
      uint32_t z = 0;
      for (; z + 4 <= kz; z += 4)
        for (int q = 0; q < 4; ++q) a[q] += s.belief[z + q] * r[z + q];
      for (; z < kz; ++z) a[0] += s.belief[z] * r[z];
      return (a[0] + a[1]) + (a[2] + a[3]);
    };
    auto prefetch_row = [&](uint32_t t) {
      const char* r = reinterpret_cast<const char*>(s.tables.row(v, std::min(t, nv)));
      for (uint32_t b = 0; b < kz * 4; b += 64) __builtin_prefetch(r + b);
    };
    // The circuit's beliefs over v's latent states; a range of values has
    // the mass C(hi) - C(lo) (C: the dot product with a cumulative row).
    prefetch_row(256);
    prefetch_row(128);
    s.coder.belief(v, s.belief);
    float wsum = 0, wmean = 0, wspread = 0;
    const float* mean = &s.tables.mean[size_t(v) * kz];
    const float* spread = &s.tables.spread[size_t(v) * kz];
    for (uint32_t z = 0; z < kz; ++z) {
      wsum += s.belief[z];
      wmean += s.belief[z] * mean[z];
      wspread += s.belief[z] * spread[z];
    }
    // The circuit's expected value and spread, for contexts.
    const uint32_t mode = wsum > 0 ? std::min<uint32_t>(255, static_cast<uint32_t>(wmean / wsum + 0.5f)) : 0;
    const uint32_t conf =
        wsum > 0 ? std::min<uint32_t>(7, static_cast<uint32_t>(qlog(static_cast<uint32_t>(wspread / wsum)) >> 1)) : 0;
    // Flags 4 and 5: pixel predictors, each with the bucket of its error
    // at the four nearest coded neighbours.
    int pr[kPreds] = {};
    uint32_t ebucket[kPreds] = {};
    if (maps) {
      const uint32_t off_kept = off;  // the far neighbours do not change `off`
      const int NNE = at(v, 1, -2, 6), NWW = at(v, -2, -1, 6), NNW = at(v, -1, -2, 6);
      off = off_kept;
      auto cl = [](int a) { return std::clamp(a, 0, 255); };
      pr[0] = W;
      pr[1] = N;
      pr[2] = grad;
      pr[3] = med;
      pr[4] = static_cast<int>(mode);
      pr[5] = NE;
      pr[6] = (W + N + 1) >> 1;
      pr[7] = (W + NE + 1) >> 1;
      pr[8] = cl(N + NE - NNE);
      pr[9] = cl(2 * N - NN);
      pr[10] = cl(2 * W - WW);
      const double ols_in[kOlsInputs] = {double(W),  double(N),   double(NW),  double(NE),   double(WW), double(NN),
                                                      double(NNE), double(NWW), double(NNW), double(mode), 128.0};
      for (int o = 0; o < 2; ++o) {
        std::copy(ols_in, ols_in + kOlsInputs, s.ols[o].inputs());
        pr[11 + o] = cl(static_cast<int>(round_half_up(s.ols[o].predict_value())));
      }
      pr[13] = cl(N + NW - NNW);
      pr[14] = cl(W + NW - NWW);
      const int64_t near[4] = {index_of(v, -1, 0), index_of(v, 0, -1), index_of(v, -1, -1), index_of(v, 1, -1)};
      uint32_t esum[kPreds];
      for (int i = 0; i < kPreds; ++i) {
        uint32_t e = 0;
        for (int64_t q : near)
          if (q >= 0) e += s.perr[size_t(q) * kPreds + size_t(i)];
        esum[i] = e;
        ebucket[i] = std::min<uint32_t>(kErrBuckets - 1, uint32_t(qlog(e)));
      }
      // The blend: predictors weighted by 1 / (1 + their error nearby).
      int64_t num = 0, den = 0;
      for (int i = 0; i < kBlended; ++i) {
        const int64_t wt = (int64_t(1) << 24) / (int64_t(esum[i]) + 1);
        num += wt * pr[i];
        den += wt;
      }
      pr[15] = static_cast<int>((num + den / 2) / den);
    } else {
      h[3] = hash(24, mode, conf);
      h[4] = hash(25, v, mode >> 3);
      h[5] = hash(26, uint32_t(grad) >> 1, mode >> 3);
      h[9] = hash(30, mode >> 2, u >> 3, n >> 3);
      h[10] = hash(31, uint32_t(med), conf);
      for (int i : {3, 4, 5, 9, 10}) __builtin_prefetch(&s.table[h[i] & mask]);
    }
    float c_lo = 0, c_hi = C(256);
    Line* line[kRContexts] = {};
    if (!maps)
      for (int k = 0; k < kRContexts; ++k) line[k] = line_of(h[k]);
    const int x_in = static_cast<int>(piece[j]);
    uint32_t node = 1, lo = 0, hi = 256;
    for (int k = 0; k < 8; ++k) {
      if (k == 4 && !maps)
        for (int i = 0; i < kRContexts; ++i) line[i] = line_of(hash(h[i], node));
      const uint32_t slot = k < 4 ? node : ((1u << (k - 4)) | (node & ((1u << (k - 4)) - 1)));
      const uint32_t mid = (lo + hi) / 2;
      const float c_mid = C(mid);
      if (k < 7) {  // the next decision's row is one of two
        prefetch_row((lo + mid) / 2);
        prefetch_row((mid + hi) / 2);
      }
      if (k == 3 && !maps)  // so is the second nibble's line of every context
        for (int i = 0; i < kRContexts; ++i) {
          __builtin_prefetch(&s.table[hash(h[i], node * 2) & mask]);
          __builtin_prefetch(&s.table[hash(h[i], node * 2 + 1) & mask]);
        }
      const float range = c_hi - c_lo;
      int p12 = 2048;
      if (range > 0) p12 = static_cast<int>((c_hi - c_mid) / range * 4096.0f);
      p12 = std::clamp(p12, 1, 4095);
      const int st_pc = stretch(p12);
      const int cb = std::clamp((st_pc + 2048) >> 9, 0, 7);
      const int pa_pc = s.apm_pc.refine(st_pc, size_t(node) * 8 + size_t(cb));
      int16_t* in = s.mixer.inputs();
      in[0] = static_cast<int16_t>(st_pc);
      in[1] = static_cast<int16_t>(stretch(std::clamp(pa_pc >> 4, 1, 4095)));
      AdaptiveProb* q[kRContexts] = {};
      AdaptiveProb* qm[kPreds] = {};
      if (maps) {
        // Where each prediction lies against the interval the bits so far
        // leave: the same table serves every value of the interval's low end.
        for (int i = 0; i < kPreds; ++i) {
          const size_t o = static_cast<size_t>(std::clamp(pr[i] - static_cast<int>(lo) + 256, 0, kMapOffsets - 1));
          qm[i] = &s.pmaps[((size_t(ebucket[i]) * kPreds + size_t(i)) * 8 + size_t(k)) * kMapOffsets + o];
          in[kRInputs + i] = static_cast<int16_t>(stretch(qm[i]->p >> 4));
        }
      } else {
        for (int i = 0; i < kRContexts; ++i) {
          q[i] = &line[i]->p[slot];
          in[2 + i] = static_cast<int16_t>(stretch(q[i]->p >> 4));
        }
      }
      in[kRInputs - 1] = 256;
      const int sel[4] = {k * 8 + cb, static_cast<int>(node), (k * 12 + qa) * 2 + (u == 0 && n == 0),
                          k * 32 + static_cast<int>(mode >> 3)};
      const int st = s.mixer.mix(sel);
      const int pa = s.apm.refine(st, size_t(node) * 8 + size_t(cb));
      const int pb = s.apm2.refine(st, size_t(node) * 256 + (u >> 4) * 16 + (n >> 4));
      const int p16 = std::clamp((squash(st) * 32 + pa * 3 + pb * 3) / 8, 32, 65503);
      const int bit = c.code((x_in >> (7 - k)) & 1, static_cast<uint32_t>(p16));
      if (learn) {  // a frozen mixing model (flags 6) changes nothing
        s.mixer.update(bit);
        s.apm_pc.update(bit);
        s.apm.update(bit);
        s.apm2.update(bit);
        if (maps)
          for (int i = 0; i < kPreds; ++i) adapt(*qm[i], bit, kMapLimit);
        else
          for (int i = 0; i < kRContexts; ++i) adapt(*q[i], bit, kRCounterLimit);
      }
      node = node * 2 + static_cast<uint32_t>(bit);
      (bit ? lo : hi) = mid;
      (bit ? c_lo : c_hi) = c_mid;
    }
    const uint32_t x = node - 256;
    piece[j] = static_cast<uint8_t>(x);
    s.vals[v] = static_cast<uint8_t>(x);
    s.known[v] = 1;
    if (maps) {
      if (learn && s.ols_learn)
        for (Ols& o : s.ols) o.update(static_cast<double>(x));
      for (int i = 0; i < kPreds; ++i) s.perr[size_t(v) * kPreds + size_t(i)] = static_cast<uint16_t>(std::abs(pr[i] - int(x)));
    }
    if (x < nv) {
      // The value's leaf column from the two cumulative rows around it (in
      // the cache: the decisions just read them).
      const float* r0 = s.tables.row(v, x);
      const float* r1 = s.tables.row(v, x + 1);
      for (uint32_t z = 0; z < kz; ++z) s.belief[z] = r1[z] - r0[z];
      s.coder.observe_evidence(v, s.belief);
    }
  }
}

template void AdaptCoder::code_raster<BinaryEncoder>(BinaryEncoder&, uint8_t*, uint64_t, uint64_t);
template void AdaptCoder::code_raster<BinaryDecoder>(BinaryDecoder&, uint8_t*, uint64_t, uint64_t);

template <class Coder>
void AdaptCoder::code(Coder& c, uint8_t* piece, uint64_t col0, uint64_t len) {
  State& s = *s_;
  const Hclt& m = s.prior.model;
  const TreeOrder& t = s.prior.tree;
  const uint32_t d = m.vars, nv = m.values;
  std::fill(s.vals.begin(), s.vals.end(), int16_t(-1));
  s.coder.reset();
  const uint32_t w = s.width;
  // A neighbour's value for a context: 0..255, 256 not coded yet, 257 off the image.
  auto at = [&](uint32_t v, int dx, int dy) -> uint32_t {
    if (w == 0) return 257;
    const int64_t x = int64_t(v % w) + dx, y = int64_t(v / w) + dy;
    if (x < 0 || x >= int64_t(w) || y < 0) return 257;
    const uint64_t u = uint64_t(y) * w + uint64_t(x);
    if (u >= d) return 257;
    const int16_t val = s.vals[u];
    return val < 0 ? 256u : uint32_t(val);
  };
  for (uint32_t i = 0; i < d; ++i) {
    const uint32_t v = t.order[i];
    if (uint64_t(v) - col0 >= len) {
      s.coder.observe(i, -1);
      continue;
    }
    s.coder.predict(i, s.dist.data());
    s.cum[0] = 0.0f;
    uint32_t mode = 0;
    for (uint32_t x = 0; x < nv; ++x) {
      s.cum[x + 1] = s.cum[x] + s.dist[x];
      if (s.dist[x] > s.dist[mode]) mode = x;
    }
    for (uint32_t x = nv; x < 256; ++x) s.cum[x + 1] = s.cum[nv];
    const float total = s.cum[nv];
    const uint32_t conf = total > 0 ? std::min<uint32_t>(7, static_cast<uint32_t>(s.dist[mode] / total * 8.0f)) : 0;
    const uint32_t p = m.parent[v];
    const uint32_t pv = p == kNoParent ? 257u : (s.vals[p] < 0 ? 256u : uint32_t(s.vals[p]));
    const uint32_t left = at(v, -1, 0), up = at(v, 0, -1), ul = at(v, -1, -1), ur = at(v, 1, -1);
    uint32_t h[kContexts];
    h[0] = hash(1, v);
    h[1] = hash(2, v, pv >> 2);
    h[2] = hash(3, left, up);
    h[3] = hash(4, left >> 2, up >> 2, (ul >> 3) | (ur >> 3) << 8);
    h[4] = hash(5, mode, conf);
    h[5] = hash(6, v, mode >> 3);
    Line* line[kContexts];
    const uint32_t mask = (1u << kLineBits) - 1;
    for (int j = 0; j < kContexts; ++j) line[j] = &s.table[h[j] & mask];
    const int x_in = static_cast<int>(piece[v - col0]);
    uint32_t node = 1, lo = 0, hi = 256;
    for (int k = 0; k < 8; ++k) {
      if (k == 4)
        for (int j = 0; j < kContexts; ++j) line[j] = &s.table[hash(h[j], node) & mask];
      // The counter of this node within its nibble's line (1..15).
      const uint32_t slot = k < 4 ? node : ((1u << (k - 4)) | (node & ((1u << (k - 4)) - 1)));
      const uint32_t mid = (lo + hi) / 2;
      const float range = s.cum[hi] - s.cum[lo];
      int p12 = 2048;
      if (range > 0) p12 = static_cast<int>((s.cum[hi] - s.cum[mid]) / range * 4096.0f);
      p12 = std::clamp(p12, 1, 4095);
      const int st_pc = stretch(p12);
      int16_t in[kInputs];
      in[0] = static_cast<int16_t>(st_pc);
      AdaptiveProb* q[kContexts];
      for (int j = 0; j < kContexts; ++j) {
        q[j] = &line[j]->p[slot];
        in[1 + j] = static_cast<int16_t>(stretch(q[j]->p >> 4));
      }
      in[7] = 256;
      s.mixer.set_inputs8(in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]);
      const int cb = std::clamp((st_pc + 2048) >> 9, 0, 7);
      const int sel[2] = {k * 8 + cb, static_cast<int>(node)};
      const int st = s.mixer.mix(sel);
      const int pa = s.apm.refine(st, size_t(node) * 4 + size_t(cb >> 1));
      const int p16 = std::clamp((squash(st) * 16 + pa * 3) / 4, 32, 65503);
      const int bit = c.code((x_in >> (7 - k)) & 1, static_cast<uint32_t>(p16));
      s.mixer.update(bit);
      s.apm.update(bit);
      for (int j = 0; j < kContexts; ++j) adapt(*q[j], bit, kCounterLimit);
      node = node * 2 + static_cast<uint32_t>(bit);
      (bit ? lo : hi) = mid;
    }
    const uint32_t x = node - 256;
    piece[v - col0] = static_cast<uint8_t>(x);
    s.vals[v] = static_cast<int16_t>(x);
    s.coder.observe(i, x < nv ? static_cast<int>(x) : -1);
  }
}

template void AdaptCoder::code<BinaryEncoder>(BinaryEncoder&, uint8_t*, uint64_t, uint64_t);
template void AdaptCoder::code<BinaryDecoder>(BinaryDecoder&, uint8_t*, uint64_t, uint64_t);

// ---- the mixing model (prior file version 2, flags 6) ----

struct MixingModel {
  uint32_t width = 0;
  bool columns = false;
  std::vector<uint16_t> words;  // RasterState::visit_words order
  double ols[2][kOlsInputs] = {};
};

namespace {
constexpr uint32_t kMixingVersion = 1;
constexpr double kMaxOlsWeight = 1e9;
}  // namespace

uint32_t mixing_width(const MixingModel& mix) { return mix.width; }
uint64_t mixing_memory(const Prior& prior) { return adapt_memory(prior, true, true); }

std::vector<uint8_t> AdaptCoder::save_mixing() {
  RasterState& st = *r_;
  std::vector<uint16_t> now, base;
  st.visit_words([&](uint16_t& u) { now.push_back(u); });
  RasterStateFactory(st.prior, st.width, st.columns).words(&base);
  std::vector<uint8_t> out;
  auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put32(kMixingVersion);
  put32(st.width);
  out.push_back(st.columns ? 1 : 0);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(uint64_t(now.size()) >> (8 * i)));
  // Runs of changed words: varint words kept as they start, varint run
  // length, the run's words (u16 LE); a run of length 0 ends the list.
  // Gaps of fewer than 4 unchanged words stay inside a run.
  size_t i = 0;
  while (true) {
    size_t skip = 0;
    while (i + skip < now.size() && now[i + skip] == base[i + skip]) ++skip;
    if (i + skip == now.size()) {
      put_varint(out, skip);
      put_varint(out, 0);
      break;
    }
    size_t end = i + skip, same = 0;
    for (size_t q = i + skip; q < now.size(); ++q) {
      if (now[q] != base[q]) {
        same = 0;
        end = q + 1;
      } else if (++same >= 4) {
        break;
      }
    }
    put_varint(out, skip);
    put_varint(out, end - (i + skip));
    for (size_t q = i + skip; q < end; ++q) {
      out.push_back(static_cast<uint8_t>(now[q]));
      out.push_back(static_cast<uint8_t>(now[q] >> 8));
    }
    i = end;
  }
  for (const Ols& o : st.ols)
    for (int k = 0; k < kOlsInputs; ++k) {
      uint64_t b;
      std::memcpy(&b, &o.weights()[k], 8);
      for (int q = 0; q < 8; ++q) out.push_back(static_cast<uint8_t>(b >> (8 * q)));
    }
  return out;
}

std::vector<uint8_t> train_mixing(const Prior& prior, const uint8_t* records, uint64_t n, uint32_t width) {
  const uint32_t d = prior.model.vars;
  if (width == 0 || d % width != 0) width = 0;
  const bool columns = adapt_columns(prior, width);
  std::vector<uint8_t> scratch;
  // Codes every record with `model`, calling after(r) after record r.
  auto pass = [&](AdaptCoder& model, auto&& after) {
    for (uint64_t r = 0; r < n; ++r) {
      BinaryEncoder enc(scratch);
      model.encode(enc, records + r * d, 0, d);
      scratch.clear();
      after(r);
    }
  };
  // The frozen coder predicts with fixed least-squares weights, so the
  // maps must learn how those miss, not how an adaptive fit does: a first
  // pass fits the two predictors over the whole set (slow forgetting),
  // the second learns everything else with them held.
  AdaptCoder fit(prior, width, true, columns, true, n * d);
  fit.r_->ols[0].init(kOlsInputs, 0.99999, 0.5, 32);
  fit.r_->ols[1].init(kOlsInputs, 0.9995, 0.5, 32);
  pass(fit, [](uint64_t) {});
  AdaptCoder learner(prior, width, true, columns, true, n * d);
  for (int o = 0; o < 2; ++o)
    std::copy(fit.r_->ols[o].weights(), fit.r_->ols[o].weights() + kOlsInputs, learner.r_->ols[o].weights());
  learner.r_->ols_learn = false;
  // A snapshot of a model that keeps learning carries the noise of the
  // last records it saw; the stored state is the average of 16 snapshots
  // over the second half (map probabilities, mixer weights, APM points;
  // a map entry's count is its last).
  auto& st = *learner.r_;
  const size_t map_words = st.pmaps.size() * 2;
  size_t mixer_words = 0;
  for (int k = 0; k < 4; ++k) mixer_words += st.mixer.table(k).size();
  std::vector<int64_t> sum;
  int snapshots = 0;
  const uint64_t every = std::max<uint64_t>(1, n / 32);
  pass(learner, [&](uint64_t r) {
    if (r + 1 < n / 2 || (n - 1 - r) % every != 0) return;
    size_t i = 0;
    st.visit_words([&](uint16_t& u) {
      if (i == sum.size()) sum.push_back(0);
      sum[i] += (i >= map_words && i < map_words + mixer_words) ? int64_t(int16_t(u)) : int64_t(u);
      ++i;
    });
    ++snapshots;
  });
  if (snapshots > 1) {
    size_t i = 0;
    st.visit_words([&](uint16_t& u) {
      const bool count = i < map_words && (i & 1);
      if (!count) {
        const int64_t v = sum[i] >= 0 ? (sum[i] + snapshots / 2) / snapshots : -((-sum[i] + snapshots / 2) / snapshots);
        u = static_cast<uint16_t>(v);
      }
      ++i;
    });
  }
  return learner.save_mixing();
}

Status parse_mixing(const Prior& prior, std::span<const uint8_t> bytes, std::shared_ptr<const MixingModel>* out) {
  auto bad = [] { return Error(ErrorCode::kCorrupt, "prior file: damaged mixing model"); };
  const uint32_t d = prior.model.vars;
  if (bytes.size() < 17) return bad();
  const uint32_t version = load_le32(bytes.data()), width = load_le32(bytes.data() + 4);
  const uint8_t columns = bytes[8];
  const uint64_t count = load_le64(bytes.data() + 9);
  size_t q = 17;
  if (version != kMixingVersion || columns > 1 || (width != 0 && d % width != 0) ||
      (columns && (width == 0 || width == d)))
    return bad();
  auto mix = std::make_shared<MixingModel>();
  mix->width = width;
  mix->columns = columns != 0;
  AdaptCoder::RasterStateFactory(prior, width, mix->columns).words(&mix->words);
  if (count != mix->words.size()) return bad();
  uint64_t at = 0;
  while (true) {
    uint64_t skip = 0, run = 0;
    if (!get_varint(bytes, &q, &skip) || !get_varint(bytes, &q, &run)) return bad();
    if (skip > count - at) return bad();
    at += skip;
    if (run == 0) {
      if (at != count) return bad();
      break;
    }
    if (run > count - at || (bytes.size() - q) / 2 < run) return bad();
    for (uint64_t k = 0; k < run; ++k, q += 2)
      mix->words[at + k] = static_cast<uint16_t>(bytes[q] | bytes[q + 1] << 8);
    at += run;
  }
  if (bytes.size() - q != 2 * kOlsInputs * 8) return bad();
  for (auto& row : mix->ols)
    for (double& w : row) {
      const uint64_t b = load_le64(bytes.data() + q);
      q += 8;
      std::memcpy(&w, &b, 8);
      if (!std::isfinite(w) || std::fabs(w) > kMaxOlsWeight) return bad();
    }
  // The maps come first (p, n); their counts are at most the limit.
  for (size_t k = 1; k < size_t(kErrBuckets) * kPreds * 8 * kMapOffsets * 2; k += 2)
    if (mix->words[k] > kMapLimit) return bad();
  *out = std::move(mix);
  return Status::Ok();
}

AdaptCoder::RasterStateFactory::RasterStateFactory(const Prior& prior, uint32_t width, bool columns)
    : st_(std::make_unique<RasterState>(prior, width, columns, true, 0)) {}
AdaptCoder::RasterStateFactory::~RasterStateFactory() = default;
void AdaptCoder::RasterStateFactory::words(std::vector<uint16_t>* out) {
  out->clear();
  st_->visit_words([&](uint16_t& u) { out->push_back(u); });
}

AdaptCoder::AdaptCoder(const Prior& prior) {
  const MixingModel& mix = *prior.mixing;
  r_ = std::make_unique<RasterState>(prior, mix.width, mix.columns, true, 0);
  size_t k = 0;
  r_->visit_words([&](uint16_t& u) { u = mix.words[k++]; });
  for (int o = 0; o < 2; ++o) std::copy(mix.ols[o], mix.ols[o] + kOlsInputs, r_->ols[o].weights());
  r_->learn = false;
}

}  // namespace sibyl::pc
