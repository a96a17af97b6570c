#include "codecs/audio/audio_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "coder/binary_coder.h"
#include "common/bytes.h"
#include "common/fixed_math.h"
#include "common/simd.h"
#include "model/adaptive_prob.h"
#include "model/ols.h"
#include "model/order1_bytes.h"

namespace sibyl::audio {

namespace {

constexpr int kFrame = 4096;    // samples per channel between LPC updates
constexpr int kMaxOrder = 32;   // LPC order
constexpr int kCoefLimit = 1 << 15;  // |quantised coefficient| < this
constexpr int kMaxShift = 15;
constexpr int kMaxLen = 40;     // bit length of a residual magnitude
constexpr int kLenContexts = 96;
constexpr int kShortTaps = 16;  // per history of the stereo NLMS stage
constexpr int kWindow = 512;    // LMS history slack before it is moved back
constexpr int kProbFloor = 32;
constexpr int kProbLimit = 255;  // adaptation of the residual models: down to 1/256.5

// ---- bit models -------------------------------------------------------------

template <class C>
SIBYL_ALWAYS_INLINE int code_bit(C& c, AdaptiveProb& s, int bit, int limit) {
  bit = c.code(bit, static_cast<uint32_t>(std::clamp<int>(s.p, kProbFloor, 65536 - kProbFloor)));
  adapt(s, bit, limit);
  return bit;
}

// An unsigned number of up to 2^max_len - 1: its bit length in unary with
// adaptive models, then the bits below the leading one at p = 1/2.
template <class C>
uint64_t code_uint(C& c, AdaptiveProb* len_models, int max_len, uint64_t v) {
  const int len = v == 0 ? 0 : 64 - __builtin_clzll(v);
  int l = 0;
  while (l < max_len && code_bit(c, len_models[l], l < len, 60)) ++l;
  if (l == 0) return 0;
  uint64_t r = 1;
  for (int b = l - 2; b >= 0; --b) r = r << 1 | static_cast<uint64_t>(c.code(static_cast<int>((v >> b) & 1), 32768));
  return r;
}

template <class C>
int64_t code_sint(C& c, AdaptiveProb* len_models, int max_len, int64_t v) {
  const uint64_t z = v >= 0 ? static_cast<uint64_t>(v) << 1 : (static_cast<uint64_t>(-(v + 1)) << 1) | 1;
  const uint64_t r = code_uint(c, len_models, max_len, z);
  return (r & 1) ? -static_cast<int64_t>(r >> 1) - 1 : static_cast<int64_t>(r >> 1);
}

// ---- sign-sign LMS filter -----------------------------------------------------

int16_t sat16(int64_t v) { return static_cast<int16_t>(std::clamp<int64_t>(v, -32768, 32767)); }

// Predicts the next value of a signal from its last `taps` values (int16,
// saturated): (sum w_i x_i) >> shift with int16 weights. After each value the
// weights move by +-adapt_i towards the sign of the error, adapt_i being the
// sign of x_i times a step that grows with |x_i| against its running mean.
// Sums wrap in 32 bits identically in the scalar and SSE2 paths.
class Lms {
 public:
  void init(int taps, int shift, int mu) {
    taps_ = taps;
    shift_ = shift;
    mu_ = mu;
    w_.assign(static_cast<size_t>(taps), 0);
    x_.assign(static_cast<size_t>(taps + kWindow), 0);
    a_.assign(static_cast<size_t>(taps + kWindow), 0);
    pos_ = taps;
    mean_ = 0;
  }

  SIBYL_ALWAYS_INLINE int32_t predict() const {
    const int16_t* x = x_.data() + pos_ - taps_;
    const int16_t* w = w_.data();
    uint32_t sum = 0;
#if defined(SIBYL_SSE2)
    __m128i acc = _mm_setzero_si128();
    for (int i = 0; i < taps_; i += 8) {
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i));
      acc = _mm_add_epi32(acc, _mm_madd_epi16(a, b));
    }
    acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0x4e));
    acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0xb1));
    sum = static_cast<uint32_t>(_mm_cvtsi128_si32(acc));
#else
    for (int i = 0; i < taps_; i += 2) {
      // pmaddwd: the pair sum wraps in 32 bits
      sum += static_cast<uint32_t>(static_cast<int64_t>(x[i]) * w[i]) +
             static_cast<uint32_t>(static_cast<int64_t>(x[i + 1]) * w[i + 1]);
    }
#endif
    return static_cast<int32_t>(sum + (1u << (shift_ - 1))) >> shift_;
  }

  SIBYL_ALWAYS_INLINE void update(int64_t err) {
    if (err == 0) return;
    const int16_t* a = a_.data() + pos_ - taps_;
    int16_t* w = w_.data();
#if defined(SIBYL_SSE2)
    if (err > 0) {
      for (int i = 0; i < taps_; i += 8) {
        __m128i* p = reinterpret_cast<__m128i*>(w + i);
        _mm_storeu_si128(p, _mm_adds_epi16(_mm_loadu_si128(p), _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i))));
      }
    } else {
      for (int i = 0; i < taps_; i += 8) {
        __m128i* p = reinterpret_cast<__m128i*>(w + i);
        _mm_storeu_si128(p, _mm_subs_epi16(_mm_loadu_si128(p), _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i))));
      }
    }
#else
    const int d = err > 0 ? 1 : -1;
    for (int i = 0; i < taps_; ++i) w[i] = sat16(static_cast<int32_t>(w[i]) + d * a[i]);
#endif
  }

  SIBYL_ALWAYS_INLINE void push(int64_t v) {
    const int16_t s = sat16(v);
    const int m = s < 0 ? -s : s;
    // mean_: the running mean of |x| in units of 1/16
    int step = 0;
    if (m != 0) step = 16 * m > 3 * mean_ ? 4 * mu_ : (12 * m > mean_ ? 2 * mu_ : mu_);
    mean_ += m - (mean_ >> 4);
    x_[static_cast<size_t>(pos_)] = s;
    a_[static_cast<size_t>(pos_)] = static_cast<int16_t>(s < 0 ? -step : step);
    if (++pos_ == taps_ + kWindow) {
      std::memmove(x_.data(), x_.data() + kWindow, static_cast<size_t>(taps_) * 2);
      std::memmove(a_.data(), a_.data() + kWindow, static_cast<size_t>(taps_) * 2);
      pos_ = taps_;
    }
  }

 private:
  int taps_ = 0, shift_ = 1, mu_ = 1, pos_ = 0;
  int mean_ = 0;
  std::vector<int16_t> w_, x_, a_;
};


// Normalised LMS over one or two histories of kShortTaps values (the
// channel's own, and another channel's): weights in Q16, prediction
// (sum w_i x_i) >> 16 in 64 bits, update w_i += mu e x_i / (sum x^2 + eps)
// with mu = 2^-mu_log, in integers (one division per value).
class Nlms {
 public:
  static constexpr int kLimit = 1 << 20;  // inputs and errors are clamped to +-this
  void init(int inputs, int mu_log) {
    inputs_ = inputs;
    mu_log_ = mu_log;
    std::memset(w_, 0, sizeof(w_));
    std::memset(h_, 0, sizeof(h_));
    power_ = 0;
  }
  SIBYL_ALWAYS_INLINE int64_t predict() const {
    int64_t s = 0;
    for (int j = 0; j < inputs_; ++j)
      for (int i = 0; i < kShortTaps; ++i) s += static_cast<int64_t>(w_[j][i]) * h_[j][i];
    return s >> 16;
  }
  SIBYL_ALWAYS_INLINE void update(int64_t err) {
    if (err == 0) return;
    const int64_t e = std::clamp<int64_t>(err, -kLimit, kLimit);
    // (a double division: exact operands, correctly rounded, truncated;
    // much faster than a 64-bit integer division)
    const int64_t g = static_cast<int64_t>(static_cast<double>(e * (int64_t(1) << (32 - mu_log_))) /
                                           static_cast<double>(power_ + 1024));
    for (int j = 0; j < inputs_; ++j)
      for (int i = 0; i < kShortTaps; ++i) {
        const int64_t w = w_[j][i] + ((g * h_[j][i]) >> 16);
        w_[j][i] = static_cast<int32_t>(std::clamp<int64_t>(w, -(int64_t(1) << 20), int64_t(1) << 20));
      }
  }
  // A new value of history j (the newest is h_[j][0]).
  SIBYL_ALWAYS_INLINE void push(int j, int64_t v) {
    const int32_t x = static_cast<int32_t>(std::clamp<int64_t>(v, -kLimit, kLimit));
    const int32_t old = h_[j][kShortTaps - 1];
    power_ -= static_cast<int64_t>(old) * old;
    std::memmove(&h_[j][1], &h_[j][0], sizeof(int32_t) * (kShortTaps - 1));
    h_[j][0] = x;
    power_ += static_cast<int64_t>(x) * x;
  }

 private:
  int inputs_ = 1, mu_log_ = 8;
  int32_t w_[2][kShortTaps];
  int32_t h_[2][kShortTaps];
  int64_t power_ = 0;
};


// Mixes the stage predictions: weights (starting at 1) trained by
// normalised LMS on the error of the mix, in double arithmetic in a fixed
// order. A stage that hurts a signal loses its weight.
class Combiner {
 public:
  static constexpr int kInputs = 3;
  void init(double mu) {
    mu_ = mu;
    for (double& w : w_) w = 1.0;
  }
  int64_t mix(const int64_t (&p)[kInputs]) {
    double s = 0;
    for (int i = 0; i < kInputs; ++i) {
      x_[i] = static_cast<double>(p[i]);
      s += w_[i] * x_[i];
    }
    return round_half_up(s);
  }
  void update(double err) {
    double power = 1.0;
    for (int i = 0; i < kInputs; ++i) power += x_[i] * x_[i];
    const double g = mu_ * err / power;
    for (int i = 0; i < kInputs; ++i) w_[i] += g * x_[i];
  }

 private:
  double mu_ = 0.002;
  double w_[kInputs];
  double x_[kInputs] = {};
};

// ---- residual model -----------------------------------------------------------

// Codes a residual: its magnitude's bit length, in unary up or down from the
// length of the running mean magnitude, then the bits below the leading one
// (the top two with contexts, the rest per position), then the sign.
struct ResidualModel {
  uint64_t mean = 16 << 4;  // running mean of |e| over ~16 values, 4 fractional bits
  int prev_sign = 0;
  AdaptiveProb first[kLenContexts];
  AdaptiveProb up[kLenContexts][16];
  AdaptiveProb down[kLenContexts][16];
  AdaptiveProb m1[kLenContexts][kMaxLen + 1];
  AdaptiveProb m2[kLenContexts][kMaxLen + 1][2];
  AdaptiveProb sign[3];

  template <class C>
  int64_t code(C& c, int64_t e, int limit) {
    const uint64_t u = e < 0 ? static_cast<uint64_t>(-(e + 1)) + 1 : static_cast<uint64_t>(e);
    const int len = u == 0 ? 0 : 64 - __builtin_clzll(u);
    const int ml = mean == 0 ? 0 : 64 - __builtin_clzll(mean);
    const int k = std::min(kLenContexts - 1, ml <= 1 ? ml : 2 * ml - 1 + static_cast<int>((mean >> (ml - 2)) & 1));
    const int g = ml > 4 ? ml - 4 : 0;
    int l;
    if (code_bit(c, first[k], len >= g, limit)) {
      l = g;
      while (l < kMaxLen && code_bit(c, up[k][std::min(l - g, 15)], len > l, limit)) ++l;
    } else {
      l = g - 1;
      while (l > 0 && code_bit(c, down[k][std::min(g - 1 - l, 15)], len < l, limit)) --l;
    }
    uint64_t v = l == 0 ? 0 : 1;
    // The top two bits below the leading one are modelled; the rest are
    // nearly uniform and coded at p = 1/2.
    if (l >= 2) v = v << 1 | static_cast<uint64_t>(code_bit(c, m1[k][l], static_cast<int>((u >> (l - 2)) & 1), limit));
    if (l >= 3) v = v << 1 | static_cast<uint64_t>(code_bit(c, m2[k][l][v & 1], static_cast<int>((u >> (l - 3)) & 1), limit));
    for (int b = l - 4; b >= 0; --b) v = v << 1 | static_cast<uint64_t>(c.code(static_cast<int>((u >> b) & 1), 32768));
    int64_t r = 0;
    if (l != 0) {
      const int neg = code_bit(c, sign[prev_sign], e < 0, limit);
      r = neg ? -static_cast<int64_t>(v - 1) - 1 : static_cast<int64_t>(v);
      prev_sign = neg ? 2 : 1;
    } else {
      prev_sign = 0;
    }
    mean += v - (mean >> 4);
    return r;
  }
};

// ---- samples ------------------------------------------------------------------

struct Range {
  int64_t lo, hi;
};

Range range_of(Sample s) {
  switch (s) {
    case Sample::kU8:
    case Sample::kS8: return {-128, 127};
    case Sample::kS16: return {-32768, 32767};
    case Sample::kS24: return {-(1 << 23), (1 << 23) - 1};
    default: return {INT32_MIN, INT32_MAX};
  }
}

// f32 samples are coded as integers: scaled by 2^k when every value is an
// integer times 2^-k (kFloatBits: the bit patterns mapped to integers in the
// order of their values).
constexpr int kFloatBits = 255;
constexpr int kMaxFloatScale = 63;

SIBYL_ALWAYS_INLINE int64_t load_sample(Sample s, int fmode, const uint8_t* p) {
  switch (s) {
    case Sample::kU8: return static_cast<int64_t>(p[0]) - 128;
    case Sample::kS8: return static_cast<int8_t>(p[0]);
    case Sample::kS16: return static_cast<int16_t>(load_le16(p));
    case Sample::kS24: return static_cast<int32_t>(static_cast<uint32_t>(p[0] | p[1] << 8 | p[2] << 16) << 8) >> 8;
    case Sample::kS32: return static_cast<int32_t>(load_le32(p));
    default: {
      const uint32_t u = load_le32(p);
      if (fmode == kFloatBits) return (u & 0x80000000u) ? -1 - static_cast<int64_t>(u & 0x7fffffffu) : static_cast<int64_t>(u);
      float f;
      std::memcpy(&f, &u, 4);
      return static_cast<int64_t>(std::ldexp(static_cast<double>(f), fmode));
    }
  }
}

SIBYL_ALWAYS_INLINE void store_sample(Sample s, int fmode, int64_t v, uint8_t* p) {
  switch (s) {
    case Sample::kU8: p[0] = static_cast<uint8_t>(v + 128); break;
    case Sample::kS8: p[0] = static_cast<uint8_t>(v); break;
    case Sample::kS16: store_le16(p, static_cast<uint16_t>(v)); break;
    case Sample::kS24:
      p[0] = static_cast<uint8_t>(v);
      p[1] = static_cast<uint8_t>(v >> 8);
      p[2] = static_cast<uint8_t>(v >> 16);
      break;
    case Sample::kS32: store_le32(p, static_cast<uint32_t>(v)); break;
    default: {
      uint32_t u;
      if (fmode == kFloatBits) {
        u = v < 0 ? static_cast<uint32_t>(-1 - v) | 0x80000000u : static_cast<uint32_t>(v);
      } else {
        const float f = static_cast<float>(std::ldexp(static_cast<double>(v), -fmode));
        std::memcpy(&u, &f, 4);
      }
      store_le32(p, u);
    }
  }
}

// The encoder's choice for f32 samples: the smallest k that makes every
// value an integer that scales back exactly, else kFloatBits.
int float_mode(const uint8_t* p, uint64_t n) {
  int k = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint32_t u = load_le32(p + 4 * i);
    if ((u & 0x7fffffffu) == 0) {
      if (u != 0) return kFloatBits;  // -0
      continue;
    }
    if (((u >> 23) & 0xff) == 0xff) return kFloatBits;  // inf, NaN
    float f;
    std::memcpy(&f, &u, 4);
    int e;
    const double m = std::frexp(static_cast<double>(f), &e);  // |m| in [0.5, 1)
    uint64_t mi = static_cast<uint64_t>(std::fabs(std::ldexp(m, 53)));
    const int tz = __builtin_ctzll(mi);
    const int need = 53 - e - tz;  // f = odd * 2^-need
    if (need > k) k = need;
    if (k > kMaxFloatScale) return kFloatBits;
  }
  for (uint64_t i = 0; i < n; ++i) {
    const uint32_t u = load_le32(p + 4 * i);
    float f;
    std::memcpy(&f, &u, 4);
    const double s = std::ldexp(static_cast<double>(f), k);
    if (std::fabs(s) > 2147483647.0) return kFloatBits;
    uint8_t back[4];
    store_sample(Sample::kF32, k, static_cast<int64_t>(s), back);
    if (load_le32(back) != u) return kFloatBits;
  }
  return k;
}

// ---- LPC analysis (encoder only) ---------------------------------------------

struct Lpc {
  int order = 0, shift = 0;
  int32_t q[kMaxOrder] = {};
  double bits = 0;  // the encoder's estimate of the frame's cost
};

// log2 from IEEE +, -, *, / only (libm's may round differently on other
// CPUs; the encoder's choices must be the same everywhere).
double log2_det(double x) { return det_log(x) / detail::kLn2; }

Lpc analyse(const int64_t* x, int n, int max_order) {
  Lpc out;
  if (n < 2 * kMaxOrder || max_order == 0) {
    double e = 0;
    for (int i = 0; i < n; ++i) e += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    out.bits = 0.5 * n * log2_det(std::max(e / std::max(n, 1), 1.0));
    return out;
  }
  std::vector<double> xs(static_cast<size_t>(n));
  // A Tukey-like window: smoothstep tapers over the outer quarters (only
  // +, -, *, /: libm's trigonometry may differ between CPUs, and the
  // archive must not).
  const int taper = n / 4;
  for (int i = 0; i < n; ++i) {
    double w = 1.0;
    const double u = i < taper ? (i + 0.5) / taper : i >= n - taper ? (n - i - 0.5) / taper : 1.0;
    w = u * u * (3.0 - 2.0 * u);
    xs[static_cast<size_t>(i)] = static_cast<double>(x[i]) * w;
  }
  double r[kMaxOrder + 1] = {};
  for (int k = 0; k <= max_order; ++k) {
    double s = 0;
    for (int i = k; i < n; ++i) s += xs[static_cast<size_t>(i)] * xs[static_cast<size_t>(i - k)];
    r[k] = s;
  }
  if (r[0] <= 0) return out;  // silence: bits 0
  r[0] *= 1.0 + 1e-9;  // a little white noise: keeps the recursion stable
  double a[kMaxOrder + 1] = {}, tmp[kMaxOrder + 1];
  double coefs[kMaxOrder + 1][kMaxOrder];
  double err[kMaxOrder + 1];
  double e = r[0];
  err[0] = e;
  int reached = 0;
  for (int m = 1; m <= max_order; ++m) {
    double acc = r[m];
    for (int j = 1; j < m; ++j) acc -= a[j] * r[m - j];
    const double k = acc / e;
    if (!(std::fabs(k) < 1.0)) break;
    for (int j = 1; j < m; ++j) tmp[j] = a[j] - k * a[m - j];
    for (int j = 1; j < m; ++j) a[j] = tmp[j];
    a[m] = k;
    e *= 1.0 - k * k;
    err[m] = e;
    for (int j = 0; j < m; ++j) coefs[m][j] = a[j + 1];
    reached = m;
  }
  // Order: estimated residual bits plus about 14 bits per coefficient.
  int best = 0;
  double best_bits = 0.5 * n * log2_det(std::max(err[0], 1e-9));
  for (int m = 1; m <= reached; ++m) {
    const double bits = 0.5 * n * log2_det(std::max(err[m], 1e-9)) + 14.0 * m;
    if (bits < best_bits) {
      best_bits = bits;
      best = m;
    }
  }
  out.bits = 0.5 * n * log2_det(std::max(err[best] / n, 1.0)) + 14.0 * best;
  if (best == 0) return out;
  double cmax = 0;
  for (int j = 0; j < best; ++j) cmax = std::max(cmax, std::fabs(coefs[best][j]));
  int shift = 14;
  while (shift > 0 && cmax * std::ldexp(1.0, shift) >= kCoefLimit - 1) --shift;
  if (cmax * std::ldexp(1.0, shift) >= kCoefLimit - 1) return out;
  out.order = best;
  out.shift = shift;
  double carry = 0;
  for (int j = 0; j < best; ++j) {
    const double v = coefs[best][j] * std::ldexp(1.0, shift) + carry;
    const double q = std::clamp(std::nearbyint(v), -(kCoefLimit - 1.0), kCoefLimit - 1.0);
    out.q[j] = static_cast<int32_t>(q);
    carry = v - q;
  }
  return out;
}

// ---- channels -----------------------------------------------------------------

struct Channel {
  int64_t x[kMaxOrder + kFrame];  // kMaxOrder samples of history, then the frame
  Lpc lpc;
  Lms long_stage;
  Nlms stereo;
  Ols ols;
  Combiner combiner;
  double hist[Ols::kMax] = {};  // the last values of r0, newest first
  ResidualModel residual;
  AdaptiveProb order_models[kMaxOrder + 2];
  AdaptiveProb shift_models[kMaxShift + 1];
  AdaptiveProb coef_models[4][20];
};

class AudioModel {
 public:
  AudioModel(const AudioConfig& config, unsigned channels) : channels_(channels), ch_(channels) {
    const AudioTuning& t = audio_tuning();
    // Stereo and more: own and partner taps; mono: twice the own taps.
    own_ = channels > 1 ? config.ols_taps : 2 * config.ols_taps;
    cross_ = channels > 1 ? config.ols_taps : 0;
    for (auto& c : ch_) {
      c = std::make_unique<Channel>();
      c->long_stage.init(1 << config.long_log, t.long_shift, t.long_mu);
      c->stereo.init(channels > 1 ? 2 : 1, t.stereo_mu);
      c->combiner.init(t.mix_mu);
      c->ols.init(own_ + cross_, t.ols_lambda, t.ols_reg, t.ols_period);
      std::memset(c->x, 0, sizeof(c->x));
    }
  }

  // The LPC parameters of one channel's frame.
  template <class C>
  bool code_lpc(C& c, unsigned k, Lpc* lpc) {
    Channel& ch = *ch_[k];
    int order = lpc->order;
    int o = 0;
    while (o < kMaxOrder && code_bit(c, ch.order_models[o], o < order, 60)) ++o;
    lpc->order = o;
    if (o == 0) {
      ch.lpc = *lpc;
      return true;
    }
    int shift = 0;
    for (int b = 3; b >= 0; --b) shift |= code_bit(c, ch.shift_models[b], (lpc->shift >> b) & 1, 60) << b;
    lpc->shift = shift;
    for (int j = 0; j < o; ++j) {
      const int64_t v = code_sint(c, ch.coef_models[std::min(j, 3)], 17, lpc->q[j]);
      if (v <= -kCoefLimit || v >= kCoefLimit) return false;
      lpc->q[j] = static_cast<int32_t>(v);
    }
    ch.lpc = *lpc;
    return true;
  }

  // One sample of channel k at position t of the frame (the encoder passes
  // it). Returns the sample, or sets *ok to false when it leaves `range`.
  template <class C>
  SIBYL_ALWAYS_INLINE int64_t code_sample(C& c, unsigned k, int t, int64_t sample, Range range, bool* ok) {
    Channel& ch = *ch_[k];
    int64_t* x = ch.x + kMaxOrder + t;
    // 1. LPC from the frame's coefficients.
    int64_t p_lpc = 0;
    if (ch.lpc.order != 0) {
      int64_t s = 0;
      for (int j = 0; j < ch.lpc.order; ++j) s += static_cast<int64_t>(ch.lpc.q[j]) * x[-1 - j];
      p_lpc = s >> ch.lpc.shift;
    }
    // 2. The cascade on the LPC residual r0: OLS over this channel's and its
    // partner's past r0 (the partner's current one when it is coded first),
    // the long LMS and the stereo NLMS; their predictions mixed.
    int64_t po = 0;
    if (own_ + cross_ > 0) {
      double* in = ch.ols.inputs();
      for (int i = 0; i < own_; ++i) in[i] = ch.hist[i];
      if (cross_ > 0) {
        const Channel& partner = *ch_[k > 0 ? k - 1 : 1];
        for (int i = 0; i < cross_; ++i) in[own_ + i] = partner.hist[i];
      }
      po = ch.ols.predict();
    }
    const int64_t pa = ch.long_stage.predict();
    const int64_t pb = ch.stereo.predict();
    const int64_t stages[Combiner::kInputs] = {po, pa, pb};
    const int64_t mixed = ch.combiner.mix(stages);
    const int64_t p = std::clamp(p_lpc + mixed, range.lo, range.hi);
    // 3. The residual.
    const int64_t e = ch.residual.code(c, sample - p, kProbLimit);
    const int64_t v = p + e;
    if (v < range.lo || v > range.hi) {
      *ok = false;
      return 0;
    }
    *x = v;
    // Every stage learns the error left by the ones before it.
    const int64_t r0 = v - p_lpc;
    ch.combiner.update(static_cast<double>(r0 - mixed));
    if (own_ + cross_ > 0) {
      ch.ols.update(static_cast<double>(r0));
      std::memmove(ch.hist + 1, ch.hist, sizeof(double) * (Ols::kMax - 1));
      ch.hist[0] = static_cast<double>(r0);
    }
    const int64_t eo = r0 - po;
    const int64_t e1 = eo - pa;
    const int64_t e2 = e1 - pb;
    ch.long_stage.update(e1);
    ch.long_stage.push(eo);
    ch.stereo.update(e2);
    ch.stereo.push(0, e1);
    // The channel after this one (and channel 0 after channel 1) sees e1.
    if (k + 1 < channels_) ch_[k + 1]->stereo.push(1, e1);
    if (k == 1) ch_[0]->stereo.push(1, e1);
    return v;
  }

  // Keeps the last kMaxOrder samples of a frame of n as the next history.
  void end_frame(int n) {
    for (auto& c : ch_) std::memmove(c->x, c->x + n, sizeof(int64_t) * kMaxOrder);
  }

  Channel& channel(unsigned k) { return *ch_[k]; }

 private:
  unsigned channels_;
  int own_ = 0, cross_ = 0;  // OLS inputs
  std::vector<std::unique_ptr<Channel>> ch_;
};

// ---- segment table ---------------------------------------------------------------

struct Entry {
  uint8_t kind = 0;  // 0 bytes, 1 audio
  uint64_t count = 0;
  Sample sample = Sample::kNone;
  unsigned channels = 0;
  int fmode = 0;
  // Encoder, two channels: per frame the pairing (kStereoLR, ...) and the
  // predictors of its two signals.
  std::vector<uint8_t> stereo;
  std::vector<Lpc> lpc;
  uint64_t bytes() const {
    return kind == 0 ? count : count * channels * static_cast<uint64_t>(sample_bytes(sample));
  }
};


constexpr uint64_t kMaxEntries = kMaxSegments;

// How two channels are coded: as they are, left and side (L - R), side and
// right, or mid ((L + R) >> 1) and side.
constexpr int kStereoLR = 0, kStereoLS = 1, kStereoSR = 2, kStereoMS = 3;

SIBYL_ALWAYS_INLINE void to_stereo(int mode, int64_t l, int64_t r, int64_t* a, int64_t* b) {
  switch (mode) {
    case kStereoLS: *a = l; *b = l - r; break;
    case kStereoSR: *a = l - r; *b = r; break;
    case kStereoMS: *a = (l + r) >> 1; *b = l - r; break;
    default: *a = l; *b = r;
  }
}
SIBYL_ALWAYS_INLINE void from_stereo(int mode, int64_t a, int64_t b, int64_t* l, int64_t* r) {
  switch (mode) {
    case kStereoLS: *l = a; *r = a - b; break;
    case kStereoSR: *l = a + b; *r = b; break;
    case kStereoMS: {
      const int64_t m = a * 2 + (b & 1);
      *l = (m + b) >> 1;
      *r = (m - b) >> 1;
      break;
    }
    default: *l = a; *r = b;
  }
}

// The encoder's stereo choice for each frame of a two-channel segment: the
// pairing whose signals the LPC analysis expects to cost least, kept from
// the previous frame unless the other saves 1 % (a switch disturbs the
// adaptive stages).
void choose_stereo(Entry& e, const uint8_t* src) {
  const int sb = sample_bytes(e.sample);
  std::vector<int64_t> sig[4];  // L, R, S, M
  for (auto& v : sig) v.resize(kFrame);
  // The signals of each pairing (L R S M = 0 1 2 3).
  static constexpr int kPair[4][2] = {{0, 1}, {0, 2}, {2, 1}, {3, 2}};
  e.stereo.clear();
  e.lpc.clear();
  int mode = kStereoLR;
  for (uint64_t f0 = 0; f0 < e.count; f0 += kFrame) {
    const int n = static_cast<int>(std::min<uint64_t>(kFrame, e.count - f0));
    for (int t = 0; t < n; ++t) {
      const uint8_t* p = src + (f0 + static_cast<uint64_t>(t)) * 2 * sb;
      const int64_t l = load_sample(e.sample, e.fmode, p), r = load_sample(e.sample, e.fmode, p + sb);
      sig[0][t] = l;
      sig[1][t] = r;
      sig[2][t] = l - r;
      sig[3][t] = (l + r) >> 1;
    }
    Lpc lpcs[4];
    for (int i = 0; i < 4; ++i) lpcs[i] = analyse(sig[i].data(), n, audio_tuning().max_order);
    double cost[4];
    for (int m = 0; m < 4; ++m) cost[m] = lpcs[kPair[m][0]].bits + lpcs[kPair[m][1]].bits;
    int best = mode;
    for (int m = 0; m < 4; ++m)
      if (cost[m] < cost[best]) best = m;
    if (cost[best] < cost[mode] * 0.99) mode = best;
    e.stereo.push_back(static_cast<uint8_t>(mode));
    for (int k = 0; k < 2; ++k) e.lpc.push_back(lpcs[kPair[mode][k]]);
  }
}

// The coding of every segment, shared by both directions: `src` is the
// input (encoder) and `dst` the output (decoder).
template <class C>
Status code_segments(const AudioConfig& config, C& c, const std::vector<Entry>& entries, const uint8_t* src,
                     uint8_t* dst) {
  Order1Bytes bytes;
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
    const unsigned nch = e.channels;
    const int sb = sample_bytes(e.sample);
    const uint64_t fb = static_cast<uint64_t>(sb) * nch;
    const Range range = range_of(e.sample);
    const Range side = {range.lo - range.hi, range.hi - range.lo};
    int stereo = kStereoLR;
    AdaptiveProb stereo_models[4][3];
    AudioModel model(config, nch);
    bool ok = true;
    for (uint64_t f0 = 0; f0 < e.count; f0 += kFrame) {
      const int n = static_cast<int>(std::min<uint64_t>(kFrame, e.count - f0));
      if (nch == 2) {
        // The frame's pairing; the history moves to it.
        int mode = 0;
        if constexpr (!C::kDecoding) mode = e.stereo[static_cast<size_t>(f0 / kFrame)];
        const int hi = code_bit(c, stereo_models[stereo][0], mode >> 1, 30);
        const int lo = code_bit(c, stereo_models[stereo][1 + hi], mode & 1, 30);
        mode = hi * 2 + lo;
        if (mode != stereo) {
          int64_t* a = model.channel(0).x;
          int64_t* b = model.channel(1).x;
          for (int i = 0; i < kMaxOrder; ++i) {
            int64_t l, r;
            from_stereo(stereo, a[i], b[i], &l, &r);
            to_stereo(mode, l, r, &a[i], &b[i]);
          }
          stereo = mode;
        }
      }
      // The range of each coded channel (a side channel has one more bit).
      Range ranges[2] = {range, range};
      if (stereo == kStereoSR) ranges[0] = side;
      if (stereo == kStereoLS || stereo == kStereoMS) ranges[1] = side;
      if constexpr (!C::kDecoding) {
        for (unsigned k = 0; k < nch; ++k) {
          Channel& ch = model.channel(k);
          for (int t = 0; t < n; ++t)
            ch.x[kMaxOrder + t] = load_sample(e.sample, e.fmode, src + pos + (f0 + static_cast<uint64_t>(t)) * fb + k * sb);
        }
        if (stereo != kStereoLR) {
          int64_t* a = model.channel(0).x + kMaxOrder;
          int64_t* b = model.channel(1).x + kMaxOrder;
          for (int t = 0; t < n; ++t) to_stereo(stereo, a[t], b[t], &a[t], &b[t]);
        }
      }
      for (unsigned k = 0; k < nch; ++k) {
        Lpc lpc;
        if constexpr (!C::kDecoding) {
          const size_t cached = static_cast<size_t>(f0 / kFrame) * 2 + k;
          lpc = nch == 2 && cached < e.lpc.size() ? e.lpc[cached]
                                                  : analyse(model.channel(k).x + kMaxOrder, n, audio_tuning().max_order);
        }
        if (!model.code_lpc(c, k, &lpc)) return Error(ErrorCode::kCorrupt, "audio block: invalid predictor");
      }
      for (int t = 0; t < n; ++t) {
        const uint64_t off = pos + (f0 + static_cast<uint64_t>(t)) * fb;
        int64_t v2[2] = {};
        for (unsigned k = 0; k < nch; ++k) {
          int64_t s = 0;
          if constexpr (!C::kDecoding) s = model.channel(k).x[kMaxOrder + t];
          const int64_t v = model.code_sample(c, k, t, s, k < 2 ? ranges[k] : range, &ok);
          if constexpr (C::kDecoding) {
            if (!ok) return Error(ErrorCode::kCorrupt, "audio block: sample out of range");
            if (stereo == kStereoLR) {
              store_sample(e.sample, e.fmode, v, dst + off + k * sb);
            } else {
              v2[k] = v;
            }
          }
        }
        if constexpr (C::kDecoding) {
          if (stereo != kStereoLR) {
            int64_t l, r;
            from_stereo(stereo, v2[0], v2[1], &l, &r);
            if (l < range.lo || l > range.hi || r < range.lo || r > range.hi)
              return Error(ErrorCode::kCorrupt, "audio block: sample out of range");
            store_sample(e.sample, e.fmode, l, dst + off);
            store_sample(e.sample, e.fmode, r, dst + off + sb);
          }
        }
        if constexpr (C::kDecoding) {
          if (c.overrun()) return Error(ErrorCode::kCorrupt, "audio block: coded data ends early");
        }
      }
      model.end_frame(n);
    }
    if (!ok) return Error(ErrorCode::kInternal, "audio block: a sample left its range");
    pos += e.bytes();
  }
  return Status::Ok();
}

}  // namespace

bool audio_try_bytes(std::span<const tensor::Segment> segments, std::span<const uint8_t> in) {
  uint64_t pos = 0;
  for (const tensor::Segment& s : segments) {
    if (s.sample == Sample::kNone) {
      pos += s.count;
      continue;
    }
    const uint64_t bytes = s.count * s.row * static_cast<uint64_t>(sample_bytes(s.sample));
    if (pos + bytes > in.size()) return false;
    if (sample_bytes(s.sample) == 1) return true;
    if (s.sample == Sample::kF32 && float_mode(in.data() + pos, s.count * s.row) == kFloatBits) return true;
    pos += bytes;
  }
  return false;
}

AudioTuning& audio_tuning() {
  static AudioTuning t;
  return t;
}

std::vector<uint8_t> AudioConfig::serialize() const { return {version, long_log, ols_taps}; }

Status AudioConfig::parse(std::span<const uint8_t> params, AudioConfig* out) {
  if (params.size() != 3) return Error(ErrorCode::kBadParameters, "audio codec: parameters have the wrong size");
  AudioConfig c;
  c.version = params[0];
  c.long_log = params[1];
  c.ols_taps = params[2];
  if (c.version != kVersion) return Error(ErrorCode::kBadParameters, "audio codec: unknown parameter version");
  if (c.long_log < kMinLongLog || c.long_log > kMaxLongLog)
    return Error(ErrorCode::kBadParameters, "audio codec: long filter length out of range");
  if (c.ols_taps > kMaxOlsTaps) return Error(ErrorCode::kBadParameters, "audio codec: OLS order out of range");
  *out = c;
  return Status::Ok();
}

// A fixed formula (the same on every platform): per channel 128 KiB for
// its state and 8 bytes per tap of the long filter (weights, inputs and
// steps with kWindow of slack), plus 512 KiB for the byte model, the
// segment table and the encoder's analysis buffers.
constexpr uint64_t kChannelBytes = 131072;
static_assert(sizeof(Channel) + 6 * kWindow <= kChannelBytes, "audio channel state outgrew its declared memory");
static_assert(Order1Bytes::kMemoryBytes + (kMaxEntries + 1) * 128 + 5 * kFrame * 8 <= 524288,
              "audio codec buffers outgrew their declared memory");

uint64_t AudioConfig::memory_bytes() const {
  return kMaxChannels * (kChannelBytes + 8 * (uint64_t(1) << long_log)) + 524288;
}

Status audio_encode(const AudioConfig& config, std::span<const tensor::Segment> segments, std::span<const uint8_t> in,
                    std::vector<uint8_t>& out) {
  if (segments.size() > kMaxEntries) return Error(ErrorCode::kInternal, "audio block: too many segments");
  std::vector<Entry> entries;
  uint64_t pos = 0;
  for (const tensor::Segment& s : segments) {
    Entry e;
    if (s.sample != Sample::kNone) {
      e.kind = 1;
      e.count = s.count;
      e.sample = s.sample;
      e.channels = static_cast<unsigned>(s.row);
      if (e.channels == 0 || e.channels > kMaxChannels) return Error(ErrorCode::kInternal, "audio block: bad channels");
      if (e.sample == Sample::kF32) e.fmode = float_mode(in.data() + pos, e.count * e.channels);
      if (e.channels == 2) choose_stereo(e, in.data() + pos);
    } else {
      e.count = s.count;
    }
    if (pos + e.bytes() > in.size()) return Error(ErrorCode::kInternal, "audio block: segments exceed the block");
    pos += e.bytes();
    entries.push_back(e);
  }
  if (pos != in.size()) return Error(ErrorCode::kInternal, "audio block: segments do not cover the block");
  out.clear();
  put_varint(out, entries.size());
  for (const Entry& e : entries) {
    out.push_back(e.kind == 0 ? 0 : static_cast<uint8_t>(e.sample));
    put_varint(out, e.count);
    if (e.kind == 1) {
      put_varint(out, e.channels);
      if (e.sample == Sample::kF32) out.push_back(static_cast<uint8_t>(e.fmode));
    }
  }
  BinaryEncoder enc(out);
  SIBYL_RETURN_IF_ERROR(code_segments(config, enc, entries, in.data(), nullptr));
  enc.flush();
  return Status::Ok();
}

Status audio_decode(const AudioConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out) {
  size_t pos = 0;
  uint64_t n = 0;
  if (!get_varint(in, &pos, &n) || n > kMaxEntries) return Error(ErrorCode::kCorrupt, "audio block: bad segment table");
  std::vector<Entry> entries;
  uint64_t total = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (pos >= in.size()) return Error(ErrorCode::kCorrupt, "audio block: truncated segment table");
    Entry e;
    const uint8_t kind = in[pos++];
    if (kind >= kSampleCount) return Error(ErrorCode::kCorrupt, "audio block: unknown sample format");
    if (!get_varint(in, &pos, &e.count) || e.count > out.size())
      return Error(ErrorCode::kCorrupt, "audio block: bad segment size");
    if (kind != 0) {
      e.kind = 1;
      e.sample = static_cast<Sample>(kind);
      uint64_t ch = 0;
      if (!get_varint(in, &pos, &ch) || ch == 0 || ch > kMaxChannels)
        return Error(ErrorCode::kCorrupt, "audio block: bad channel count");
      e.channels = static_cast<unsigned>(ch);
      if (e.sample == Sample::kF32) {
        if (pos >= in.size()) return Error(ErrorCode::kCorrupt, "audio block: truncated segment table");
        e.fmode = in[pos++];
        if (e.fmode != kFloatBits && e.fmode > kMaxFloatScale)
          return Error(ErrorCode::kCorrupt, "audio block: bad float mapping");
      }

    }
    if (e.bytes() > out.size() - total) return Error(ErrorCode::kCorrupt, "audio block: segments exceed the block");
    total += e.bytes();
    entries.push_back(e);
  }
  if (total != out.size()) return Error(ErrorCode::kCorrupt, "audio block: segments do not match the block size");
  BinaryDecoder dec(in.data() + pos, in.size() - pos);
  SIBYL_RETURN_IF_ERROR(code_segments(config, dec, entries, nullptr, out.data()));
  if (dec.overrun() || !dec.exhausted()) return Error(ErrorCode::kCorrupt, "audio block: coded data has the wrong length");
  return Status::Ok();
}

}  // namespace sibyl::audio
