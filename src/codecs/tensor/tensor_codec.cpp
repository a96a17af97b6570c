#include "codecs/tensor/tensor_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <unordered_map>

#include "codecs/tensor/float_bits.h"
#include "codecs/tensor/tensor_params.h"
#include "coder/binary_coder.h"
#include "common/bytes.h"
#include "common/checksum.h"
#include "common/fixed_math.h"
#include "common/zeroed_buffer.h"
#include "model/adaptive_prob.h"
#include "model/mixer.h"

namespace sibyl::tensor {

namespace {

// ---- counters -------------------------------------------------------------

// Adaptive probability kept as p ^ 0x8000, so zeroed memory means p = 1/2;
// the update is AdaptiveProb's (adaptive rate 1/(n + 1.5), n capped).
struct Cnt {
  uint16_t q, n;
};
SIBYL_ALWAYS_INLINE int p16_of(const Cnt& c) { return c.q ^ 0x8000; }
SIBYL_ALWAYS_INLINE int st_of(const Cnt& c) { return stretch(p16_of(c) >> 4); }
SIBYL_ALWAYS_INLINE void learn(Cnt& c, int bit, int limit) {
  int p = p16_of(c);
  const int target = bit ? 65535 : 0;
  p += ((target - p) * static_cast<int>(detail::kRateTable[c.n])) >> 15;
  c.q = static_cast<uint16_t>(p ^ 0x8000);
  if (c.n < limit) ++c.n;
}
SIBYL_ALWAYS_INLINE uint32_t clamp16(int p) {
  return static_cast<uint32_t>(std::clamp(p, kProbFloor, 65536 - kProbFloor));
}

template <class T>
class Table {
 public:
  explicit Table(size_t n) : buf_(n * sizeof(T)), p_(buf_.as<T>()) {}
  T& operator[](size_t i) { return p_[i]; }

 private:
  ZeroedBuffer buf_;
  T* p_;
};

// ---- raw bits: low mantissa bits, stored as they are -----------------------

class RawWriter {
 public:
  explicit RawWriter(std::vector<uint8_t>& out) : out_(out) {}
  // Appends the low n (<= 32) bits of v; returns v.
  SIBYL_ALWAYS_INLINE uint64_t bits(uint64_t v, int n) {
    acc_ |= (v & ((uint64_t(1) << n) - 1)) << fill_;
    fill_ += n;
    while (fill_ >= 8) {
      out_.push_back(static_cast<uint8_t>(acc_));
      acc_ >>= 8;
      fill_ -= 8;
    }
    return v;
  }
  void flush() {
    if (fill_ > 0) out_.push_back(static_cast<uint8_t>(acc_));
    acc_ = 0;
    fill_ = 0;
  }

 private:
  std::vector<uint8_t>& out_;
  uint64_t acc_ = 0;
  int fill_ = 0;
};

class RawReader {
 public:
  RawReader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  SIBYL_ALWAYS_INLINE uint64_t bits(uint64_t /*v*/, int n) {
    while (fill_ < n) {
      uint64_t b = 0;
      if (p_ < end_) {
        b = *p_++;
      } else {
        overrun_ = true;
      }
      acc_ |= b << fill_;
      fill_ += 8;
    }
    const uint64_t v = acc_ & ((uint64_t(1) << n) - 1);
    acc_ >>= n;
    fill_ -= n;
    return v;
  }
  // A valid stream is read exactly: no byte left over, nothing read past the end.
  bool exact() const { return !overrun_ && p_ == end_; }
  bool overrun() const { return overrun_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  uint64_t acc_ = 0;
  int fill_ = 0;
  bool overrun_ = false;
};

// ---- element formats -------------------------------------------------------

struct Format {
  int width = 0;     // bits per element
  bool is_float = false;
  bool is_signed = false;
  int ebits = 0;     // float exponent bits
  int mbits = 0;     // float mantissa bits
  int esc_bits = 0;  // bits of an escaped exponent (integers: bit length)
  int top = 0;       // modelled high mantissa bits
};

Format format_of(DType t, const TensorConfig& c) {
  Format f;
  switch (t) {
    case DType::kF32: f = {32, true, true, 8, 23, 8, c.top_f32}; break;
    case DType::kF16: f = {16, true, true, 5, 10, 5, c.top_f16}; break;
    case DType::kBF16: f = {16, true, true, 8, 7, 8, c.top_bf16}; break;
    case DType::kF64: f = {64, true, true, 11, 52, 11, c.top_f64}; break;
    case DType::kI8: f = {8, false, true, 0, 0, 4, c.top_int}; break;
    case DType::kU8: f = {8, false, false, 0, 0, 4, c.top_int}; break;
    case DType::kI16: f = {16, false, true, 0, 0, 5, c.top_int}; break;
    case DType::kU16: f = {16, false, false, 0, 0, 5, c.top_int}; break;
    case DType::kI32: f = {32, false, true, 0, 0, 6, c.top_int}; break;
    case DType::kU32: f = {32, false, false, 0, 0, 6, c.top_int}; break;
    default: break;
  }
  if (f.is_float) f.top = std::min(f.top, f.mbits);
  return f;
}

// Largest exponent field (floats) or bit length (integers) an element can have.
int max_exponent(const Format& f) { return f.is_float ? (1 << f.ebits) - 1 : f.width; }

// The split of one element into the coded fields.
struct Fields {
  int e;          // exponent field (floats) or bit length of |v| (integers)
  int s;          // sign
  uint64_t mant;  // mantissa (floats) or |v| below its leading one (integers)
  int mbits;      // bits in mant
};

SIBYL_ALWAYS_INLINE int bit_length(uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

SIBYL_ALWAYS_INLINE Fields split(const Format& f, uint64_t u) {
  Fields x;
  if (f.is_float) {
    x.s = static_cast<int>(u >> (f.width - 1)) & 1;
    x.e = static_cast<int>((u >> f.mbits) & ((uint64_t(1) << f.ebits) - 1));
    x.mant = u & ((uint64_t(1) << f.mbits) - 1);
    x.mbits = f.mbits;
    return x;
  }
  uint64_t mag = u;
  x.s = 0;
  if (f.is_signed && ((u >> (f.width - 1)) & 1)) {
    x.s = 1;
    mag = (~u + 1) & (f.width == 64 ? ~uint64_t(0) : (uint64_t(1) << f.width) - 1);
  }
  x.e = bit_length(mag);
  x.mbits = x.e > 0 ? x.e - 1 : 0;
  x.mant = x.e > 0 ? mag - (uint64_t(1) << x.mbits) : 0;
  return x;
}

SIBYL_ALWAYS_INLINE uint64_t join(const Format& f, const Fields& x) {
  if (f.is_float)
    return (static_cast<uint64_t>(x.s) << (f.width - 1)) | (static_cast<uint64_t>(x.e) << f.mbits) | x.mant;
  const uint64_t mag = x.e > 0 ? (uint64_t(1) << x.mbits) | x.mant : 0;
  const uint64_t mask = (uint64_t(1) << f.width) - 1;  // width <= 32 for integers
  return (x.s ? ~mag + 1 : mag) & mask;
}

// ---- the model of one element type -----------------------------------------

constexpr int kTopNodes = 256;  // mantissa trees of up to 8 bits
// Exponent tables: two neighbour symbols times the tree's nodes.
constexpr size_t kExpContexts = size_t(kSymbols) * kSymbols * kSymbols;
constexpr int kSB = kSymbolBits;

struct NumModel {
  // order0: also an exponent counter per tree node alone (the residuals of
  // codec 3: close to independent, where it learns fastest).
  NumModel(const Format& f, bool order0_input)
      : exp_ctx{Table<Cnt>(kExpContexts), Table<Cnt>(kExpContexts), Table<Cnt>(kExpContexts)},
        exp0(kSymbols),
        order0(order0_input),
        esc(size_t(1) << f.esc_bits),
        sign(4 * kSymbols),
        mant(kSymbols * kSymbols * kTopNodes),
        exp_mix(kExpSets, kMixerInitialWeight, kMixerRate) {}

  static constexpr int kExpSets[1] = {kSymbols};
  Table<Cnt> exp_ctx[3];
  Table<Cnt> exp0;
  bool order0;
  Table<Cnt> esc;
  Table<Cnt> sign;
  Table<Cnt> mant;
  Mixer<5, 1> exp_mix;
};

// Memory of one NumModel (tables; the mixers' weights are small).
constexpr uint64_t kNumModelBytes =
    sizeof(Cnt) * (3 * kExpContexts + (1u << 11) + 4 * kSymbols + kSymbols * kSymbols * kTopNodes) + kSymbols * 8 * 2 +
    4096;  // (the 16 counters of the order-0 exponent input fit in the 4096 spare bytes)
constexpr uint64_t kRowStateBytes = uint64_t(kMaxRow) * 4;
constexpr uint64_t kByteModelBytes = sizeof(Cnt) * 256 * 256;
// Part of the format (doc/format.md): fixed numbers, not sizeof() of
// structures that differ between platforms.
constexpr uint64_t kSegmentTableBytes = kMaxSegments * 36;  // a segment and its exponent base

// ---- element helpers ---------------------------------------------------------

SIBYL_ALWAYS_INLINE uint64_t load_le(const uint8_t* p, int n) {
  uint64_t u = 0;
  for (int b = n - 1; b >= 0; --b) u = (u << 8) | p[b];
  return u;
}
SIBYL_ALWAYS_INLINE void store_le(uint8_t* p, uint64_t u, int n) {
  for (int b = 0; b < n; ++b) p[b] = static_cast<uint8_t>(u >> (8 * b));
}
SIBYL_ALWAYS_INLINE int symbol_of(int e, int emax) { return e > emax || emax - e >= kEscape ? kEscape : emax - e; }

// The value of a float element (f32, f16, bf16, f64) as a double (exact).
double value_of(DType t, uint64_t u) {
  switch (t) {
    case DType::kF32: return float_of_bits(static_cast<uint32_t>(u));
    case DType::kF16: return f16_to_float(static_cast<uint16_t>(u));
    case DType::kBF16: return bf16_to_float(static_cast<uint16_t>(u));
    default: return double_of_bits(u);
  }
}

// The bits of the element type nearest to q * step.
uint64_t dequantize(DType t, int64_t q, double step) {
  const double v = static_cast<double>(q) * step;
  switch (t) {
    case DType::kF32: return bits_of_float(narrow_to_float(v));
    case DType::kF16: return float_to_f16(narrow_to_float(v));
    case DType::kBF16: return float_to_bf16(narrow_to_float(v));
    default: return bits_of_double(v);
  }
}

// The bits of the element type nearest to the float v (a sum of centres),
// clamped to the type's finite range: a sum just past the largest value of
// f16 or bf16 decodes to it, not to infinity.
uint64_t float_bits_as(DType t, float v) {
  constexpr float kF16Max = 65504.0f, kBF16Max = 3.38953139e38f;
  switch (t) {
    case DType::kF32: return bits_of_float(v);
    case DType::kF16: return float_to_f16(std::clamp(v, -kF16Max, kF16Max));
    case DType::kBF16: return float_to_bf16(std::clamp(v, -kBF16Max, kBF16Max));
    default: return bits_of_double(static_cast<double>(v));
  }
}

// log2 of the grid spacing of the element type's values around the float
// with bits u (one unit in the last place; subnormals share the smallest
// normal's).
int grid_log2(const Format& f, uint64_t u) {
  int e = static_cast<int>((u >> f.mbits) & ((uint64_t(1) << f.ebits) - 1));
  if (e == 0) e = 1;
  const int bias = (1 << (f.ebits - 1)) - 1;
  return e - bias - f.mbits;
}

// The k with step/4 <= 2^k < step/2 (exactly, from the step's binary
// exponent): a grid of spacing 2^k is in zone 1, 2^(k+1) in zone 2.
int grid_zone1(double step) {
  int p = 0;
  const double m = std::frexp(step, &p);  // step = m * 2^p, 0.5 <= m < 1
  return m == 0.5 ? p - 3 : p - 2;
}

// Grid zone of a decoded value d (version 2): 0 when its grid spacing s is
// outside [step/4, step), else 1 (s < step/2) or 2; `zone1` is
// grid_zone1(step). There, rounding Q*step to the type can land a grid step
// beyond the bound, and no code reaches the value: the coder then says
// whether d moves one grid step and which way.
int grid_zone(const Format& f, uint64_t d, int zone1) {
  const int k = grid_log2(f, d);
  return k == zone1 ? 1 : k == zone1 + 1 ? 2 : 0;
}

// The neighbour of the float with bits u one grid step up (dir > 0) or down
// in value; zeros of both signs step to the smallest subnormals.
uint64_t grid_neighbour(const Format& f, uint64_t u, int dir) {
  const uint64_t sign = uint64_t(1) << (f.width - 1);
  const uint64_t mag = u & (sign - 1);
  const bool negative = (u & sign) != 0;
  if (mag == 0) return dir > 0 ? 1 : (sign | 1);
  const bool away = (dir > 0) != negative;  // away from zero: a larger magnitude
  return (u & sign) | (away ? mag + 1 : mag - 1);
}

bool is_float_type(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16 || t == DType::kF64; }

// Predictors of a quantised segment (stored in the segment table).
// kPredictAnchor (version 2): the same channel of the first token of the
// token's group (KV caches, as in CacheGen); 0 for the anchor itself.
constexpr int kPredictNone = 0, kPredictLeft = 1, kPredictAbove = 2, kPredictAnchor = 3;
// Segment type of an exact copy of an earlier segment (version 2).
constexpr uint8_t kCopyType = 11;

// How a float segment of codec 3 is quantised.
struct QuantInfo {
  bool on = false;
  double step = 0;          // quantiser step (twice the error bound)
  int predictor = kPredictNone;
  bool has_exact = false;   // some elements are stored exactly
  int emax = 0;             // largest bit length of a residual
  int emax_exact = 0;       // largest exponent of the exactly kept elements (has_exact)
  uint64_t group = 0;       // kPredictAnchor: tokens per group,
  uint64_t tokens = 0;      // tokens per head sequence,
  uint64_t t0 = 0;          // and the token of the segment's first row
  const int32_t* codes = nullptr;  // encoder only: Q per element
  const uint8_t* exact = nullptr;  // encoder only: 1 = stored exactly
  // Version 2: a decoded value whose grid is about as coarse as the step
  // may move one grid step (see grid_zone); the encoder's moves.
  bool grid_moves = false;
  const int8_t* moves = nullptr;
  // Vector quantisation (mode 2, version 2): `head` exact elements, then
  // `vectors` vectors of vq.dim elements, then exact elements to the end.
  bool vq_on = false;
  VqShape vq;
  uint64_t head = 0, vectors = 0;
  int emax_cb = 0;                       // largest exponent of the codebook values
  const float* codebook = nullptr;       // encoder only: stages x K x dim
  const uint16_t* vq_codes = nullptr;    // encoder only: vectors x stages
};

// ---- the block coder: one loop for both directions -------------------------

template <class Coder, class Raw>
class BlockCoder {
 public:
  BlockCoder(const TensorConfig& config, Coder& coder, Raw& raw)
      : config_(config), coder_(coder), raw_(raw), bytes_(256 * 256) {}

  // `data` is the input when encoding, the output when decoding. Returns
  // false when a decoder meets impossible values (corrupt payload).
  template <class Byte>
  bool code(const Segment& seg, int emax, const QuantInfo& q, Byte* data) {
    if (seg.dtype == DType::kBytes) return code_bytes(seg.count, data);
    const Format f = format_of(seg.dtype, config_);
    auto& m = models_[static_cast<size_t>(seg.dtype)];
    if (!m) m = std::make_unique<NumModel>(f, false);
    if (q.vq_on) return code_vectors(f, *m, seg, q, data);
    if (q.on) {
      auto& mq = quant_models_[static_cast<size_t>(seg.dtype)];
      if (!mq) mq = std::make_unique<NumModel>(format_of(DType::kI32, config_), true);
      return code_quantized(seg.dtype, f, *mq, *m, seg, q, data);
    }
    return code_numbers(f, *m, seg, emax, data);
  }

  bool overrun() const { return coder_.overrun() || raw_.overrun(); }

 private:
  template <class Byte>
  bool code_bytes(uint64_t n, Byte* data) {
    for (uint64_t i = 0; i < n; ++i) {
      if constexpr (Coder::kDecoding) {
        if ((i & 4095) == 0 && overrun()) return false;
      }
      const int in = Coder::kDecoding ? 0 : data[i];
      Cnt* t = &bytes_[static_cast<size_t>(prev_) << 8];
      int node = 1;
      for (int b = 7; b >= 0; --b) {
        const int bit = coder_.code((in >> b) & 1, clamp16(p16_of(t[node])));
        learn(t[node], bit, kByteLimit);
        node = node * 2 + bit;
      }
      prev_ = node & 255;
      if constexpr (Coder::kDecoding) data[i] = static_cast<uint8_t>(prev_);
    }
    return true;
  }

  // Per-column state of the rows of a segment.
  struct RowState {
    std::vector<uint8_t> sym, sign;
    std::vector<uint16_t> avg;
    void reset(uint64_t from, uint64_t to) {
      if (sym.size() < to) {
        sym.resize(to);
        sign.resize(to);
        avg.resize(to);
      }
      const auto a = static_cast<std::ptrdiff_t>(from), b = static_cast<std::ptrdiff_t>(to);
      std::fill(sym.begin() + a, sym.begin() + b, static_cast<uint8_t>(kEscape));
      std::fill(sign.begin() + a, sign.begin() + b, static_cast<uint8_t>(0));
      std::fill(avg.begin() + a, avg.begin() + b, static_cast<uint16_t>(kEscape << 8));
    }
  };

  // Row state for a segment: reset only the columns it visits (every column
  // is read before it is written, so the rest cannot matter): a hostile
  // table of many one-element segments with long rows costs no more than
  // its elements. Returns the first column.
  uint64_t start_rows(const Segment& seg, uint64_t* row, bool quantized, bool anchor = false) {
    *row = seg.row <= kMaxRow ? seg.row : 1;
    const uint64_t col = seg.row <= kMaxRow ? seg.col0 : 0;
    const uint64_t visits = std::min(*row, seg.count);
    auto reset = [&](uint64_t from, uint64_t to) {
      rows_.reset(from, to);
      if (quantized) {
        exact_rows_.reset(from, to);
        if (row_q_.size() < to) row_q_.resize(to);
        std::fill(row_q_.begin() + static_cast<std::ptrdiff_t>(from), row_q_.begin() + static_cast<std::ptrdiff_t>(to), 0);
        if (anchor) {  // (only predictor 3 has the anchor row: version 1 never allocates it)
          if (anchor_q_.size() < to) anchor_q_.resize(to);
          std::fill(anchor_q_.begin() + static_cast<std::ptrdiff_t>(from),
                    anchor_q_.begin() + static_cast<std::ptrdiff_t>(to), 0);
        }
      }
    };
    reset(col, std::min(*row, col + visits));
    if (col + visits > *row) reset(0, col + visits - *row);
    return col;
  }

  // Neighbour state shared by the elements of a segment.
  struct Neighbours {
    int left = kEscape, left_sign = 0;
  };

  // Codes one element's fields at column `col`: the encoder passes them in
  // `x` with their exponent symbol `sym`; the decoder gets them back (the
  // mantissa complete). Then moves the neighbour state on. False: corrupt.
  bool code_element(const Format& f, NumModel& m, int emax, uint64_t col, RowState& rs, Neighbours& nb, Fields& x,
                    int sym) {
    const int above = rs.sym[col];
    const int colq = (rs.avg[col] + 128) >> 8;

    // Exponent symbol: a kSymbolBits-bit tree, three contexts mixed.
    {
      Cnt* c0 = &m.exp_ctx[0][static_cast<size_t>((nb.left << kSB | above) << kSB)];
      Cnt* c1 = &m.exp_ctx[1][static_cast<size_t>((colq << kSB | above) << kSB)];
      Cnt* c2 = &m.exp_ctx[2][static_cast<size_t>((colq << kSB | nb.left) << kSB)];
      int node = 1;
      for (int b = kSB - 1; b >= 0; --b) {
        m.exp_mix.set_inputs8(static_cast<int16_t>(st_of(c0[node])), static_cast<int16_t>(st_of(c1[node])),
                              static_cast<int16_t>(st_of(c2[node])), 256,
                              m.order0 ? static_cast<int16_t>(st_of(m.exp0[static_cast<size_t>(node)])) : 0, 0, 0, 0);
        const int sel[1] = {node};
        const int pr = squash(m.exp_mix.mix(sel));
        const int bit = coder_.code((sym >> b) & 1, clamp16(pr * 16 + 8));
        m.exp_mix.update(bit);
        learn(c0[node], bit, kExpLimit);
        learn(c1[node], bit, kExpLimit);
        learn(c2[node], bit, kExpLimit);
        if (m.order0) learn(m.exp0[static_cast<size_t>(node)], bit, kExpLimit);
        node = node * 2 + bit;
      }
      sym = node - kSymbols;
    }
    int e = emax - sym;
    if (sym == kEscape) {
      int node = 1;
      for (int b = f.esc_bits - 1; b >= 0; --b) {
        const int bit = coder_.code((x.e >> b) & 1, clamp16(p16_of(m.esc[static_cast<size_t>(node)])));
        learn(m.esc[static_cast<size_t>(node)], bit, kExpLimit);
        node = node * 2 + bit;
      }
      e = node - (1 << f.esc_bits);
    }
    if constexpr (Coder::kDecoding) {
      if (e < 0 || e > max_exponent(f)) return false;
      x.e = e;
      x.mbits = f.is_float ? f.mbits : (e > 0 ? e - 1 : 0);
    }

    // Sign (integers: only of a non-zero value; unsigned: none).
    if (f.is_float || (f.is_signed && x.e > 0)) {
      Cnt& c = m.sign[static_cast<size_t>(((nb.left_sign << 1 | rs.sign[col]) << kSB) | sym)];
      x.s = coder_.code(x.s, clamp16(p16_of(c)));
      learn(c, x.s, kSignLimit);
    } else {
      x.s = 0;
    }

    // High mantissa bits: a tree under the exponent symbol and the column.
    const int k = std::min(f.top, x.mbits);
    const int low = x.mbits - k;
    uint64_t top = x.mant >> low;
    if (k > 0) {
      Cnt* c = &m.mant[static_cast<size_t>(colq << kSB | sym) * kTopNodes];
      int node = 1;
      for (int b = k - 1; b >= 0; --b) {
        const int bit = coder_.code(static_cast<int>(top >> b) & 1, clamp16(p16_of(c[node])));
        learn(c[node], bit, kMantLimit);
        node = node * 2 + bit;
      }
      top = static_cast<uint64_t>(node - (1 << k));
    }
    uint64_t rest = x.mant & ((uint64_t(1) << low) - 1);
    if (low > 32) {
      const uint64_t lo = raw_.bits(rest, 32);
      rest = lo | (raw_.bits(rest >> 32, low - 32) << 32);
    } else if (low > 0) {
      rest = raw_.bits(rest, low);
    }
    if constexpr (Coder::kDecoding) x.mant = (top << low) | rest;
    advance(col, rs, nb, sym, x.s);
    return true;
  }

  static void advance(uint64_t col, RowState& rs, Neighbours& nb, int sym, int sign) {
    nb.left = sym;
    nb.left_sign = sign;
    rs.sym[col] = static_cast<uint8_t>(sym);
    rs.sign[col] = static_cast<uint8_t>(sign);
    rs.avg[col] = static_cast<uint16_t>(rs.avg[col] + (((sym << 8) - rs.avg[col]) >> kColumnShift));
  }

  template <class Byte>
  bool code_numbers(const Format& f, NumModel& m, const Segment& seg, int emax, Byte* data) {
    const int es = f.width / 8;
    uint64_t row = 1;
    uint64_t col = start_rows(seg, &row, false);
    Neighbours nb;
    for (uint64_t i = 0; i < seg.count; ++i) {
      if constexpr (Coder::kDecoding) {
        if ((i & 4095) == 0 && overrun()) return false;
      }
      Byte* p = data + i * static_cast<uint64_t>(es);
      Fields x{};
      int sym = 0;
      if constexpr (!Coder::kDecoding) {
        x = split(f, load_le(p, es));
        sym = symbol_of(x.e, emax);
      }
      if (!code_element(f, m, emax, col, rows_, nb, x, sym)) return false;
      if constexpr (Coder::kDecoding) store_le(p, join(f, x), es);
      if (++col == row) col = 0;
    }
    return true;
  }

  // A quantised float segment (codec 3): integers Q = round(x / step) coded
  // as residuals from a predictor over earlier Q; elements the bound cannot
  // be met for keep their exact value, coded by the lossless field model
  // with its own row state. `q.codes`/`q.exact` are the encoder's.
  template <class Byte>
  bool code_quantized(DType t, const Format& f, NumModel& m, NumModel& mx, const Segment& seg, const QuantInfo& q,
                      Byte* data) {
    const int es = f.width / 8;
    const Format fr = format_of(DType::kI32, config_);
    uint64_t row = 1;
    uint64_t col = start_rows(seg, &row, true, q.predictor == kPredictAnchor);
    Neighbours nb, nbx;
    int64_t left_q = 0;
    int exact_prev = 0;
    const bool by_anchor = q.predictor == kPredictAnchor;
    uint64_t token = q.t0;
    const int zone1 = grid_zone1(q.step);
    for (uint64_t i = 0; i < seg.count; ++i) {
      if constexpr (Coder::kDecoding) {
        if ((i & 4095) == 0 && overrun()) return false;
      }
      Byte* p = data + i * static_cast<uint64_t>(es);
      const bool anchor = by_anchor && token % q.group == 0;
      const int64_t pred = q.predictor == kPredictLeft    ? left_q
                           : q.predictor == kPredictAbove ? row_q_[col]
                           : by_anchor && !anchor         ? anchor_q_[col]
                                                          : 0;
      int exact = 0;
      if (q.has_exact) {
        if constexpr (!Coder::kDecoding) exact = q.exact[i];
        Cnt& c = exact_[static_cast<size_t>(exact_prev << 1 | (rows_.sym[col] == kEscape ? 1 : 0))];
        exact = coder_.code(exact, clamp16(p16_of(c)));
        learn(c, exact, kExpLimit);
        exact_prev = exact;
      }
      int64_t qv = 0;
      if (exact) {
        Fields x{};
        int sym = 0;
        if constexpr (!Coder::kDecoding) {
          x = split(f, load_le(p, es));
          sym = symbol_of(x.e, q.emax_exact);
        }
        if (!code_element(f, mx, q.emax_exact, col, exact_rows_, nbx, x, sym)) return false;
        if constexpr (Coder::kDecoding) store_le(p, join(f, x), es);
        advance(col, rows_, nb, kEscape, 0);
      } else {
        Fields x{};
        int sym = 0;
        if constexpr (!Coder::kDecoding) {
          const int64_t r = static_cast<int64_t>(q.codes[i]) - pred;
          x = split(fr, static_cast<uint64_t>(r) & 0xffffffffu);
          sym = symbol_of(x.e, q.emax);
        }
        if (!code_element(fr, m, q.emax, col, rows_, nb, x, sym)) return false;
        const uint64_t mag = x.e > 0 ? (uint64_t(1) << x.mbits) | x.mant : 0;
        const int64_t r = x.s ? -static_cast<int64_t>(mag) : static_cast<int64_t>(mag);
        qv = pred + r;
        if constexpr (Coder::kDecoding) {
          if ((qv < 0 ? -qv : qv) >= kMaxQuantCode) return false;  // no encoder writes such a code
        }
        if (q.grid_moves || Coder::kDecoding) {
          uint64_t d = dequantize(t, qv, q.step);
          const int zone = q.grid_moves ? grid_zone(f, d, zone1) : 0;
          if (zone != 0) {
            const int move = Coder::kDecoding ? 0 : q.moves[i];
            Cnt& cm = moves_[static_cast<size_t>(zone - 1)];
            const int moved = coder_.code(move != 0, clamp16(p16_of(cm)));
            learn(cm, moved, kExpLimit);
            if (moved) {
              // Mostly towards Q * step from d.
              Cnt& cd = moves_[static_cast<size_t>(2 + (static_cast<double>(qv) * q.step > value_of(t, d) ? 1 : 0))];
              const int up = coder_.code(move > 0, clamp16(p16_of(cd)));
              learn(cd, up, kExpLimit);
              d = grid_neighbour(f, d, up ? 1 : -1);
            }
          }
          if constexpr (Coder::kDecoding) store_le(p, d, es);
        }
      }
      left_q = qv;
      row_q_[col] = qv;
      if (anchor) anchor_q_[col] = qv;
      if (++col == row) {
        col = 0;
        if (++token == q.tokens) token = 0;
      }
    }
    return true;
  }

  // A vector-quantised float segment (codec 3, mode 2): the codebooks (as
  // f32 numbers, by the lossless model), the exact head, every vector's
  // stage indices (a binary tree per stage and position in the row), the
  // exact tail. The decoder writes each vector's reconstruction.
  template <class Byte>
  bool code_vectors(const Format& f, NumModel& m, const Segment& seg, const QuantInfo& q, Byte* data) {
    const int es = f.width / 8;
    const VqShape& vs = q.vq;
    const auto G = static_cast<uint64_t>(vs.dim), S = static_cast<uint64_t>(vs.stages);
    const uint64_t cb_values = S * static_cast<uint64_t>(vs.k) * G;
    auto& m32 = models_[static_cast<size_t>(DType::kF32)];
    if (!m32) m32 = std::make_unique<NumModel>(format_of(DType::kF32, config_), false);
    cb_bytes_.resize(static_cast<size_t>(cb_values * 4));
    cb_.resize(static_cast<size_t>(cb_values));
    if constexpr (!Coder::kDecoding) {
      for (uint64_t i = 0; i < cb_values; ++i) store_le(cb_bytes_.data() + 4 * i, bits_of_float(q.codebook[i]), 4);
    }
    const Segment cb_seg{DType::kF32, cb_values, G, 0, 0, 0};
    if (!code_numbers(format_of(DType::kF32, config_), *m32, cb_seg, q.emax_cb, cb_bytes_.data())) return false;
    for (uint64_t i = 0; i < cb_values; ++i)
      cb_[static_cast<size_t>(i)] = float_of_bits(static_cast<uint32_t>(load_le(cb_bytes_.data() + 4 * i, 4)));
    const uint64_t row = seg.row <= kMaxRow ? seg.row : 1;
    if (q.head > 0 && !code_numbers(f, m, Segment{seg.dtype, q.head, seg.row, seg.col0, 0, 0}, q.emax_exact, data))
      return false;
    if (vq_ctx_.empty()) vq_ctx_.assign(size_t(kVqMaxStages) * kVqPositions * kVqMaxK, Cnt{0, 0});
    const int bits = bit_length(static_cast<uint64_t>(vs.k - 1));
    uint16_t idx[kVqMaxStages] = {};
    float v[kVqMaxDim];
    const uint64_t first = seg.col0 % row + q.head;  // column (mod row) of the first vector's first element
    for (uint64_t j = 0; j < q.vectors; ++j) {
      if constexpr (Coder::kDecoding) {
        if ((j & 1023) == 0 && overrun()) return false;
      }
      const uint64_t pos = std::min<uint64_t>(((first + j * G) % row) / G, kVqPositions - 1);
      for (uint64_t st = 0; st < S; ++st) {
        Cnt* c = &vq_ctx_[static_cast<size_t>((st * kVqPositions + pos) * kVqMaxK)];
        const int in = Coder::kDecoding ? 0 : q.vq_codes[j * S + st];
        int node = 1;
        for (int b = bits - 1; b >= 0; --b) {
          const int bit = coder_.code((in >> b) & 1, clamp16(p16_of(c[node])));
          learn(c[node], bit, kMantLimit);
          node = node * 2 + bit;
        }
        const int got = node - (1 << bits);
        if (got >= vs.k) return false;  // no encoder writes such an index
        idx[st] = static_cast<uint16_t>(got);
      }
      if constexpr (Coder::kDecoding) {
        vq_reconstruct(vs, cb_.data(), idx, v);
        Byte* p = data + (q.head + j * G) * static_cast<uint64_t>(es);
        for (uint64_t d = 0; d < G; ++d) store_le(p + d * static_cast<uint64_t>(es), float_bits_as(seg.dtype, v[d]), es);
      }
    }
    const uint64_t done = q.head + q.vectors * G;
    if (done < seg.count &&
        !code_numbers(f, m, Segment{seg.dtype, seg.count - done, seg.row, (seg.col0 + done) % seg.row, 0, 0},
                      q.emax_exact, data + done * static_cast<uint64_t>(es)))
      return false;
    return true;
  }

  const TensorConfig& config_;
  Coder& coder_;
  Raw& raw_;
  std::unique_ptr<NumModel> models_[kDTypeCount];
  std::unique_ptr<NumModel> quant_models_[kDTypeCount];
  Table<Cnt> bytes_;
  int prev_ = 0;
  RowState rows_, exact_rows_;
  std::vector<int64_t> row_q_, anchor_q_;
  Table<Cnt> exact_{4};
  Table<Cnt> moves_{4};            // grid moves: moved (by zone), up (by side of Q * step)
  std::vector<uint8_t> cb_bytes_;  // vector quantisation: the codebook as coded,
  std::vector<float> cb_;          // as floats,
  std::vector<Cnt> vq_ctx_;        // and the index model (allocated on first use)
};

// ---- segment table ---------------------------------------------------------


// Largest exponent (floats: of a finite value) or bit length in a segment.
int segment_emax(const Format& f, const uint8_t* data, uint64_t count) {
  const int es = f.width / 8;
  int emax = 0;
  const int inf = f.is_float ? (1 << f.ebits) - 1 : -1;
  for (uint64_t i = 0; i < count; ++i) {
    const int e = split(f, load_le(data + i * static_cast<uint64_t>(es), es)).e;
    if (e != inf) emax = std::max(emax, e);
  }
  return emax;
}

// Encoder only: quantises a float segment within the bound, choosing the
// predictor that makes the residuals shortest. Writes the reconstruction
// of every element it quantises into `recon` (elements it cannot quantise
// within the bound keep their bytes there and are stored exactly). False:
// the segment stays lossless (no positive finite step).
// The prediction of code i of a segment under an anchor group: 0 for an
// anchor token and before the segment reaches the anchor, else the code of
// the same channel in the anchor token's row. As the coder's state.
int64_t anchor_prediction(const std::vector<int32_t>& codes, uint64_t i, const Segment& seg, uint64_t row, uint64_t group) {
  const uint64_t r = (seg.col0 + i) / row;
  const uint64_t d = ((seg.t0 + r) % seg.tokens) % group;
  return d != 0 && i >= d * row ? codes[i - d * row] : 0;
}

// `v2`: version-2 coding (the anchor predictor for KV-cache segments, grid
// moves).
bool plan_quantized(DType t, const Format& f, const uint8_t* data, const Segment& seg, const ErrorBound& bound,
                    bool v2, std::vector<int32_t>& codes, std::vector<uint8_t>& exact, std::vector<int8_t>& moves,
                    uint8_t* recon, QuantInfo* q) {
  const int es = f.width / 8;
  const uint64_t n = seg.count;
  double max_abs = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const double v = value_of(t, load_le(data + i * static_cast<uint64_t>(es), es));
    if (std::isfinite(v)) max_abs = std::max(max_abs, std::fabs(v));
  }
  const double e = bound.mode == ErrorBound::kAbsolute ? bound.bound : bound.bound * max_abs;
  const double step = 2 * e;
  if (!(e > 0) || !std::isfinite(step)) return false;
  codes.assign(n, 0);
  exact.assign(n, 0);
  const bool grid_moves = v2;
  if (grid_moves) moves.assign(n, 0);
  bool any_exact = false;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t off = i * static_cast<uint64_t>(es);
    const double v = value_of(t, load_le(data + off, es));
    bool ok = false;
    int64_t qv = 0;
    if (std::isfinite(v) && std::fabs(v / step) < static_cast<double>(kMaxQuantCode)) {
      // The nearest code first; when rounding its value to the element
      // type (f16/bf16 grids about as fine as the step) lands beyond the
      // bound, the code on the other side of v, then the one beyond the
      // nearest: the decoder decodes whatever code it is given.
      const double r = v / step;
      const int64_t q0 = std::llround(r);
      const int64_t other = static_cast<double>(q0) > r ? q0 - 1 : q0 + 1;
      for (const int64_t cand : {q0, other, q0 + (q0 - other)}) {
        // |Q| < 2^30 after rounding too, so residuals of two codes stay
        // within (-2^31, 2^31).
        if ((cand < 0 ? -cand : cand) >= kMaxQuantCode) continue;
        const uint64_t back = dequantize(t, cand, step);
        if (std::fabs(v - value_of(t, back)) <= e) {
          ok = true;
          qv = cand;
          store_le(recon + off, back, es);
          break;
        }
      }
      // Version 2: the nearest codes' values moved one grid step.
      for (const int64_t cand : {q0, other}) {
        if (ok || !grid_moves || (cand < 0 ? -cand : cand) >= kMaxQuantCode) continue;
        const uint64_t back = dequantize(t, cand, step);
        if (grid_zone(f, back, grid_zone1(step)) == 0) continue;
        for (const int dir : {1, -1}) {
          const uint64_t moved = grid_neighbour(f, back, dir);
          if (std::fabs(v - value_of(t, moved)) <= e) {
            ok = true;
            qv = cand;
            moves[i] = static_cast<int8_t>(dir);
            store_le(recon + off, moved, es);
            break;
          }
        }
      }
    }
    if (!ok) {
      exact[i] = 1;
      any_exact = true;
      qv = 0;
    }
    codes[i] = static_cast<int32_t>(qv);
  }
  // The coder's neighbours: the previous element, and the element one row
  // back when the segment has reached it (0 before, as the reset state).
  const uint64_t row = seg.row <= kMaxRow ? seg.row : 1;
  uint64_t cost[3] = {0, 0, 0};
  for (uint64_t i = 0; i < n; ++i) {
    if (exact[i]) continue;
    const int64_t preds[3] = {0, i > 0 ? codes[i - 1] : 0, i >= row ? codes[i - row] : 0};
    for (int p = 0; p < 3; ++p) {
      const int64_t r = codes[i] - preds[p];
      cost[p] += static_cast<uint64_t>(bit_length(static_cast<uint64_t>(r < 0 ? -r : r)));
    }
  }
  q->predictor = kPredictNone;
  for (int p = 1; p < 3; ++p)
    if (cost[p] < cost[q->predictor]) q->predictor = p;
  if (v2 && seg.tokens >= 2 && seg.row <= kMaxRow) {
    uint64_t best = cost[q->predictor];
    for (const uint64_t g : kAnchorGroups) {
      uint64_t c = 0;
      for (uint64_t i = 0; i < n; ++i) {
        if (exact[i]) continue;
        const int64_t r = codes[i] - anchor_prediction(codes, i, seg, row, g);
        c += static_cast<uint64_t>(bit_length(static_cast<uint64_t>(r < 0 ? -r : r)));
      }
      if (c < best) {
        best = c;
        q->predictor = kPredictAnchor;
        q->group = g;
        q->tokens = seg.tokens;
        q->t0 = seg.t0;
      }
    }
  }
  int emax = 0;
  uint64_t sum = 0, count = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (exact[i]) continue;
    const int64_t pred = q->predictor == kPredictLeft    ? (i > 0 ? codes[i - 1] : 0)
                         : q->predictor == kPredictAbove ? (i >= row ? codes[i - row] : 0)
                         : q->predictor == kPredictAnchor ? anchor_prediction(codes, i, seg, row, q->group)
                                                          : 0;
    const int64_t r = codes[i] - pred;
    const uint64_t mag = static_cast<uint64_t>(r < 0 ? -r : r);
    emax = std::max(emax, bit_length(mag));
    sum += mag;
    ++count;
  }
  // Symbols count down from a few octaves above the mean magnitude, not
  // from the largest (an outlier): tensors then share their statistics.
  if (count > 0) emax = std::min(emax, bit_length(sum / count) + kOctavesAboveMean);
  q->on = true;
  q->step = step;
  q->has_exact = any_exact;
  q->emax_exact = any_exact ? segment_emax(f, data, n) : 0;
  q->emax = emax;
  q->codes = codes.data();
  q->exact = exact.data();
  q->grid_moves = grid_moves;
  q->moves = grid_moves ? moves.data() : nullptr;
  return true;
}

// Encoder only: vector-quantises a float segment: exact elements up to the
// first vector boundary of a row (rows a multiple of the vector length), as
// many whole vectors as follow, exact elements after them. Writes the
// reconstruction into `recon`. False: the segment stays lossless (too few
// vectors to pay for the codebooks, or values k-means cannot handle).
bool plan_vectors(DType t, const Format& f, const uint8_t* data, const Segment& seg, const VqShape& shape,
                  std::vector<float>& books, std::vector<uint16_t>& codes, uint8_t* recon, QuantInfo* q) {
  if (!vq_shape_valid(shape)) return false;
  const int es = f.width / 8;
  const auto G = static_cast<uint64_t>(shape.dim);
  const uint64_t row = seg.row <= kMaxRow ? seg.row : 1;
  const uint64_t head = row % G == 0 ? (G - seg.col0 % row % G) % G : 0;
  if (head > seg.count) return false;
  const uint64_t n = (seg.count - head) / G;
  if (n < kVqMinVectorsPerCentre * static_cast<uint64_t>(shape.k)) return false;
  std::vector<float> x(static_cast<size_t>(n * G));
  for (uint64_t i = 0; i < n * G; ++i) {
    const double v = value_of(t, load_le(data + (head + i) * static_cast<uint64_t>(es), es));
    // Squared distances of such values stay far inside the float range.
    if (!std::isfinite(v) || std::fabs(v) > 1e15) return false;
    x[static_cast<size_t>(i)] = static_cast<float>(v);
  }
  vq_train(shape, x.data(), static_cast<size_t>(n), &books, &codes);
  float v[kVqMaxDim];
  for (uint64_t j = 0; j < n; ++j) {
    vq_reconstruct(shape, books.data(), codes.data() + j * static_cast<uint64_t>(shape.stages), v);
    uint8_t* p = recon + (head + j * G) * static_cast<uint64_t>(es);
    for (uint64_t d = 0; d < G; ++d) store_le(p + d * static_cast<uint64_t>(es), float_bits_as(t, v[d]), es);
  }
  // Exponent bases of the codebook values and of the exact elements.
  std::vector<uint8_t> cb(books.size() * 4);
  for (size_t i = 0; i < books.size(); ++i) store_le(cb.data() + 4 * i, bits_of_float(books[i]), 4);
  q->emax_cb = segment_emax(format_of(DType::kF32, TensorConfig{}), cb.data(), books.size());
  const uint64_t done = head + n * G;
  q->emax_exact = std::max(segment_emax(f, data, head),
                           segment_emax(f, data + done * static_cast<uint64_t>(es), seg.count - done));
  q->vq_on = true;
  q->vq = shape;
  q->head = head;
  q->vectors = n;
  q->codebook = books.data();
  q->vq_codes = codes.data();
  return true;
}

// The error of the elements a lossy block approximated, in element order:
// quantised elements not kept exactly (mode 1), the vectors (mode 2), and
// copies of either.
LossyStats measure_error(std::span<const Segment> segments, std::span<const uint8_t> in,
                         const std::vector<uint8_t>& decoded, const std::vector<QuantInfo>& quant,
                         const std::vector<std::vector<uint8_t>>& exact, const std::vector<int64_t>& copy_of) {
  LossyStats st;
  uint64_t pos = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    const uint64_t es = static_cast<uint64_t>(dtype_size(s.dtype));
    const size_t src = copy_of[i] >= 0 ? static_cast<size_t>(copy_of[i]) : i;
    const QuantInfo& q = quant[src];
    if (q.on || q.vq_on) {
      const uint64_t from = q.vq_on ? q.head : 0;
      const uint64_t to = q.vq_on ? q.head + q.vectors * static_cast<uint64_t>(q.vq.dim) : s.count;
      for (uint64_t k = from; k < to; ++k) {
        if (q.on && q.has_exact && exact[src][static_cast<size_t>(k)]) continue;  // kept exactly
        const uint64_t off = pos + k * es;
        const double a = value_of(s.dtype, load_le(in.data() + off, static_cast<int>(es)));
        const double b = value_of(s.dtype, load_le(decoded.data() + off, static_cast<int>(es)));
        const double e = std::fabs(b - a);
        ++st.elements;
        st.max_abs_error = std::max(st.max_abs_error, e);
        st.sum_sq_error += e * e;
        st.sum_sq_value += a * a;
      }
    }
    pos += s.count * es;
  }
  return st;
}

}  // namespace

std::vector<uint8_t> TensorConfig::serialize() const { return {version, top_f32, top_f16, top_bf16, top_f64, top_int}; }

Status TensorConfig::parse(std::span<const uint8_t> params, TensorConfig* out) {
  if (params.size() != 6) return Error(ErrorCode::kBadParameters, "tensor codec: parameters have the wrong size");
  TensorConfig c;
  c.version = params[0];
  if (c.version < 1 || c.version > kVersion) return Error(ErrorCode::kBadParameters, "tensor codec: unknown version");
  c.top_f32 = params[1];
  c.top_f16 = params[2];
  c.top_bf16 = params[3];
  c.top_f64 = params[4];
  c.top_int = params[5];
  for (int i = 1; i < 6; ++i)
    if (params[static_cast<size_t>(i)] > 8) return Error(ErrorCode::kBadParameters, "tensor codec: mantissa bits out of range");
  *out = c;
  return Status::Ok();
}

uint64_t TensorConfig::memory_bytes(bool lossy) const {
  const uint64_t lossless = kNumModelBytes * (kDTypeCount - 1) + kRowStateBytes + kByteModelBytes + kSegmentTableBytes;
  // Codec 3 adds a residual model per float type, the quantised row
  // (8 bytes per column), the row state of exactly kept elements and the
  // segments' quantiser settings.
  // Version 2 adds the anchor tokens' row (8 bytes per column) and vector
  // quantisation: the codebook as coded and as floats (4 + 4 bytes per
  // value) and the index model (4 stages x 64 positions x 1024 nodes).
  const uint64_t anchor_row =
      version >= 2 ? uint64_t(kMaxRow) * 8 + kVqMaxCodebook * 8 + uint64_t(kVqMaxStages) * kVqPositions * kVqMaxK * 4 : 0;
  return lossy ? lossless + 4 * kNumModelBytes + uint64_t(kMaxRow) * 8 + anchor_row + kRowStateBytes + kMaxSegments * 48
               : lossless;
}

Status tensor_encode(const TensorConfig& config, std::span<const Segment> segments, std::span<const uint8_t> in,
                     std::vector<uint8_t>& out, const ErrorBound* bound, std::vector<uint8_t>* decoded,
                     LossyStats* stats) {
  uint64_t total = 0;
  for (const Segment& s : segments) total += s.count * static_cast<uint64_t>(dtype_size(s.dtype));
  if (total != in.size()) return Error(ErrorCode::kInternal, "tensor codec: segments do not cover the block");
  if (segments.size() > kMaxSegments) return Error(ErrorCode::kInternal, "tensor codec: too many segments");
  const bool lossy = bound != nullptr;
  if (lossy && decoded == nullptr) return Error(ErrorCode::kInternal, "tensor codec: lossy coding needs an output");
  if (lossy) decoded->assign(in.begin(), in.end());
  out.clear();
  std::vector<int> emax(segments.size(), 0);
  std::vector<QuantInfo> quant(segments.size());
  std::vector<std::vector<int32_t>> codes(segments.size());
  std::vector<std::vector<uint8_t>> exact(segments.size());
  std::vector<std::vector<int8_t>> moves(segments.size());
  std::vector<std::vector<float>> vq_books(segments.size());
  std::vector<std::vector<uint16_t>> vq_codes(segments.size());
  const bool v2 = config.version >= 2;
  // Exact copies: a number segment equal to an earlier one of the block
  // (tied or duplicated tensors) becomes a reference to the first of them.
  std::vector<int64_t> copy_of(segments.size(), -1);
  std::unordered_map<uint64_t, size_t> first_with_hash;
  std::vector<uint64_t> seg_start(segments.size(), 0);
  for (size_t i = 1; i < segments.size(); ++i)
    seg_start[i] = seg_start[i - 1] + segments[i - 1].count * static_cast<uint64_t>(dtype_size(segments[i - 1].dtype));
  put_varint(out, segments.size());
  uint64_t pos = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    const uint64_t seg_bytes = s.count * static_cast<uint64_t>(dtype_size(s.dtype));
    if (v2 && s.dtype != DType::kBytes && seg_bytes >= kMinCopyBytes) {
      const uint64_t h = xxh64(in.data() + pos, static_cast<size_t>(seg_bytes)) ^ seg_bytes ^
                         (static_cast<uint64_t>(s.dtype) << 56);
      const auto [it, fresh] = first_with_hash.emplace(h, i);
      if (!fresh) {
        const uint64_t at = seg_start[it->second];
        const uint64_t src_bytes = segments[it->second].count * static_cast<uint64_t>(dtype_size(segments[it->second].dtype));
        // The same element type too: in lossy coding a copy decodes to its
        // source's approximation, which must be one of its own type (an
        // integer tensor with a float tensor's bytes stays exact).
        if (segments[it->second].dtype == s.dtype && src_bytes == seg_bytes &&
            std::memcmp(in.data() + at, in.data() + pos, static_cast<size_t>(seg_bytes)) == 0) {
          copy_of[i] = static_cast<int64_t>(it->second);
          out.push_back(kCopyType);
          put_varint(out, seg_bytes);
          put_varint(out, it->second);
          // What the copy decodes to is what its source decodes to.
          if (lossy) std::memcpy(decoded->data() + pos, decoded->data() + at, static_cast<size_t>(seg_bytes));
          pos += seg_bytes;
          continue;
        }
      }
    }
    out.push_back(static_cast<uint8_t>(s.dtype));
    put_varint(out, s.count);
    if (s.dtype != DType::kBytes) {
      const Format f = format_of(s.dtype, config);
      put_varint(out, s.row);
      put_varint(out, s.col0);
      QuantInfo& q = quant[i];
      const bool vectors = lossy && bound->mode == ErrorBound::kVectors;
      if (vectors && v2 && is_float_type(s.dtype) &&
          plan_vectors(s.dtype, f, in.data() + pos, s, bound->vq, vq_books[i], vq_codes[i], decoded->data() + pos, &q)) {
        out.push_back(2);
        put_varint(out, static_cast<uint64_t>(q.vq.dim));
        put_varint(out, static_cast<uint64_t>(q.vq.stages));
        put_varint(out, static_cast<uint64_t>(q.vq.k));
        put_varint(out, q.head);
        put_varint(out, q.vectors);
        put_varint(out, static_cast<uint64_t>(q.emax_cb));
        put_varint(out, static_cast<uint64_t>(q.emax_exact));
      } else if (lossy && !vectors && is_float_type(s.dtype) &&
                        plan_quantized(s.dtype, f, in.data() + pos, s, *bound, v2, codes[i], exact[i], moves[i],
                                decoded->data() + pos, &q)) {
        out.push_back(1);
        put_varint(out, static_cast<uint64_t>(q.emax));
        ByteWriter(out).u64(bits_of_double(q.step));
        out.push_back(static_cast<uint8_t>(q.predictor));
        out.push_back(q.has_exact ? 1 : 0);
        if (q.has_exact) put_varint(out, static_cast<uint64_t>(q.emax_exact));
        if (q.predictor == kPredictAnchor) {
          put_varint(out, q.group);
          put_varint(out, q.tokens);
          put_varint(out, q.t0);
        }
      } else {
        if (lossy) out.push_back(0);
        emax[i] = segment_emax(f, in.data() + pos, s.count);
        put_varint(out, static_cast<uint64_t>(emax[i]));
      }
    }
    pos += s.count * static_cast<uint64_t>(dtype_size(s.dtype));
  }
  std::vector<uint8_t> ac, raw;
  ac.reserve(in.size() / 2);
  raw.reserve(in.size() / 2);
  BinaryEncoder coder(ac);
  RawWriter bits(raw);
  BlockCoder<BinaryEncoder, RawWriter> bc(config, coder, bits);
  pos = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (copy_of[i] < 0) bc.code(segments[i], emax[i], quant[i], in.data() + pos);
    pos += segments[i].count * static_cast<uint64_t>(dtype_size(segments[i].dtype));
  }
  coder.flush();
  bits.flush();
  if (stats != nullptr) *stats = lossy ? measure_error(segments, in, *decoded, quant, exact, copy_of) : LossyStats{};
  put_varint(out, ac.size());
  out.insert(out.end(), ac.begin(), ac.end());
  out.insert(out.end(), raw.begin(), raw.end());
  return Status::Ok();
}

namespace {

// One entry of a segment table, as the decoder reads it.
struct TableEntry {
  Segment seg;
  int emax = 0;
  QuantInfo q;
  int64_t copy_of = -1;  // copy (version 2): the source segment
  uint64_t bytes = 0;    // bytes of the block the segment covers
};

// Reads and checks entry `i` of a segment table at *pos. `start` holds the
// block offsets of the entries before it (and gets the offset after it),
// so a copy's source size is known without keeping earlier entries.
bool read_entry(const TensorConfig& config, std::span<const uint8_t> in, size_t* pos, bool lossy, size_t i,
                uint64_t out_size, const std::vector<uint64_t>& start, TableEntry* t) {
  *t = TableEntry{};
  Segment& s = t->seg;
  if (*pos < in.size() && in[*pos] == kCopyType && config.version >= 2) {
    ++*pos;
    uint64_t src = 0;
    if (!get_varint(in, pos, &s.count) || !get_varint(in, pos, &src) || src >= i) return false;
    if (s.count == 0 || s.count != start[static_cast<size_t>(src) + 1] - start[static_cast<size_t>(src)]) return false;
    s.dtype = DType::kBytes;
    t->copy_of = static_cast<int64_t>(src);
    t->bytes = s.count;
    return true;
  }
  if (*pos >= in.size() || in[*pos] >= kDTypeCount) return false;
  s.dtype = static_cast<DType>(in[(*pos)++]);
  if (!get_varint(in, pos, &s.count) || s.count == 0 || s.count > out_size) return false;
  t->bytes = s.count * static_cast<uint64_t>(dtype_size(s.dtype));
  if (s.dtype == DType::kBytes) return true;
  if (!get_varint(in, pos, &s.row) || !get_varint(in, pos, &s.col0)) return false;
  if (s.row == 0 || s.col0 >= s.row) return false;
  const uint64_t max_e = static_cast<uint64_t>(max_exponent(format_of(s.dtype, config)));
  int mode = 0;
  if (lossy) {
    const int max_mode = config.version >= 2 ? 2 : 1;
    if (*pos >= in.size() || in[*pos] > max_mode) return false;
    mode = in[(*pos)++];
  }
  QuantInfo& q = t->q;
  if (mode == 2) {
    uint64_t g = 0, st = 0, k = 0, ecb = 0, ex = 0;
    if (!get_varint(in, pos, &g) || !get_varint(in, pos, &st) || !get_varint(in, pos, &k) ||
        !get_varint(in, pos, &q.head) || !get_varint(in, pos, &q.vectors) || !get_varint(in, pos, &ecb) ||
        !get_varint(in, pos, &ex))
      return false;
    if (!is_float_type(s.dtype) || g > kVqMaxDim || st > kVqMaxStages || k > kVqMaxK) return false;
    q.vq = VqShape{static_cast<int>(g), static_cast<int>(st), static_cast<int>(k)};
    if (!vq_shape_valid(q.vq) || q.vectors == 0 || q.head > s.count || q.vectors > (s.count - q.head) / g) return false;
    if (ecb > 255 || ex > max_e) return false;
    q.vq_on = true;
    q.emax_cb = static_cast<int>(ecb);
    q.emax_exact = static_cast<int>(ex);
    return true;
  }
  uint64_t e = 0;
  if (!get_varint(in, pos, &e)) return false;
  if (mode == 0) {
    if (e > max_e) return false;
    t->emax = static_cast<int>(e);
    return true;
  }
  if (!is_float_type(s.dtype) || e > 32 || in.size() - *pos < 10) return false;
  ByteReader r(in.data() + *pos, 10);
  q.step = double_of_bits(r.u64());
  q.predictor = r.u8();
  const uint8_t has_exact = r.u8();
  *pos += 10;
  const int max_predictor = config.version >= 2 ? kPredictAnchor : kPredictAbove;
  if (!(q.step > 0) || !std::isfinite(q.step) || q.predictor > max_predictor || has_exact > 1) return false;
  q.on = true;
  q.grid_moves = config.version >= 2;
  q.has_exact = has_exact != 0;
  q.emax = static_cast<int>(e);
  if (q.has_exact) {
    uint64_t ex = 0;
    if (!get_varint(in, pos, &ex) || ex > max_e) return false;
    q.emax_exact = static_cast<int>(ex);
  }
  if (q.predictor == kPredictAnchor) {
    if (!get_varint(in, pos, &q.group) || !get_varint(in, pos, &q.tokens) || !get_varint(in, pos, &q.t0)) return false;
    if (q.group < 2 || q.group > kMaxAnchorGroup || q.tokens < 2 || q.t0 >= q.tokens) return false;
  }
  return true;
}

}  // namespace

Status tensor_decode(const TensorConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out, bool lossy) {
  const Status corrupt = Error(ErrorCode::kCorrupt, "tensor codec: corrupt payload");
  size_t pos = 0;
  uint64_t nseg = 0;
  if (!get_varint(in, &pos, &nseg) || nseg > kMaxSegments || nseg > out.size()) return corrupt;
  // The table is read twice: once to check it and find every segment's
  // offset, once while decoding. The decoder keeps 8 bytes per segment.
  const size_t table = pos;
  std::vector<uint64_t> start(static_cast<size_t>(nseg) + 1, 0);
  TableEntry t;
  for (size_t i = 0; i < nseg; ++i) {
    if (!read_entry(config, in, &pos, lossy, i, out.size(), start, &t)) return corrupt;
    if (t.bytes > out.size() - start[i]) return corrupt;
    start[i + 1] = start[i] + t.bytes;
  }
  uint64_t ac_size = 0;
  if (start[static_cast<size_t>(nseg)] != out.size() || !get_varint(in, &pos, &ac_size) || ac_size > in.size() - pos)
    return corrupt;
  BinaryDecoder coder(in.data() + pos, static_cast<size_t>(ac_size));
  RawReader bits(in.data() + pos + ac_size, in.size() - pos - static_cast<size_t>(ac_size));
  BlockCoder<BinaryDecoder, RawReader> bc(config, coder, bits);
  size_t tpos = table;
  for (size_t i = 0; i < nseg; ++i) {
    read_entry(config, in, &tpos, lossy, i, out.size(), start, &t);  // checked above
    if (t.copy_of >= 0) {
      std::memcpy(out.data() + start[i], out.data() + start[static_cast<size_t>(t.copy_of)], static_cast<size_t>(t.bytes));
    } else if (!bc.code(t.seg, t.emax, t.q, out.data() + start[i])) {
      return corrupt;
    }
  }
  if (coder.overrun() || !bits.exact()) return corrupt;
  return Status::Ok();
}

}  // namespace sibyl::tensor
