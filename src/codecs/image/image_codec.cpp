#include "codecs/image/image_codec.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "codecs/image/ycc.h"
#include "coder/binary_coder.h"
#include "common/bytes.h"
#include "common/fixed_math.h"
#include "model/adaptive_prob.h"
#include "model/apm.h"
#include "model/mixer.h"
#include "model/ols.h"
#include "model/order1_bytes.h"

namespace sibyl::image {

namespace {

constexpr int kPad = 3;         // samples of border on each side of a row
constexpr int kPreds = 15;      // sub-predictors (5 only for later channels)
constexpr int kBasePreds = 8;   // sub-predictors of the first coded channel
constexpr int kSlots = 64;      // decisions per sample that get their own contexts
constexpr int kSlotSign = 20;
constexpr int kQ = 48;          // activity buckets
constexpr int kMaxLen = 17;     // bit length of a residual magnitude (16-bit samples)
constexpr int kModels = 10;      // context models per decision
constexpr int kHashedModel = 3;
constexpr int kMatchModel = 5;
// The palette model's contexts (version 4): 32 patterns of equal
// neighbours x 4 channel classes x whether the pixel's channels coded
// before took the guessed neighbour's value.
constexpr size_t kPaletteContexts = 32 * 4 * 2;
constexpr int kMatchLog = 18;   // entries of the match model's table
constexpr int kInputs = kModels + 2;  // mixer inputs: the models, a bias and the palette model
constexpr int kMixSets = 16;    // mixer weight sets per slot
// With a block grid (version 3), more: 8 activity levels x 3 channel
// classes (first, second, others) x the 64 positions in a block.
constexpr int kGridMixSets = 8 * 3 * 64;

// Bucketed log2: 0 for 0, then two steps per octave.
SIBYL_ALWAYS_INLINE int qlog(uint32_t v) {
  if (v == 0) return 0;
  const int l = 32 - __builtin_clz(v);
  return 2 * l - 1 + (l >= 2 ? static_cast<int>((v >> (l - 2)) & 1) : 0);
}

// kRecip[k] = floor(2^24 / (k + 1)): the blend's weights.
constexpr uint32_t kRecipSize = 1 << 14;
constexpr std::array<uint32_t, kRecipSize> make_recip() {
  std::array<uint32_t, kRecipSize> t{};
  for (uint32_t k = 0; k < kRecipSize; ++k) t[k] = (uint32_t(1) << 24) / (k + 1);
  return t;
}
constexpr std::array<uint32_t, kRecipSize> kRecip = make_recip();

// Signed bucketed log2 of d, clamped to +-limit, as an index 0..2 limit.
SIBYL_ALWAYS_INLINE int signed_q(int d, int limit) {
  const int m = std::min(qlog(static_cast<uint32_t>(d < 0 ? -d : d)), limit);
  return limit + (d < 0 ? -m : m);
}

SIBYL_ALWAYS_INLINE int bit_length(uint32_t v) { return v == 0 ? 0 : 32 - __builtin_clz(v); }

SIBYL_ALWAYS_INLINE int med(int a, int b, int c) {
  const int mx = std::max(a, b), mn = std::min(a, b);
  return c >= mx ? mn : (c <= mn ? mx : a + b - c);
}

struct Shape {
  uint32_t width = 0;
  uint64_t rows = 0;
  unsigned channels = 0;
  int bytes = 1;
  bool big_endian = false;
  uint32_t maxval = 255;
  // Bytes after each row's samples (BMP pads rows to 4 bytes), coded as bytes.
  uint32_t pad = 0;
  // Colour samples stored B, G, R (BMP): the coding order stays G, R, B.
  bool bgr = false;
  uint64_t pixel_bytes() const { return uint64_t(channels) * static_cast<uint64_t>(bytes); }
  uint64_t row_bytes() const { return uint64_t(width) * pixel_bytes() + pad; }
  // Where pixel `index` (raster order) starts (no division without padding).
  uint64_t pixel_offset(uint64_t index) const {
    return pad == 0 ? index * pixel_bytes() : index / width * row_bytes() + index % width * pixel_bytes();
  }
};

SIBYL_ALWAYS_INLINE int load(const uint8_t* p, int bytes, bool be) {
  if (bytes == 1) return p[0];
  return be ? (p[0] << 8 | p[1]) : (p[1] << 8 | p[0]);
}
SIBYL_ALWAYS_INLINE void store(uint8_t* p, int bytes, bool be, int v) {
  if (bytes == 1) {
    p[0] = static_cast<uint8_t>(v);
  } else if (be) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
  } else {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
  }
}

// The hashed neighbourhood context: buckets of one cache line, 15
// counters for the decisions that matter most (kHashSlot) claimed by a
// 32-bit check, cleared when another context takes the bucket over.
constexpr int kHashCounters = 15;
constexpr std::array<uint8_t, kSlots> make_hash_slots() {
  std::array<uint8_t, kSlots> t{};
  for (int s = 0; s < kSlots; ++s) {
    t[static_cast<size_t>(s)] = static_cast<uint8_t>(s < 12 ? s : s < 20 ? 11 : s == 20 ? 12 : s < 37 ? 13 : 14);
  }
  return t;
}
constexpr std::array<uint8_t, kSlots> kHashSlot = make_hash_slots();

class HashedContexts {
 public:
  struct alignas(64) Bucket {
    uint32_t check;
    AdaptiveProb p[kHashCounters];
  };
  static_assert(sizeof(Bucket) == 64);
  explicit HashedContexts(int log) : mask_((uint64_t(1) << log) - 1), t_(mask_ + 1) {}
  static size_t index(uint64_t h, uint64_t mask) { return static_cast<size_t>(h & mask); }
  void prefetch(uint64_t h) const { __builtin_prefetch(&t_[index(h, mask_)]); }
  AdaptiveProb* bucket(uint64_t h) {
    Bucket& b = t_[index(h, mask_)];
    const uint32_t chk = static_cast<uint32_t>(h >> 32) | 1;
    if (b.check != chk) {
      b.check = chk;
      for (AdaptiveProb& a : b.p) a = AdaptiveProb{};
    }
    return b.p;
  }
  static uint64_t bytes(int log) { return (uint64_t(1) << log) * sizeof(Bucket); }

 private:
  uint64_t mask_;
  std::vector<Bucket> t_;
};

SIBYL_ALWAYS_INLINE uint64_t mix_hash(uint64_t h) {
  h ^= h >> 31;
  h *= 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  return h;
}

// The model of one image segment: row buffers and every context table.
class ImageModel {
 public:
  ImageModel(const ImageConfig& cfg, const Shape& s, HashedContexts& hashed, const BlockGrid& grid, bool ycc = false)
      : cfg_(cfg),
        s_(s),
        grid_(grid),
        independent_(ycc),
        phase_ols_(grid.found && cfg.version >= 4 && cfg.ols != 0),
        palette_on_(cfg.version >= 4),
        mix_sets_(grid.found ? kMixSets + kGridMixSets : kMixSets),
        stride_(s.width + 2 * kPad),
        hashed_(hashed),
        mixer_(grid.found ? kMixerSetsGrid : kMixerSets, (1 << 13) * 3 / 10, image_tuning().mixer_rate),
        apm_(static_cast<size_t>(kSlots) * kQ, image_tuning().apm_rate),
        apm2_(static_cast<size_t>(kSlots) * 25 * 4, image_tuning().apm_rate) {
    const size_t n = s.channels;
    vals_.assign(3 * n * stride_, 0);
    errs_.assign(2 * n * stride_ * kPreds, 0);
    res_.assign(2 * n * stride_, 0);
    for (unsigned ch = 0; ch < s.channels; ++ch) maxv_[ch] = static_cast<int>(s.maxval);
    bits_ = bit_length(s.maxval);
    hash_shift_ = bits_ > 8 ? bits_ - 8 : 0;
    if (s.channels >= 3) {
      order_[0] = 1;
      order_[1] = s.bgr ? 2 : 0;
      order_[2] = s.bgr ? 0 : 2;
      order_[3] = 3;
    } else {
      for (unsigned i = 0; i < 4; ++i) order_[i] = i;
    }
    // Y, Cb and Cr (version 4) keep these three tables per channel.
    const size_t copies = independent_ ? kMaxChannels : 1;
    t2_.resize(kSlots * kQ * 4 * copies);
    t3_.resize(kSlots * 144 * copies);
    t4_.resize(kSlots * 4 * 168);
    t7_.resize(kSlots * 100);
    t11_.resize(kSlots * 4 * 16 * 3);
    t12_.resize(kSlots * 1024 * copies);
    if (phase_ols_) {
      phase_ols_models_.resize(size_t(kMaxChannels) * 64);
      phase_ols_ready_ = std::make_unique<bool[]>(size_t(kMaxChannels) * 64);
    }
    t9_.resize(kSlots * 100);
    t13_.resize(kSlots * 900);
    t14_.resize(kSlots * 900);
    match_table_.assign(size_t(1) << kMatchLog, 0);
    rest_.resize(kMaxLen * kMaxLen * 2);
    bias_sum_.assign(4 * 16 * 8 * 4, 0);
    bias_cnt_.assign(4 * 16 * 8 * 4, 0);
  }

  // Before the rows: per channel a flag and, when packed, the bitmap of
  // the values used (each bit in the context of the two before it).
  // `src` (encoder) is the segment's first row.
  template <class C>
  void code_packing(C& c, const uint8_t* src, uint64_t rows) {
    const uint64_t n = rows * s_.width;
    const size_t range = static_cast<size_t>(s_.maxval) + 1;
    for (unsigned ch = 0; ch < s_.channels; ++ch) {
      std::vector<uint8_t> used(range, 0);
      size_t count = 0;
      if constexpr (!C::kDecoding) {
        for (uint64_t i = 0; i < n; ++i) {
          const int v = load(src + s_.pixel_offset(i) + ch * static_cast<uint64_t>(s_.bytes), s_.bytes, s_.big_endian);
          count += used[static_cast<size_t>(v)] == 0;
          used[static_cast<size_t>(v)] = 1;
        }
      }
      const int pack = code_adaptive_bit(c, pack_flag_, count * 4 <= range * 3, 30);
      if (!pack) continue;
      AdaptiveProb ctx[4];
      int prev = 0;
      std::vector<int32_t>& ti = to_index_[ch];
      std::vector<int32_t>& tv = to_value_[ch];
      ti.assign(range, 0);
      tv.clear();
      for (size_t v = 0; v < range; ++v) {
        const int b = code_adaptive_bit(c, ctx[prev], used[v], 255);
        prev = (prev << 1 | b) & 3;
        ti[v] = static_cast<int32_t>(tv.size());
        if (b) tv.push_back(static_cast<int32_t>(v));
      }
      if (tv.empty()) tv.push_back(0);  // (a corrupt stream: every index decodes to 0)
      maxv_[ch] = static_cast<int>(tv.size()) - 1;
    }
  }

  template <class C>
  bool code_row(C& c, uint64_t y, const uint8_t* src, uint8_t* dst) {
    const unsigned nch = s_.channels;
    const int w = static_cast<int>(s_.width);
    // Border of the new row (left) from the row above; the first row has
    // no rows above: they are made equal to its left neighbour as it goes.
    for (unsigned ch = 0; ch < nch; ++ch) {
      int32_t* cur = val_row(ch, y);
      const int32_t* up = val_row(ch, y + 2);  // y - 1 (mod 3)
      const int v0 = y == 0 ? (maxv_[ch] + 1) / 2 : up[0];
      cur[-1] = cur[-2] = cur[-3] = v0;
      uint32_t* e = err_row(ch, y);
      std::fill(e - kPad * kPreds, e, 0u);
      int32_t* r = res_row(ch, y);
      r[-1] = r[-2] = r[-3] = 0;
      if (y == 0) {
        std::fill(err_row(ch, 1) - kPad * kPreds, err_row(ch, 1) + (w + kPad) * kPreds, 0u);
        std::fill(res_row(ch, 1) - kPad, res_row(ch, 1) + w + kPad, 0);
      }
    }
    const int bpp = s_.bytes;
    for (int x = 0; x < w; ++x) {
      const uint64_t off = y * s_.row_bytes() + static_cast<uint64_t>(x) * nch * static_cast<uint64_t>(bpp);
      int rs[kMaxChannels] = {};  // residuals of the channels coded at this pixel
      // The match model: the pixel that followed the last occurrence of
      // this pixel's causal neighbourhood (W, WW and N, all channels) is
      // the expected one; a match is followed while it keeps being right.
      const uint64_t index = y * s_.width + static_cast<uint64_t>(x);
      uint64_t hm = 0;
      for (unsigned ch = 0; ch < nch; ++ch) {
        const int32_t* cur = val_row(ch, y);
        const int32_t* up = val_row(ch, y + 2);
        hm = (hm + static_cast<uint64_t>(cur[x - 1]) * 0x2545F4914F6CDD1Dull + static_cast<uint64_t>(cur[x - 2])) *
                 0x9E3779B97F4A7C15ull +
             static_cast<uint64_t>(up[x]);
      }
      hm = mix_hash(hm) >> (64 - kMatchLog);
      if (!match_ok_) {
        const uint32_t cand = match_table_[hm];
        if (cand != 0) {
          match_ptr_ = cand - 1;
          match_ok_ = true;
          match_len_ = 0;
        }
      }
      if (match_ok_) {
        const uint8_t* base = C::kDecoding ? dst : src;
        for (unsigned ch = 0; ch < nch; ++ch) {
          int mvv = load(base + s_.pixel_offset(match_ptr_) + ch * static_cast<uint64_t>(bpp), bpp, s_.big_endian);
          if (!to_index_[ch].empty()) mvv = to_index_[ch][static_cast<size_t>(mvv)];
          match_v_[ch] = mvv;
        }
      }
      int pixel[kMaxChannels] = {};
      if (palette_on_) {
        bool wn = true, wnw = true, wne = true, nnw = true, nne = true;
        for (unsigned ch = 0; ch < nch; ++ch) {
          const int32_t* cur = val_row(ch, y);
          const int32_t* up = val_row(ch, y + 2);
          const int W = cur[x - 1], N = up[x], NW = up[x - 1], NE = up[x + 1];
          wn = wn && W == N;
          wnw = wnw && W == NW;
          wne = wne && W == NE;
          nnw = nnw && N == NW;
          nne = nne && N == NE;
        }
        palette_pattern_ = wn | wnw << 1 | wne << 2 | nnw << 3 | nne << 4;
        palette_agree_ = true;
      }
      if (y != 0) {
        for (unsigned ci = 0; ci < nch; ++ci) {
          const unsigned ch = order_[ci];
          const int32_t* cur = val_row(ch, y);
          const int32_t* up = val_row(ch, y + 2);
          hashed_.prefetch(neighbourhood_hash(ci, cur[x - 1], up[x], up[x - 1], up[x + 1]));
        }
      }
      for (unsigned ci = 0; ci < nch; ++ci) {
        const unsigned ch = order_[ci];
        int v = 0;
        if constexpr (!C::kDecoding) {
          v = load(src + off + ch * bpp, bpp, s_.big_endian);
          if (!to_index_[ch].empty()) v = to_index_[ch][static_cast<size_t>(v)];
        }
        if (y == 0) {
          // Rows above the first: copies of the left neighbour.
          int32_t* cur = val_row(ch, y);
          int32_t* up = val_row(ch, y + 2);
          int32_t* up2 = val_row(ch, y + 1);
          for (int d = -2; d <= 2; ++d) up[x + d] = cur[x - 1];
          for (int d = -1; d <= 1; ++d) up2[x + d] = cur[x - 1];
        }
        int got;
        if (!code_sample(c, ci, ch, x, y, v, rs, match_ok_ ? match_v_ : nullptr, &got)) return false;
        pixel[ch] = got;
        if constexpr (C::kDecoding) {
          if (!to_value_[ch].empty()) got = to_value_[ch][static_cast<size_t>(got)];
          store(dst + off + ch * bpp, bpp, s_.big_endian, got);
        }
      }
      match_table_[hm] = static_cast<uint32_t>(index + 1);
      if (match_ok_) {
        bool same = true;
        for (unsigned ch = 0; ch < nch; ++ch) same = same && pixel[ch] == match_v_[ch];
        if (same) {
          ++match_len_;
          ++match_ptr_;
        } else {
          match_ok_ = false;
        }
      }
    }
    // Right border of the finished row, read as NE by the next.
    for (unsigned ch = 0; ch < nch; ++ch) {
      int32_t* cur = val_row(ch, y);
      cur[w] = cur[w + 1] = cur[w + 2] = cur[w - 1];
      cur[-1] = cur[-2] = cur[-3] = cur[0];
      uint32_t* e = err_row(ch, y);
      std::fill(e + w * kPreds, e + (w + kPad) * kPreds, 0u);
      int32_t* r = res_row(ch, y);
      r[w] = r[w + 1] = r[w + 2] = 0;
    }
    return true;
  }

 private:
  static constexpr int kMixerSets[2] = {kSlots * kMixSets, kSlots * 25};
  static constexpr int kMixerSetsGrid[2] = {kSlots * (kMixSets + kGridMixSets), kSlots * 25};

  int32_t* val_row(unsigned ch, uint64_t y) { return &vals_[((y % 3) * s_.channels + ch) * stride_ + kPad]; }
  uint32_t* err_row(unsigned ch, uint64_t y) { return &errs_[(((y & 1) * s_.channels + ch) * stride_ + kPad) * kPreds]; }
  int32_t* res_row(unsigned ch, uint64_t y) { return &res_[((y & 1) * s_.channels + ch) * stride_ + kPad]; }

  // The context models of one sample's decisions: model i's counter for
  // decision slot s is base[i][s]: a context's counters for all decisions
  // lie together (a sample touches one or two cache lines per model).
  struct Ctx {
    AdaptiveProb* base[kModels];
    AdaptiveProb* sign;  // model 1 for the sign decision: neighbours' residual signs
    AdaptiveProb* palette;  // version 4: the neighbours' equal colours (null before)
    int q;
    int mix_set, mix_set2;
    int apm2;
  };

  static AdaptiveProb* at(std::vector<AdaptiveProb>& t, size_t ctx) { return &t[ctx * kSlots]; }

  template <class C>
  SIBYL_ALWAYS_INLINE int code_decision(C& c, const Ctx& k, int slot, int bit, int e, int e2 = 2) {
    AdaptiveProb* p[kModels];
    for (int i = 0; i < kModels; ++i) p[i] = k.base[i] + slot;
    p[kHashedModel] = k.base[kHashedModel] + kHashSlot[static_cast<size_t>(slot)];
    p[kMatchModel] += e * kSlots;
    if (slot == kSlotSign) p[1] = k.sign;
    static_assert(kInputs > 8 && kInputs <= 16);
    int16_t x[16] = {};
    for (int i = 0; i < kModels; ++i) x[i] = static_cast<int16_t>(stretch(p[i]->p >> 4));
    x[kModels] = 256;
    AdaptiveProb* pp = nullptr;
    if (k.palette != nullptr) {
      pp = k.palette + slot + e2 * kSlots;
      x[kModels + 1] = static_cast<int16_t>(stretch(pp->p >> 4));
    }
    mixer_.set_inputs16(x);
    const int sel[2] = {slot * mix_sets_ + k.mix_set, slot * 25 + k.mix_set2};
    const int st = mixer_.mix(sel);
    const int pa = apm_.refine(st, static_cast<size_t>(slot) * kQ + static_cast<size_t>(k.q));
    const int pa2 = apm2_.refine(st, static_cast<size_t>(slot) * 100 + static_cast<size_t>(k.apm2));
    const int pm = squash(st) << 4;
    int pr = (2 * pm + 3 * pa + 3 * pa2) >> 3;
    pr = std::clamp(pr, 32, 65536 - 32);
    bit = c.code(bit, static_cast<uint32_t>(pr));
    if (image_tuning().stats) image_tuning().n[slot] += 1, image_tuning().ones[slot] += bit;
    if (image_tuning().stats) image_tuning().cost[slot] += det_log((bit ? pr : 65536 - pr) / 65536.0) / -0.6931471805599453;
    mixer_.update(bit);
    apm_.update(bit);
    apm2_.update(bit);
    const ImageTuning& tu = image_tuning();
    for (int i = 0; i < kModels; ++i) adapt(*p[i], bit, i == kHashedModel ? tu.limit_hash : tu.limit_direct);
    if (pp != nullptr) adapt(*pp, bit, tu.limit_direct);
    return bit;
  }

  SIBYL_ALWAYS_INLINE uint64_t neighbourhood_hash(unsigned ci, int W, int N, int NW, int NE) const {
    return mix_hash((static_cast<uint64_t>(ci) << 60) ^ (static_cast<uint64_t>(W >> hash_shift_) << 45) ^
                    (static_cast<uint64_t>(N >> hash_shift_) << 30) ^ (static_cast<uint64_t>(NW >> hash_shift_) << 15) ^
                    static_cast<uint64_t>(NE >> hash_shift_));
  }

  template <class C>
  SIBYL_ALWAYS_INLINE bool code_sample(C& c, unsigned ci, unsigned ch, int x, uint64_t y, int v, int* rs,
                                       const int* mv, int* out) {
    const int32_t* cur = val_row(ch, y);
    const int32_t* up = val_row(ch, y + 2);
    const int32_t* up2 = val_row(ch, y + 1);
    const int W = cur[x - 1], WW = cur[x - 2], N = up[x], NW = up[x - 1], NE = up[x + 1], NN = up2[x],
              NNE = up2[x + 1];
    int P[kPreds];
    P[0] = W * 8;
    P[1] = N * 8;
    P[2] = (N + W - NW) * 8;
    P[3] = med(N, W, NW) * 8;
    P[4] = (W + NE) * 4;
    P[5] = (W + NE - N) * 8;
    P[6] = (N + NE - NNE) * 8;
    P[7] = (N + W) * 4 + (NE - NW) * 2;
    int np = kBasePreds;
    const ImageTuning& tu = image_tuning();
    // The block grid: the sample's column and row counted from the grid's
    // first edge, and its position in the 8 x 8 block.
    const int bx = x - grid_.x;
    const uint64_t by = y + 8 - static_cast<uint64_t>(grid_.y);
    const int xo = bx & 7, yo = static_cast<int>(by & 7);
    // With a block grid (version 4), one least-squares predictor per
    // position in the block: a decoded JPEG's samples depend on their
    // neighbours differently at each of the 64 places.
    const size_t phase = static_cast<size_t>(ci) * 64 + static_cast<size_t>(xo * 8 + yo);
    Ols& ols = phase_ols_ ? phase_ols_models_[phase] : ols_[ci];
    bool& ols_ready = phase_ols_ ? phase_ols_ready_[phase] : ols_ready_[ci];
    double* ox = ols.inputs();
    // Y, Cb and Cr are predicted each from its own samples: the channels
    // coded before at this pixel are not sub-predictors or contexts.
    const unsigned ic = independent_ ? 0u : ci;
    int no = 0;
    {
      const int NWW = up[x - 2], NEE = up[x + 2], NNW = up2[x - 1];
      const int v10[10] = {W, N, NW, NE, WW, NN, NNE, NNW, NEE, NWW};
      for (int i = 0; i < 10; ++i) ox[no++] = v10[i];
      if (cfg_.ols >= 2) {
        const int v4[4] = {cur[x - 3], up2[x - 2], up2[x + 2], up[x + 3]};
        for (int i = 0; i < 4; ++i) ox[no++] = v4[i];
      }
    }
    if (ic >= 1) {
      const unsigned rc = order_[0];
      const int32_t* rcur = val_row(rc, y);
      const int32_t* rup = val_row(rc, y + 2);
      const int R = rcur[x], RW = rcur[x - 1], RN = rup[x], RNW = rup[x - 1];
      P[8] = (W + R - RW) * 8;
      P[9] = (N + R - RN) * 8;
      P[10] = (N + W - NW + R - (RN + RW - RNW)) * 8;
      np = 11;
      const int o5[5] = {R, RW, RN, RNW, rup[x + 1]};
      for (int i = 0; i < 5; ++i) ox[no++] = o5[i];
      if (ic >= 2) {
        const unsigned rc2 = order_[1];
        const int32_t* r2cur = val_row(rc2, y);
        const int32_t* r2up = val_row(rc2, y + 2);
        const int R2 = r2cur[x], R2W = r2cur[x - 1], R2N = r2up[x];
        P[11] = (W + R2 - R2W) * 8;
        P[12] = (N + R2 - R2N) * 8;
        np = 13;
        const int o3[3] = {R2, R2W, R2N};
        for (int i = 0; i < 3; ++i) ox[no++] = o3[i];
      }
    }
    int ols_at = -1;
    if (cfg_.ols != 0) {
      if (!ols_ready) {
        ols.init(no, 1.0 - tu.ols_lambda * 1e-4, tu.ols_reg, tu.ols_period);
        ols_ready = true;
      }
      const double po = ols.predict_value() * 8.0;
      const double lim = 16.0 * maxv_[ch];
      ols_at = np;
      P[np++] = static_cast<int>(round_half_up(po < -lim ? -lim : (po > lim ? lim : po)));
      if (cfg_.ols >= 2) {
        Ols& o2 = ols2_[ci];
        if (!ols2_ready_[ci]) {
          o2.init(no, 1.0 - tu.ols2_lambda * 1e-4, tu.ols_reg, tu.ols_period);
          ols2_ready_[ci] = true;
        }
        std::memcpy(o2.inputs(), ox, sizeof(double) * static_cast<size_t>(no));
        const double p2 = o2.predict_value() * 8.0;
        P[np++] = static_cast<int>(round_half_up(p2 < -lim ? -lim : (p2 > lim ? lim : p2)));
      }
    }
    // Blend: weights ~ (best error / own error)^power over the errors the
    // sub-predictors made at N, W, NW and NE.
    const uint32_t* eup = err_row(ch, y + 1);
    const uint32_t* ecur = err_row(ch, y);
    uint32_t s[kPreds];
    uint32_t smin = UINT32_MAX;
    for (int i = 0; i < np; ++i) {
      s[i] = eup[x * kPreds + i] + eup[(x - 1) * kPreds + i] + eup[(x + 1) * kPreds + i] + eup[(x + 2) * kPreds + i] +
             (eup[(x - 2) * kPreds + i] >> 1) + 2 * ecur[(x - 1) * kPreds + i] + ecur[(x - 2) * kPreds + i];
      smin = std::min(smin, s[i]);
    }
    // Weights 2^24 / (error + 1), the errors scaled so that the smallest
    // has at most 8 bits (a table lookup instead of a division each).
    int64_t wsum = 0, psum = 0;
    const int sh = std::max(0, bit_length(smin) - 10);
    for (int i = 0; i < np; ++i) {
      const int64_t wt = kRecip[std::min<uint32_t>(s[i] >> sh, kRecipSize - 1)];
      wsum += wt;
      psum += wt * P[i];
    }
    int blend8 = static_cast<int>(psum >= 0 ? (psum + wsum / 2) / wsum : -((-psum + wsum / 2) / wsum));
    int pred8 = blend8;
    // Activity: the final residuals around the sample.
    const int32_t* rup = res_row(ch, y + 1);
    const int32_t* rcur = res_row(ch, y);
    const int rW = rcur[x - 1], rN = rup[x], rNW = rup[x - 1], rNE = rup[x + 1];
    const uint32_t act = 2 * static_cast<uint32_t>(std::abs(rW) + std::abs(rN)) + static_cast<uint32_t>(std::abs(rNW)) +
                         static_cast<uint32_t>(std::abs(rNE));
    const int q = std::min(qlog(act), kQ - 1);
    // Bias correction by context (as in CALIC): the mean error in contexts
    // of activity and local gradient signs.
    const int pattern = (N > NW) | (W > NW) << 1 | (NE > N) << 2;
    // The block grid: whether W (bit 0) and N (bit 1) lie across a block
    // edge, and the mixer weights by the position in the block.
    int edge = 0, block_pos = 0;
    if (grid_.found) {
      edge = (xo == 0) | (yo == 0) << 1;
      block_pos = (static_cast<int>(std::min(ci, 2u)) * 64 + xo * 8 + yo) * 8;
    }
    const size_t bctx = ((static_cast<size_t>(ci) * 16 + static_cast<size_t>(std::min(q >> 1, 15))) * 8 +
                         static_cast<size_t>(pattern)) * 4 + static_cast<size_t>(edge);
    if (bias_cnt_[bctx] > 0) pred8 += bias_sum_[bctx] / bias_cnt_[bctx];
    const int maxv = maxv_[ch];
    const int Pv = std::clamp((pred8 + 4) >> 3, 0, maxv);
    const int frac = std::clamp(pred8 - Pv * 8 + 4, 0, 7);
    // Contexts of this sample's decisions.
    Ctx k;
    k.q = std::min(q, 11) * 4 + (frac >> 1);
    k.mix_set = grid_.found ? kMixSets + block_pos + std::min(q / 6, 7) : std::min(q / 3, kMixSets - 1);
    const int q2 = std::min(qlog(smin >> 3), kQ - 1);
    const int qW = std::min(qlog(static_cast<uint32_t>(std::abs(rW))), 11),
              qN = std::min(qlog(static_cast<uint32_t>(std::abs(rN))), 11);
    const int sgn = ((rW > 0) - (rW < 0) + 1) * 9 + ((rN > 0) - (rN < 0) + 1) * 3 + ((rNW > 0) - (rNW < 0) + 1);
    const size_t tc = independent_ ? std::min<size_t>(ci, kMaxChannels - 1) : 0;
    k.sign = at(t3_, tc * 144 + static_cast<size_t>(sgn * 4 + std::min(frac >> 1, 3))) + kSlotSign;
    int c4;
    if (ic == 0) {
      int pmin = P[0], pmax = P[0];
      for (int i = 1; i < kBasePreds; ++i) pmin = std::min(pmin, P[i]), pmax = std::max(pmax, P[i]);
      c4 = std::min(qlog(static_cast<uint32_t>(pmax - pmin) >> 3), 23);
    } else {
      c4 = ic == 1 ? 23 + signed_q(rs[0], 11) : 46 + signed_q(rs[0], 5) * 11 + signed_q(rs[1], 5);
    }
    const uint64_t h = neighbourhood_hash(ci, W, N, NW, NE);
    const int d_ols = ols_at >= 0 ? P[ols_at] - pred8 : 0;
    const size_t cs = std::min<unsigned>(ci, 3);
    const int d_ic = (ic == 0 ? P[2] : P[10]) - pred8;
    k.mix_set2 = signed_q(d_ic, 12);
    k.apm2 = static_cast<int>(cs) * 25 + signed_q(d_ic, 12);
    const int lenq = mv == nullptr ? 0 : std::min(1 + qlog(static_cast<uint32_t>(match_len_)), 15);
    // Context models: the best sub-predictor's error; the neighbours'
    // residuals (their signs for the sign); the earlier channel's residual
    // or the sub-predictors' spread; the hashed neighbourhood; where the
    // least-squares prediction, N and W, and two other sub-predictors lie
    // against the prediction; the match model.
    k.base[0] = at(t2_, (tc * kQ + static_cast<size_t>(q2)) * 4 + static_cast<size_t>(edge));
    k.base[1] = at(t3_, tc * 144 + static_cast<size_t>(qW * 12 + qN));
    k.base[2] = at(t4_, cs * 168 + static_cast<unsigned>(c4));
    k.base[3] = hashed_.bucket(h);
    k.base[4] = at(t7_, cs * 25 + static_cast<size_t>(signed_q(d_ols, 12)));
    k.base[5] = at(t11_, (cs * 16 + static_cast<size_t>(lenq)) * 3);
    // Texture (as in CALIC): which neighbours lie above the prediction.
    const int t8 = (N * 8 > pred8) | (W * 8 > pred8) << 1 | (NW * 8 > pred8) << 2 | (NE * 8 > pred8) << 3 |
                   (NN * 8 > pred8) << 4 | (WW * 8 > pred8) << 5 | ((2 * N - NN) * 8 > pred8) << 6 |
                   ((2 * W - WW) * 8 > pred8) << 7;
    k.base[6] = at(t12_, tc * 1024 + static_cast<size_t>(t8 * 4 + std::min(q2 >> 2, 3)));
    k.base[7] = at(t9_, cs * 25 + static_cast<size_t>(signed_q(d_ic, 12)));
    const int da = (ic == 0 ? P[0] : P[8]) - pred8, db = (ic == 0 ? P[1] : P[9]) - pred8;
    k.base[8] = at(t13_, (cs * 15 + static_cast<size_t>(signed_q(da >> 1, 7))) * 15 + static_cast<size_t>(signed_q(db >> 1, 7)));
    const int dc = (ic >= 2 ? P[11] : P[4]) - pred8, dd = (ic >= 2 ? P[12] : P[7]) - pred8;
    k.base[9] = at(t14_, (cs * 15 + static_cast<size_t>(signed_q(dc >> 1, 7))) * 15 + static_cast<size_t>(signed_q(dd >> 1, 7)));

    // The residual: magnitude's bit length in unary, mantissa, then sign.
    const int room_up = maxv - Pv, room_down = Pv;
    const int mmax = std::max(room_up, room_down);
    const int lmax = bit_length(static_cast<uint32_t>(mmax));
    const int r = v - Pv;
    const uint32_t m = static_cast<uint32_t>(std::abs(r));
    const int len = bit_length(m);
    // What the match model expects: its value's residual, decision by decision.
    const int re = mv == nullptr ? 0 : mv[ch] - Pv;
    const uint32_t me = static_cast<uint32_t>(std::abs(re));
    const int le = mv == nullptr ? -1 : bit_length(me);
    // The palette model's guess (version 4): the value of the neighbour a
    // flat-colour picture repeats (N where W = NW, else W).
    int rp = 0, lp = -1;
    uint32_t mp = 0;
    k.palette = nullptr;
    const int guess = W == NW ? N : W;
    if (palette_on_) {
      rp = guess - Pv;
      mp = static_cast<uint32_t>(std::abs(rp));
      lp = bit_length(mp);
      const size_t pctx = (static_cast<size_t>(palette_pattern_) * 4 + cs) * 2 + (palette_agree_ ? 1 : 0);
      k.palette = &palette_[pctx * 3 * kSlots];
    }
    int l = 0;
    while (l < lmax && code_decision(c, k, std::min(l, 19), l < len, le < 0 ? 2 : (l < le), lp < 0 ? 2 : (l < lp))) ++l;
    uint32_t mag = 0;
    if (l > 0) {
      mag = 1;
      const bool same_len = le == l;
      if (l >= 2) {
        const int e = same_len ? static_cast<int>((me >> (l - 2)) & 1) : 2;
        const int ep = lp == l ? static_cast<int>((mp >> (l - 2)) & 1) : 2;
        mag = mag << 1 | static_cast<uint32_t>(code_decision(c, k, 21 + std::min(l - 2, 15),
                                                             static_cast<int>((m >> (l - 2)) & 1), e, ep));
      }
      if (l >= 3) {
        const int e = same_len && (me >> (l - 2)) == mag ? static_cast<int>((me >> (l - 3)) & 1) : 2;
        const int ep = lp == l && (mp >> (l - 2)) == mag ? static_cast<int>((mp >> (l - 3)) & 1) : 2;
        mag = mag << 1 | static_cast<uint32_t>(code_decision(c, k, 37 + 2 * std::min(l - 3, 12) + static_cast<int>(mag & 1),
                                                             static_cast<int>((m >> (l - 3)) & 1), e, ep));
      }
      for (int b = l - 4; b >= 0; --b) {
        AdaptiveProb& a = rest_[(static_cast<size_t>(l) * kMaxLen + static_cast<size_t>(b)) * 2 + (mag & 1)];
        mag = mag << 1 | static_cast<uint32_t>(code_adaptive_bit(c, a, static_cast<int>((m >> b) & 1), 255));
      }
    }
    int value;
    if (mag == 0) {
      value = Pv;
    } else {
      const bool can_up = static_cast<int64_t>(mag) <= room_up, can_down = static_cast<int64_t>(mag) <= room_down;
      if (!can_up && !can_down) return false;  // only a corrupt stream gets here
      int neg = can_up ? 0 : 1;
      if (can_up && can_down) neg = code_decision(c, k, kSlotSign, r < 0, me == mag ? (re < 0) : 2, mp == mag ? (rp < 0) : 2);
      value = neg ? Pv - static_cast<int>(mag) : Pv + static_cast<int>(mag);
    }
    *out = value;
    // Updates: the row buffers, sub-predictor errors, bias.
    val_row(ch, y)[x] = value;
    uint32_t* e = err_row(ch, y) + x * kPreds;
    const int v8 = value * 8;
    for (int i = 0; i < np; ++i) e[i] = static_cast<uint32_t>(std::abs(P[i] - v8));
    // The least-squares predictors learn from every sample at ols 2, from
    // one sample in four at ols 1 (a quarter of the cost, 0.2 % larger);
    // one block in four for the predictors by position in the block.
    const int sub = phase_ols_ ? bx >> 3 ^ static_cast<int>(by >> 3)
                               : x ^ static_cast<int>(y);
    if (cfg_.ols >= 2 || (cfg_.ols == 1 && (sub & 3) == 0)) ols.update(static_cast<double>(value));
    if (cfg_.ols >= 2) ols2_[ci].update(static_cast<double>(value));
    if (palette_on_) palette_agree_ = palette_agree_ && value == guess;
    const int rr = value - Pv;
    res_row(ch, y)[x] = rr;
    rs[ci] = rr;
    int32_t& bs = bias_sum_[bctx];
    int32_t& bc = bias_cnt_[bctx];
    bs += v8 - blend8;
    ++bc;
    if (bc > image_tuning().bias_limit) {
      bs /= 2;
      bc /= 2;
    }
    return true;
  }

  ImageConfig cfg_;
  Shape s_;
  BlockGrid grid_;
  bool independent_;  // Y, Cb, Cr: no inter-channel sub-predictors or contexts
  bool phase_ols_;    // one least-squares predictor per position in the block
  bool palette_on_;   // version 4: the palette model
  int mix_sets_;  // first-table weight sets per slot
  size_t stride_;
  HashedContexts& hashed_;
  Mixer<kInputs, 2> mixer_;
  Apm apm_, apm2_;
  int bits_ = 8, hash_shift_ = 0;
  // Histogram packing: a channel using few of its values is coded as
  // indices into the sorted list of the values it uses.
  int maxv_[kMaxChannels] = {};
  std::vector<int32_t> to_index_[kMaxChannels], to_value_[kMaxChannels];
  unsigned order_[4] = {0, 1, 2, 3};
  std::vector<int32_t> vals_;
  std::vector<uint32_t> errs_;
  std::vector<int32_t> res_;
  std::vector<AdaptiveProb> t2_, t3_, t4_, t7_, t9_, t11_, t12_, t13_, t14_, rest_;
  std::vector<int32_t> bias_sum_, bias_cnt_;
  Ols ols_[kMaxChannels];
  AdaptiveProb pack_flag_;
  std::vector<uint32_t> match_table_;
  uint64_t match_ptr_ = 0;
  bool match_ok_ = false;
  int match_len_ = 0;
  int match_v_[kMaxChannels] = {};
  bool ols_ready_[kMaxChannels] = {};
  Ols ols2_[kMaxChannels];
  bool ols2_ready_[kMaxChannels] = {};
  std::vector<Ols> phase_ols_models_;
  // The palette model (version 4): per pixel, which of W, N, NW, NE are the
  // same colour (all channels), and whether the channels coded so far
  // at this pixel took the guessed neighbour's value.
  int palette_pattern_ = 0;
  bool palette_agree_ = true;
  std::vector<AdaptiveProb> palette_ = std::vector<AdaptiveProb>(palette_on_ ? kPaletteContexts * 3 * kSlots : 0);
  std::unique_ptr<bool[]> phase_ols_ready_;
};

// ---- segment table ---------------------------------------------------------------

struct Entry {
  uint8_t kind = 0;  // 0 bytes, 1 image rows
  uint64_t count = 0;
  Shape shape;
  uint64_t bytes() const { return kind == 0 ? count : count * shape.row_bytes(); }
};

// A count: value + 1 in Elias gamma (its bit length in unary, then the
// bits below the leading one), every bit at p = 1/2. False for a length
// over 40 bits (a corrupt stream).
template <class C>
bool code_gamma(C& c, uint64_t& value) {
  const uint64_t v = value + 1;
  const int len = C::kDecoding ? 0 : 64 - __builtin_clzll(v);
  int n = 1;
  while (c.code(n < len, 32768) != 0)
    if (++n > 40) return false;
  uint64_t r = 1;
  for (int i = n - 2; i >= 0; --i) r = r << 1 | static_cast<uint64_t>(c.code(static_cast<int>((v >> i) & 1), 32768));
  value = r - 1;
  return true;
}

template <class C>
Status code_segments(const ImageConfig& config, C& c, const std::vector<Entry>& entries, const uint8_t* src,
                     uint8_t* dst) {
  Order1Bytes bytes;
  std::unique_ptr<HashedContexts> hashed;
  uint64_t pos = 0;
  for (const Entry& e : entries) {
    if (e.kind == 0) {
      for (uint64_t i = 0; i < e.count; ++i) {
        const uint8_t b = bytes.code(c, C::kDecoding ? 0 : src[pos + i]);
        if (C::kDecoding) dst[pos + i] = b;
      }
      pos += e.count;
      continue;
    }
    if (!hashed) hashed = std::make_unique<HashedContexts>(config.hash_log);
    const uint8_t* seg = C::kDecoding ? nullptr : src + pos;  // what the model codes (encoder)
    // Version 4: a flag, and when set the segment's colours are coded as
    // the Y, Cb and Cr a JPEG decoder turned into them (ycc.h), with the
    // pixels no (Y, Cb, Cr) gives listed first.
    YccLayout ycc_layout;
    bool ycc = false;
    std::vector<uint8_t> ycc_rows;
    std::vector<YccEscape> escapes;
    const bool ycc_allowed = config.version >= 4 && e.shape.bytes == 1 && e.shape.maxval == 255 &&
                             (e.shape.channels == 3 || e.shape.channels == 4);
    if (ycc_allowed) {
      ycc_layout = {e.shape.width, e.count, e.shape.channels, e.shape.row_bytes(), e.shape.bgr ? 2u : 0u,
                    e.shape.bgr ? 0u : 2u};
      const uint64_t pixels = e.count * e.shape.width;
      if constexpr (!C::kDecoding) {
        if (image_tuning().ycc != 0) ycc = rgb_to_ycc(seg, ycc_layout, pixels / kYccEscapeShare, ycc_rows, escapes);
      }
      ycc = c.code(ycc, 32768) != 0;
      if (ycc) {
        uint64_t count = escapes.size();
        if (!code_gamma(c, count) || count > pixels / kYccEscapeShare) return Error(ErrorCode::kCorrupt, "image block: bad colour escapes");
        escapes.resize(count);
        uint64_t next = 0;
        for (YccEscape& x : escapes) {
          uint64_t gap = x.pixel - next;
          if (!code_gamma(c, gap) || gap >= pixels - next) return Error(ErrorCode::kCorrupt, "image block: bad colour escapes");
          x.pixel = next + gap;
          next = x.pixel + 1;
          for (uint8_t* b : {&x.r, &x.g, &x.b}) {
            int v = 0;
            for (int i = 7; i >= 0; --i) v |= c.code((*b >> i) & 1, 32768) << i;
            *b = static_cast<uint8_t>(v);
          }
        }
        if constexpr (!C::kDecoding) seg = ycc_rows.data();
      }
    }
    // Version 3: the block grid, a flag and the two phases (3 bits each)
    // at p = 1/2.
    BlockGrid grid;
    if (config.version >= 3) {
      if constexpr (!C::kDecoding) {
        if (image_tuning().grid != 0)
          grid = find_block_grid(seg + (e.shape.channels >= 3 ? 1 : 0) * static_cast<uint64_t>(e.shape.bytes),
                                 e.shape.width, e.count, e.shape.channels, e.shape.row_bytes(), e.shape.bytes,
                                 e.shape.big_endian, e.shape.maxval);
      }
      grid.found = c.code(grid.found, 32768) != 0;
      if (grid.found) {
        int gx = 0, gy = 0;
        for (int b = 2; b >= 0; --b) gx |= c.code((grid.x >> b) & 1, 32768) << b;
        for (int b = 2; b >= 0; --b) gy |= c.code((grid.y >> b) & 1, 32768) << b;
        grid.x = gx;
        grid.y = gy;
      }
    }
    auto model = std::make_unique<ImageModel>(config, e.shape, *hashed, grid, ycc);
    const uint64_t rb = e.shape.row_bytes();
    model->code_packing(c, seg, e.count);
    for (uint64_t y = 0; y < e.count; ++y) {
      if (!model->code_row(c, y, seg, C::kDecoding ? dst + pos : nullptr))
        return Error(ErrorCode::kCorrupt, "image block: sample out of range");
      // The row's padding (BMP: usually zeros) goes through the byte model.
      const uint64_t p0 = pos + y * rb + rb - e.shape.pad;
      for (uint64_t i = 0; i < e.shape.pad; ++i) {
        const uint8_t b = bytes.code(c, C::kDecoding ? 0 : src[p0 + i]);
        if (C::kDecoding) dst[p0 + i] = b;
      }
      if constexpr (C::kDecoding) {
        if (c.overrun()) return Error(ErrorCode::kCorrupt, "image block: coded data ends early");
      }
    }
    if constexpr (C::kDecoding) {
      if (ycc) {
        ycc_rows_to_rgb(dst + pos, ycc_layout);
        for (const YccEscape& x : escapes) {
          uint8_t* p = dst + pos + x.pixel / e.shape.width * rb + x.pixel % e.shape.width * e.shape.channels;
          p[ycc_layout.r_at] = x.r;
          p[1] = x.g;
          p[ycc_layout.b_at] = x.b;
        }
      }
    }
    pos += e.count * rb;
  }
  return Status::Ok();
}

bool valid_shape(const Shape& s) {
  if (s.width == 0 || s.channels == 0 || s.channels > kMaxChannels) return false;
  if (uint64_t(s.width) * s.channels > kMaxRowSamples) return false;
  if (s.bytes != 1 && s.bytes != 2) return false;
  if (s.maxval == 0 || s.maxval > (s.bytes == 1 ? 255u : 65535u)) return false;
  if (s.pad > kMaxRowPad || (s.bgr && s.channels < 3)) return false;
  return true;
}

// Every sample of the rows at most maxval (the encoder's check: others go as bytes).
bool within_maxval(const Shape& s, const uint8_t* p, uint64_t rows) {
  if (s.maxval == (s.bytes == 1 ? 255u : 65535u)) return true;
  const uint64_t n = uint64_t(s.width) * s.channels;
  for (uint64_t y = 0; y < rows; ++y, p += s.row_bytes())
    for (uint64_t i = 0; i < n; ++i)
      if (static_cast<uint32_t>(load(p + i * s.bytes, s.bytes, s.big_endian)) > s.maxval) return false;
  return true;
}

}  // namespace

BlockGrid find_block_grid(const uint8_t* rows, uint32_t width, uint64_t height, unsigned channels, uint64_t row_bytes,
                          int bytes, bool big_endian, uint32_t maxval) {
  BlockGrid g;
  if (width < 32 || height < 32 || channels == 0 || (bytes != 1 && bytes != 2)) return g;
  // Differences clipped at 12 (in 8-bit steps), so that a few strong edges
  // do not decide.
  const int clip = bytes == 1 ? 12 : static_cast<int>(std::max<uint32_t>(12, 12 * (maxval + 1) / 256));
  const uint64_t step = uint64_t(channels) * static_cast<uint64_t>(bytes);
  uint64_t hx[8] = {}, hy[8] = {}, zeros = 0, pairs = 0;
  const uint8_t* prev = nullptr;
  for (uint64_t y = 0; y < height; ++y) {
    const uint8_t* row = rows + y * row_bytes;
    int left = 0;
    uint64_t vertical = 0;
    for (uint32_t x = 0; x < width; ++x) {
      const int v = load(row + x * step, bytes, big_endian);
      if (x > 0) {
        const int d = std::abs(v - left);
        zeros += d == 0;
        hx[x & 7] += static_cast<uint64_t>(std::min(d, clip));
      }
      if (prev != nullptr) vertical += static_cast<uint64_t>(std::min(std::abs(v - load(prev + x * step, bytes, big_endian)), clip));
      left = v;
    }
    pairs += width - 1;
    hy[y & 7] += vertical;
    prev = row;
  }
  // Flat images (drawings, screenshots) are left alone: their edges line
  // up on grids of their own.
  if (zeros * 2 >= pairs) return g;
  // The phase whose sum is the largest, if it is at least 6 % above the
  // mean of the other seven.
  const auto phase = [](const uint64_t (&h)[8]) {
    int best = 0;
    uint64_t total = 0;
    for (int p = 0; p < 8; ++p) {
      total += h[p];
      if (h[p] > h[best]) best = p;
    }
    return h[best] * 7 * 100 >= (total - h[best]) * 106 && total > 0 ? best : -1;
  };
  const int px = phase(hx), py = phase(hy);
  if (px < 0 || py < 0) return g;
  g.found = true;
  g.x = px;
  g.y = py;
  return g;
}

bool has_image(std::span<const tensor::Segment> segments) {
  return std::any_of(segments.begin(), segments.end(), [](const tensor::Segment& s) { return s.width != 0; });
}

ImageTuning& image_tuning() {
  static ImageTuning t;
  return t;
}

std::vector<uint8_t> ImageConfig::serialize() const { return {version, hash_log, ols}; }

Status ImageConfig::parse(std::span<const uint8_t> params, ImageConfig* out) {
  if (params.size() != 3) return Error(ErrorCode::kBadParameters, "image codec: parameters have the wrong size");
  ImageConfig c;
  c.version = params[0];
  c.hash_log = params[1];
  c.ols = params[2];
  if (c.version < 1 || c.version > kVersion) return Error(ErrorCode::kBadParameters, "image codec: unknown parameter version");
  if (c.hash_log < kMinHashLog || c.hash_log > kMaxHashLog)
    return Error(ErrorCode::kBadParameters, "image codec: hash table size out of range");
  if (c.ols > kMaxOls) return Error(ErrorCode::kBadParameters, "image codec: unknown least-squares predictor");
  *out = c;
  return Status::Ok();
}

// Row buffers for the widest row (values in 3 rows, sub-predictor errors
// and residuals in 2), the hashed context table, the match table, and a
// fixed allowance for the direct context tables, mixer, APMs, histogram
// maps (two of 65536 entries per channel), the byte model and the Y, Cb, Cr
// table (ycc.h).
constexpr uint64_t kFixedBytes = 8 * 1024 * 1024;
static_assert(kSlots * (kQ * 4 + 144 + 4 * 168 + 100 + 4 * 16 * 3 + 1024 + 100 + 900 + 900) * sizeof(AdaptiveProb) +
                      kSlots * (kMixSets + 25) * 16 * 2 + kSlots * (kQ + 100) * 33 * 2 + 2 * (4 * 16 * 8 * 4) * 4 +
                      kMaxChannels * (2 * 65536 * 4 + sizeof(Ols)) + 65536 + Order1Bytes::kMemoryBytes + kYccTableBytes <=
                  kFixedBytes,
              "image model tables outgrew their declared memory");
// Version 3 adds the block grid's mixer weights (16 of them per vector).
constexpr uint64_t kGridBytes = uint64_t(kSlots) * kGridMixSets * 16 * 2;
static_assert(kGridBytes == 3145728);  // doc/format.md, codec 5
// Version 4 adds the least-squares predictors by position in the block
// (64 per channel, with a grid), for Y, Cb, Cr three more copies of three
// context tables, and the palette model.
constexpr uint64_t kV4Bytes = uint64_t(kMaxChannels) * 64 * sizeof(Ols) +
                              uint64_t(kMaxChannels - 1) * kSlots * (kQ * 4 + 144 + 1024) * sizeof(AdaptiveProb) +
                              kPaletteContexts * 3 * kSlots * sizeof(AdaptiveProb);
static_assert(kV4Bytes == 3547136);  // doc/format.md, codec 5
uint64_t ImageConfig::memory_bytes() const {
  const uint64_t rows = (kMaxRowSamples + 2 * kPad * kMaxChannels) * (3 * 4 + 2 * 4 * kPreds + 2 * 4);
  return rows + HashedContexts::bytes(hash_log) + (uint64_t(4) << kMatchLog) + kFixedBytes +
         (version >= 3 ? kGridBytes : 0) + (version >= 4 ? kV4Bytes : 0);
}

Status image_encode(const ImageConfig& config, std::span<const tensor::Segment> segments, std::span<const uint8_t> in,
                    std::vector<uint8_t>& out) {
  if (segments.size() > kMaxSegments) return Error(ErrorCode::kInternal, "image block: too many segments");
  std::vector<Entry> entries;
  uint64_t pos = 0;
  auto add_bytes = [&](uint64_t n) {
    if (n == 0) return;
    if (!entries.empty() && entries.back().kind == 0) {
      entries.back().count += n;
    } else {
      Entry e;
      e.count = n;
      entries.push_back(e);
    }
  };
  for (const tensor::Segment& s : segments) {
    if (s.width == 0) {
      if (pos + s.count > in.size()) return Error(ErrorCode::kInternal, "image block: segments exceed the block");
      add_bytes(s.count);
      pos += s.count;
      continue;
    }
    Entry e;
    e.kind = 1;
    e.count = s.count;
    e.shape.width = s.width;
    e.shape.rows = s.count;
    e.shape.channels = static_cast<unsigned>(s.row);
    e.shape.bytes = s.image_bytes;
    e.shape.big_endian = s.big_endian;
    e.shape.maxval = s.maxval;
    e.shape.pad = s.row_pad;
    e.shape.bgr = s.bgr;
    if (!valid_shape(e.shape)) return Error(ErrorCode::kInternal, "image block: bad image shape");
    if (pos + e.bytes() > in.size()) return Error(ErrorCode::kInternal, "image block: segments exceed the block");
    // Version 1 has neither padded rows nor B, G, R samples: such rows go as bytes.
    const bool v1_cannot = config.version < 2 && (e.shape.pad != 0 || e.shape.bgr);
    if (v1_cannot || !within_maxval(e.shape, in.data() + pos, e.count)) {
      add_bytes(e.bytes());
    } else {
      entries.push_back(e);
    }
    pos += e.bytes();
  }
  if (pos != in.size()) return Error(ErrorCode::kInternal, "image block: segments do not cover the block");
  if (entries.size() > kMaxSegments) return Error(ErrorCode::kInternal, "image block: too many segments");
  out.clear();
  put_varint(out, entries.size());
  for (const Entry& e : entries) {
    out.push_back(e.kind);
    put_varint(out, e.count);
    if (e.kind == 1) {
      put_varint(out, e.shape.width);
      out.push_back(static_cast<uint8_t>(e.shape.channels | (e.shape.bytes - 1) << 4 | (e.shape.big_endian ? 0x20 : 0) |
                                         (e.shape.bgr ? 0x40 : 0) | (e.shape.pad != 0 ? 0x80 : 0)));
      put_varint(out, e.shape.maxval);
      if (e.shape.pad != 0) put_varint(out, e.shape.pad);
    }
  }
  BinaryEncoder enc(out);
  SIBYL_RETURN_IF_ERROR(code_segments(config, enc, entries, in.data(), nullptr));
  enc.flush();
  return Status::Ok();
}

Status image_decode(const ImageConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out) {
  size_t pos = 0;
  uint64_t n = 0;
  if (!get_varint(in, &pos, &n) || n > kMaxSegments) return Error(ErrorCode::kCorrupt, "image block: bad segment table");
  std::vector<Entry> entries;
  uint64_t total = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (pos >= in.size()) return Error(ErrorCode::kCorrupt, "image block: truncated segment table");
    Entry e;
    e.kind = in[pos++];
    if (e.kind > 1) return Error(ErrorCode::kCorrupt, "image block: unknown segment kind");
    if (!get_varint(in, &pos, &e.count) || e.count > out.size())
      return Error(ErrorCode::kCorrupt, "image block: bad segment size");
    if (e.kind == 1) {
      uint64_t width = 0, maxval = 0;
      if (!get_varint(in, &pos, &width) || width == 0 || width > kMaxRowSamples || pos >= in.size())
        return Error(ErrorCode::kCorrupt, "image block: bad image width");
      const uint8_t f = in[pos++];
      uint64_t pad = 0;
      if ((config.version < 2 && (f & 0xc0) != 0) || !get_varint(in, &pos, &maxval) || maxval > 65535 ||
          ((f & 0x80) != 0 && (!get_varint(in, &pos, &pad) || pad == 0 || pad > kMaxRowPad)))
        return Error(ErrorCode::kCorrupt, "image block: bad image format");
      e.shape.width = static_cast<uint32_t>(width);
      e.shape.channels = f & 15;
      e.shape.bytes = 1 + ((f >> 4) & 1);
      e.shape.big_endian = (f & 0x20) != 0;
      e.shape.maxval = static_cast<uint32_t>(maxval);
      e.shape.pad = static_cast<uint32_t>(pad);
      e.shape.bgr = (f & 0x40) != 0;
      e.shape.rows = e.count;
      if (!valid_shape(e.shape)) return Error(ErrorCode::kCorrupt, "image block: bad image format");
      if (e.count > out.size() / e.shape.row_bytes()) return Error(ErrorCode::kCorrupt, "image block: bad segment size");
    }
    if (e.bytes() > out.size() - total) return Error(ErrorCode::kCorrupt, "image block: segments exceed the block");
    total += e.bytes();
    entries.push_back(e);
  }
  if (total != out.size()) return Error(ErrorCode::kCorrupt, "image block: segments do not match the block size");
  BinaryDecoder dec(in.data() + pos, in.size() - pos);
  SIBYL_RETURN_IF_ERROR(code_segments(config, dec, entries, nullptr, out.data()));
  if (dec.overrun() || !dec.exhausted()) return Error(ErrorCode::kCorrupt, "image block: coded data has the wrong length");
  return Status::Ok();
}

}  // namespace sibyl::image
