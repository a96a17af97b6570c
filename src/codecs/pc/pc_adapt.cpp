#include "codecs/pc/pc_adapt.h"

#include <algorithm>

#include "common/fixed_math.h"
#include "model/adaptive_prob.h"
#include "model/apm.h"
#include "model/mixer.h"

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

uint64_t adapt_memory(const Prior& prior) {
  return (uint64_t(sizeof(Line)) << kLineBits) + uint64_t(prior.model.vars) * 2 + (kMixerSets0 + kMixerSets1) * 16 +
         kApmContexts * 33 * 2 + 65536;
}

AdaptCoder::AdaptCoder(const Prior& prior, uint32_t width) : s_(std::make_unique<State>(prior, width)) {}
AdaptCoder::~AdaptCoder() = default;

void AdaptCoder::encode(BinaryEncoder& enc, const uint8_t* piece, uint64_t col0, uint64_t len) {
  code(enc, const_cast<uint8_t*>(piece), col0, len);
}
void AdaptCoder::decode(BinaryDecoder& dec, uint8_t* piece, uint64_t col0, uint64_t len) { code(dec, piece, col0, len); }

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

}  // namespace sibyl::pc
