#include "codecs/tensor/tensor_codec.h"

#include <algorithm>
#include <memory>
#include <new>

#include "codecs/tensor/tensor_params.h"
#include "coder/binary_coder.h"
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
  static constexpr bool kDecoding = false;
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
  static constexpr bool kDecoding = true;
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
  explicit NumModel(const Format& f)
      : exp_ctx{Table<Cnt>(kExpContexts), Table<Cnt>(kExpContexts), Table<Cnt>(kExpContexts)},
        esc(size_t(1) << f.esc_bits),
        sign(4 * kSymbols),
        mant(kSymbols * kSymbols * kTopNodes),
        exp_mix(kExpSets, kMixerInitialWeight, kMixerRate) {}

  static constexpr int kExpSets[1] = {kSymbols};
  Table<Cnt> exp_ctx[3];
  Table<Cnt> esc;
  Table<Cnt> sign;
  Table<Cnt> mant;
  Mixer<4, 1> exp_mix;
};

// Memory of one NumModel (tables; the mixers' weights are small).
constexpr uint64_t kNumModelBytes =
    sizeof(Cnt) * (3 * kExpContexts + (1u << 11) + 4 * kSymbols + kSymbols * kSymbols * kTopNodes) + kSymbols * 8 * 2 +
    4096;
constexpr uint64_t kRowStateBytes = uint64_t(kMaxRow) * 4;
constexpr uint64_t kByteModelBytes = sizeof(Cnt) * 256 * 256;
constexpr uint64_t kSegmentTableBytes = kMaxSegments * (sizeof(Segment) + sizeof(int));

// ---- the block coder: one loop for both directions -------------------------

template <class Coder, class Raw>
class BlockCoder {
 public:
  BlockCoder(const TensorConfig& config, Coder& coder, Raw& raw)
      : config_(config), coder_(coder), raw_(raw), bytes_(256 * 256) {}

  // `data` is the input when encoding, the output when decoding. Returns
  // false when a decoder meets impossible values (corrupt payload).
  template <class Byte>
  bool code(const Segment& seg, int emax, Byte* data) {
    if (seg.dtype == DType::kBytes) return code_bytes(seg.count, data);
    const Format f = format_of(seg.dtype, config_);
    auto& m = models_[static_cast<size_t>(seg.dtype)];
    if (!m) m = std::make_unique<NumModel>(f);
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

  template <class Byte>
  bool code_numbers(const Format& f, NumModel& m, const Segment& seg, int emax, Byte* data) {
    const int es = f.width / 8;
    const uint64_t row = seg.row <= kMaxRow ? seg.row : 1;
    uint64_t col = seg.row <= kMaxRow ? seg.col0 : 0;
    if (row_sym_.size() < row) {
      row_sym_.resize(row);
      row_sign_.resize(row);
      row_avg_.resize(row);
    }
    // Reset only the columns this segment visits (every column is read
    // before it is written, so the rest cannot matter): a hostile table of
    // many one-element segments with long rows costs no more than its elements.
    const uint64_t visits = std::min(row, seg.count);
    auto reset = [&](uint64_t from, uint64_t to) {
      std::fill(row_sym_.begin() + static_cast<std::ptrdiff_t>(from), row_sym_.begin() + static_cast<std::ptrdiff_t>(to),
                static_cast<uint8_t>(kEscape));
      std::fill(row_sign_.begin() + static_cast<std::ptrdiff_t>(from),
                row_sign_.begin() + static_cast<std::ptrdiff_t>(to), static_cast<uint8_t>(0));
      std::fill(row_avg_.begin() + static_cast<std::ptrdiff_t>(from), row_avg_.begin() + static_cast<std::ptrdiff_t>(to),
                static_cast<uint16_t>(kEscape << 8));
    };
    reset(col, std::min(row, col + visits));
    if (col + visits > row) reset(0, col + visits - row);
    int left = kEscape, left_sign = 0;
    const int emax_limit = max_exponent(f);

    for (uint64_t i = 0; i < seg.count; ++i) {
      if constexpr (Coder::kDecoding) {
        if ((i & 4095) == 0 && overrun()) return false;
      }
      Byte* p = data + i * static_cast<uint64_t>(es);
      Fields x{};
      int sym = 0;
      if constexpr (!Coder::kDecoding) {
        uint64_t u = 0;
        for (int b = es - 1; b >= 0; --b) u = (u << 8) | p[b];
        x = split(f, u);
        sym = x.e > emax || emax - x.e >= kEscape ? kEscape : emax - x.e;
      }
      const int above = row_sym_[col];
      const int colq = (row_avg_[col] + 128) >> 8;

      // Exponent symbol: a kSymbolBits-bit tree, three contexts mixed.
      {
        Cnt* c0 = &m.exp_ctx[0][static_cast<size_t>((left << kSB | above) << kSB)];
        Cnt* c1 = &m.exp_ctx[1][static_cast<size_t>((colq << kSB | above) << kSB)];
        Cnt* c2 = &m.exp_ctx[2][static_cast<size_t>((colq << kSB | left) << kSB)];
        int node = 1;
        for (int b = kSB - 1; b >= 0; --b) {
          m.exp_mix.set_inputs8(static_cast<int16_t>(st_of(c0[node])), static_cast<int16_t>(st_of(c1[node])),
                                static_cast<int16_t>(st_of(c2[node])), 256, 0, 0, 0, 0);
          const int sel[1] = {node};
          const int pr = squash(m.exp_mix.mix(sel));
          const int bit = coder_.code((sym >> b) & 1, clamp16(pr * 16 + 8));
          m.exp_mix.update(bit);
          learn(c0[node], bit, kExpLimit);
          learn(c1[node], bit, kExpLimit);
          learn(c2[node], bit, kExpLimit);
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
        if constexpr (Coder::kDecoding) {
          if (e > emax_limit) return false;
        }
      }
      if constexpr (Coder::kDecoding) {
        x.e = e;
        x.mbits = f.is_float ? f.mbits : (e > 0 ? e - 1 : 0);
      }

      // Sign (integers: only of a non-zero value; unsigned: none).
      if (f.is_float || (f.is_signed && x.e > 0)) {
        Cnt& c = m.sign[static_cast<size_t>(((left_sign << 1 | row_sign_[col]) << kSB) | sym)];
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
      if constexpr (Coder::kDecoding) {
        x.mant = (top << low) | rest;
        const uint64_t u = join(f, x);
        for (int b = 0; b < es; ++b) p[b] = static_cast<uint8_t>(u >> (8 * b));
      }

      // Neighbour state.
      left = sym;
      left_sign = x.s;
      row_sym_[col] = static_cast<uint8_t>(sym);
      row_sign_[col] = static_cast<uint8_t>(x.s);
      row_avg_[col] = static_cast<uint16_t>(row_avg_[col] + (((sym << 8) - row_avg_[col]) >> kColumnShift));
      if (++col == row) col = 0;
    }
    return true;
  }

  const TensorConfig& config_;
  Coder& coder_;
  Raw& raw_;
  std::unique_ptr<NumModel> models_[kDTypeCount];
  Table<Cnt> bytes_;
  int prev_ = 0;
  std::vector<uint8_t> row_sym_, row_sign_;
  std::vector<uint16_t> row_avg_;
};

// ---- segment table ---------------------------------------------------------

void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

bool get_varint(std::span<const uint8_t> in, size_t* pos, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= in.size()) return false;
    const uint8_t b = in[(*pos)++];
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

// Largest exponent (floats: of a finite value) or bit length in a segment.
int segment_emax(const Format& f, const uint8_t* data, uint64_t count) {
  const int es = f.width / 8;
  int emax = 0;
  const int inf = f.is_float ? (1 << f.ebits) - 1 : -1;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t u = 0;
    for (int b = es - 1; b >= 0; --b) u = (u << 8) | data[i * static_cast<uint64_t>(es) + static_cast<uint64_t>(b)];
    const int e = split(f, u).e;
    if (e != inf) emax = std::max(emax, e);
  }
  return emax;
}

}  // namespace

std::vector<uint8_t> TensorConfig::serialize() const { return {version, top_f32, top_f16, top_bf16, top_f64, top_int}; }

Status TensorConfig::parse(std::span<const uint8_t> params, TensorConfig* out) {
  if (params.size() != 6) return Error(ErrorCode::kBadParameters, "tensor codec: parameters have the wrong size");
  TensorConfig c;
  c.version = params[0];
  if (c.version != kVersion) return Error(ErrorCode::kBadParameters, "tensor codec: unknown version");
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

uint64_t TensorConfig::memory_bytes() const {
  return kNumModelBytes * (kDTypeCount - 1) + kRowStateBytes + kByteModelBytes + kSegmentTableBytes;
}

Status tensor_encode(const TensorConfig& config, std::span<const Segment> segments, std::span<const uint8_t> in,
                     std::vector<uint8_t>& out) {
  uint64_t total = 0;
  for (const Segment& s : segments) total += s.count * static_cast<uint64_t>(dtype_size(s.dtype));
  if (total != in.size()) return Error(ErrorCode::kInternal, "tensor codec: segments do not cover the block");
  if (segments.size() > kMaxSegments) return Error(ErrorCode::kInternal, "tensor codec: too many segments");
  out.clear();
  std::vector<int> emax(segments.size(), 0);
  put_varint(out, segments.size());
  uint64_t pos = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    out.push_back(static_cast<uint8_t>(s.dtype));
    put_varint(out, s.count);
    if (s.dtype != DType::kBytes) {
      const Format f = format_of(s.dtype, config);
      emax[i] = segment_emax(f, in.data() + pos, s.count);
      put_varint(out, s.row);
      put_varint(out, s.col0);
      put_varint(out, static_cast<uint64_t>(emax[i]));
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
    bc.code(segments[i], emax[i], in.data() + pos);
    pos += segments[i].count * static_cast<uint64_t>(dtype_size(segments[i].dtype));
  }
  coder.flush();
  bits.flush();
  put_varint(out, ac.size());
  out.insert(out.end(), ac.begin(), ac.end());
  out.insert(out.end(), raw.begin(), raw.end());
  return Status::Ok();
}

Status tensor_decode(const TensorConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out) {
  const Status corrupt = Error(ErrorCode::kCorrupt, "tensor codec: corrupt payload");
  size_t pos = 0;
  uint64_t nseg = 0;
  if (!get_varint(in, &pos, &nseg) || nseg > kMaxSegments || nseg > out.size()) return corrupt;
  std::vector<Segment> segs(static_cast<size_t>(nseg));
  std::vector<int> emax(segs.size(), 0);
  uint64_t total = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    Segment& s = segs[i];
    if (pos >= in.size() || in[pos] >= kDTypeCount) return corrupt;
    s.dtype = static_cast<DType>(in[pos++]);
    if (!get_varint(in, &pos, &s.count) || s.count == 0 || s.count > out.size()) return corrupt;
    total += s.count * static_cast<uint64_t>(dtype_size(s.dtype));
    if (total > out.size()) return corrupt;
    if (s.dtype != DType::kBytes) {
      uint64_t e = 0;
      if (!get_varint(in, &pos, &s.row) || !get_varint(in, &pos, &s.col0) || !get_varint(in, &pos, &e)) return corrupt;
      if (s.row == 0 || s.col0 >= s.row) return corrupt;
      if (e > static_cast<uint64_t>(max_exponent(format_of(s.dtype, config)))) return corrupt;
      emax[i] = static_cast<int>(e);
    }
  }
  uint64_t ac_size = 0;
  if (total != out.size() || !get_varint(in, &pos, &ac_size) || ac_size > in.size() - pos) return corrupt;
  BinaryDecoder coder(in.data() + pos, static_cast<size_t>(ac_size));
  RawReader bits(in.data() + pos + ac_size, in.size() - pos - static_cast<size_t>(ac_size));
  BlockCoder<BinaryDecoder, RawReader> bc(config, coder, bits);
  uint64_t at = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    if (!bc.code(segs[i], emax[i], out.data() + at)) return corrupt;
    at += segs[i].count * static_cast<uint64_t>(dtype_size(segs[i].dtype));
  }
  if (coder.overrun() || !bits.exact()) return corrupt;
  return Status::Ok();
}

}  // namespace sibyl::tensor
