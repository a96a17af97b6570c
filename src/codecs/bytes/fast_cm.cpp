#include "codecs/bytes/fast_cm.h"

#include <algorithm>
#include <memory>
#include <string>

#include "codecs/bytes/fast_cm_params.h"
#include "coder/binary_coder.h"
#include "common/fixed_math.h"
#include "common/simd.h"
#include "model/adaptive_prob.h"
#include "model/apm.h"
#include "model/byte_history.h"
#include "model/coding_loop.h"
#include "model/counter16.h"
#include "model/match_model.h"
#include "model/mixer.h"
#include "model/nibble_table.h"
#include "model/nibble_table16.h"

namespace sibyl {
namespace {

using namespace fast_cm;

constexpr int kBias = 256;

// Variant 1 (levels 2-9): orders 0-4 and 6, the match model, two
// weight-set selectors and an order-1 APM.
class FastCmModel {
 public:
  static constexpr int kHashedOrders = 4;  // orders 2, 3, 4, 6
  static constexpr int kDirect = 2;        // orders 0 and 1
  static constexpr int kCounters = kDirect + kHashedOrders;
  static constexpr int kInputs = kCounters + 2;  // + match, bias
  static constexpr int kSelectors = 2;

  FastCmModel(const FastCmConfig& cfg, const uint8_t* data, size_t size)
      : data_(data),
        order0_(new AdaptiveProb[17 * 16]),
        order1_(new AdaptiveProb[256 * 17 * 16]),
        match_(cfg.match_log, size),
        mixer_({256, 4 * 256}, kMixerInitialWeight, kMixerRate),
        apm_(65536, kApmRate) {
    for (int i = 0; i < kHashedOrders; ++i) tables_[i] = std::make_unique<NibbleTable>(cfg.table_log);
    start_byte();
  }

  static uint64_t memory_bytes(const FastCmConfig& cfg) {
    return kHashedOrders * NibbleTable::memory_bytes(cfg.table_log) + MatchModel::memory_bytes(cfg.match_log) +
           (17 + 256 * 17) * 16 * sizeof(AdaptiveProb) + (256 + 1024) * 8 * 2 + 65536 * 33 * 2;
  }

  int p16() {
    // Inputs: one stretched prediction per context, then the match model.
    const int nib = hist_.nibble_index();
    int k = 0;
    slot_[k++] = &o0_bucket_[nib];
    slot_[k++] = &o1_bucket_[nib];
    for (int i = 0; i < kHashedOrders; ++i) slot_[k++] = &bucket_[i][nib];
    static_assert(kCounters == 6);
    mixer_.set_inputs8(static_cast<int16_t>(stretch(slot_[0]->p >> 4)), static_cast<int16_t>(stretch(slot_[1]->p >> 4)),
                                     static_cast<int16_t>(stretch(slot_[2]->p >> 4)), static_cast<int16_t>(stretch(slot_[3]->p >> 4)),
                                     static_cast<int16_t>(stretch(slot_[4]->p >> 4)), static_cast<int16_t>(stretch(slot_[5]->p >> 4)),
                       static_cast<int16_t>(match_.predict(hist_.c0, hist_.bitpos)), kBias);
    const int select[2] = {hist_.c0, match_.length_bucket() * 256 + hist_.c1};
    const int st = mixer_.mix(select);
    const int p_mix = squash(st) << 4;
    const int p_apm = apm_.refine(st, static_cast<size_t>(hist_.c0) | (static_cast<size_t>(hist_.c1) << 8));
    int p = (p_mix + 3 * p_apm) >> 2;
    if (p < kProbFloor) p = kProbFloor;
    if (p > 65535 - kProbFloor) p = 65535 - kProbFloor;
    return p;
  }

  void update(int bit) {
    for (int i = 0; i < kDirect; ++i) adapt(*slot_[i], bit, kLowOrderLimit);
    for (int i = kDirect; i < kCounters; ++i) adapt(*slot_[i], bit, kCounterLimit);
    match_.update(bit);
    mixer_.update(bit);
    apm_.update(bit);
    switch (hist_.push(bit)) {
      case ByteHistory::kByte:
        match_.next_byte(data_, hist_.pos);
        start_byte();
        break;
      case ByteHistory::kNibble:
        start_nibble();
        break;
      case ByteHistory::kNone:
        break;
    }
  }

 private:

  void start_byte() {
    // Context hashes of orders 2, 3, 4, 6, each tagged with its order.
    hash_[0] = hash_mix((hist_.last8 & 0xffffull) | 2ull << 56);
    hash_[1] = hash_mix((hist_.last8 & 0xffffffull) | 3ull << 56);
    hash_[2] = hash_mix((hist_.last8 & 0xffffffffull) | 4ull << 56);
    hash_[3] = hash_mix((hist_.last8 & 0xffffffffffffull) | 6ull << 56);
    o0_bucket_ = &order0_[0];
    o1_bucket_ = &order1_[static_cast<size_t>(hist_.c1) * 17 * 16];
    for (int i = 0; i < kHashedOrders; ++i) tables_[i]->prefetch(hash_[i]);
    for (int i = 0; i < kHashedOrders; ++i) bucket_[i] = tables_[i]->find(hash_[i]);
  }

  void start_nibble() {
    const int hi = hist_.high_nibble();
    o0_bucket_ = &order0_[static_cast<size_t>(1 + hi) * 16];
    o1_bucket_ = &order1_[(static_cast<size_t>(hist_.c1) * 17 + 1 + hi) * 16];
    uint32_t h[kHashedOrders];
    for (int i = 0; i < kHashedOrders; ++i) {
      h[i] = ByteHistory::second_nibble_hash(hash_[i], hi);
      tables_[i]->prefetch(h[i]);
    }
    for (int i = 0; i < kHashedOrders; ++i) bucket_[i] = tables_[i]->find(h[i]);
  }

  const uint8_t* data_;
  std::unique_ptr<AdaptiveProb[]> order0_;
  std::unique_ptr<AdaptiveProb[]> order1_;
  std::unique_ptr<NibbleTable> tables_[kHashedOrders];
  MatchModel match_;
  Mixer<kInputs, kSelectors> mixer_;
  Apm apm_;

  AdaptiveProb* o0_bucket_ = nullptr;
  AdaptiveProb* o1_bucket_ = nullptr;
  AdaptiveProb* bucket_[kHashedOrders] = {};
  AdaptiveProb* slot_[kCounters] = {};
  uint32_t hash_[kHashedOrders] = {};
  ByteHistory hist_;
};

// The lean models (variant 2 and up): an order-1 table and hashed
// contexts of the orders in kOrders, all in 16-bit counter states (one
// lookup to predict, one to update), the match model, and one mixer whose
// weights are selected by the partial byte; no APM.
//
// Written for speed: a whole byte is coded in one call, so the bucket
// pointers, the partial byte and the mixer inputs stay in registers.
template <int... kOrders>
class LeanModel {
 public:
  static constexpr int kHashed = sizeof...(kOrders);
  static constexpr int kCounters = 1 + kHashed;
  static constexpr int kInputs = kCounters + 2;  // + match, bias
  static constexpr int kLanes = 8;               // inputs padded to one vector
  static_assert(kInputs <= kLanes);

  LeanModel(const FastCmConfig& cfg, const uint8_t* data, size_t size)
      : data_(data),
        order1_(256 * 17 * 16, Counter16::kInitial),
        match_(cfg.match_log, size),
        weights_(256 * kLanes, 0),
        next0_(Counter16::next_table(0)),
        next1_(Counter16::next_table(1)) {
    for (int v = 0; v < 256; ++v)
      for (int i = 0; i < kInputs; ++i) weights_[static_cast<size_t>(v) * kLanes + i] = kMixerInitialWeight;
    for (int i = 0; i < kHashed; ++i) tables_[i] = std::make_unique<NibbleTable16>(cfg.table_log);
    start_byte();
  }

  static uint64_t memory_bytes(const FastCmConfig& cfg) {
    return kHashed * NibbleTable16::memory_bytes(cfg.table_log) + MatchModel::memory_bytes(cfg.match_log) +
           256 * 17 * 16 * 2 + 256 * 8 * 2 + Counter16::kTableBytes;
  }

  // Codes one byte (`in` when encoding; ignored when decoding) and returns it.
  template <class Coder>
  int code_byte(Coder& coder, int in) {
    int c0 = 1;
    int expected = match_.expected_byte();
    AdaptiveProb* const match_probs = match_.length_probs();
    code_nibble<Coder, 0>(coder, in, c0, expected, match_probs);
    start_nibble(c0 & 15);
    code_nibble<Coder, 4>(coder, in, c0, expected, match_probs);
    return c0 & 255;
  }

  // Called once the byte returned by code_byte() is stored in data[pos - 1].
  void end_byte(size_t pos) {
    last8_ = last8_ << 8 | data_[pos - 1];
    match_.next_byte(data_, pos);
    start_byte();
  }

 private:
  template <class Coder, int kFirstBit>
  void code_nibble(Coder& coder, int in, int& c0_ref, int& expected, AdaptiveProb* match_probs) {
    uint16_t* b[kCounters];
    b[0] = o1_bucket_;
    for (int i = 0; i < kHashed; ++i) b[1 + i] = bucket_[i];
    const uint16_t* const next0 = next0_;
    const uint16_t* const next1 = next1_;
    int c0 = c0_ref;
    int idx = 1;
    for (int j = 0; j < 4; ++j) {
      const int bitpos = kFirstBit + j;
      uint16_t s[kCounters];
      int16_t x[kLanes] = {};
#pragma GCC unroll 8
      for (int i = 0; i < kCounters; ++i) {
        s[i] = b[i][idx];
        x[i] = static_cast<int16_t>(stretch(s[i] >> 4));
      }
      // The match model: while the bits agree with the predicted byte, its
      // prediction is the probability learnt for the match length.
      AdaptiveProb* match_slot = nullptr;
      if (expected >= 0) {
        if (((expected | 256) >> (8 - bitpos)) == c0) {
          match_slot = match_probs + ((expected >> (7 - bitpos)) & 1);
          x[kCounters] = static_cast<int16_t>(stretch(match_slot->p >> 4));
        } else {
          expected = -1;
        }
      }
      x[kCounters + 1] = kBias;
      int16_t* const w = &weights_[static_cast<size_t>(c0) * kLanes];
#if defined(SIBYL_SSE2)
      const __m128i xv = _mm_setr_epi16(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]);
      __m128i wv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
      __m128i acc = _mm_madd_epi16(xv, wv);
      acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0x4e));
      acc = _mm_add_epi32(acc, _mm_shuffle_epi32(acc, 0xb1));
      const int st = _mm_cvtsi128_si32(acc) >> 13;
#else
      const int st = mixer_kernel::dot_scalar(x, w, kLanes) >> 13;
#endif
      const int pm = squash(st);  // squash clamps st to the stretch range
      int p = pm << 4;
      if (p < kProbFloor) p = kProbFloor;
      if (p > 65535 - kProbFloor) p = 65535 - kProbFloor;

      const int bit = coder.code((in >> (7 - bitpos)) & 1, static_cast<uint32_t>(p));

      const uint16_t* const next = bit ? next1 : next0;
#pragma GCC unroll 8
      for (int i = 0; i < kCounters; ++i) b[i][idx] = next[s[i]];
      if (match_slot) adapt(*match_slot, bit, MatchModel::kProbLimit);
      const int err = ((bit << 12) - pm) * kMixerRate;
#if defined(SIBYL_SSE2)
      wv = _mm_adds_epi16(wv, _mm_mulhi_epi16(xv, _mm_set1_epi16(static_cast<int16_t>(err))));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(w), wv);
#else
      mixer_kernel::train_scalar(x, w, kLanes, err);
#endif
      c0 = c0 << 1 | bit;
      idx = idx << 1 | bit;
    }
    c0_ref = c0;
  }

  // Hash of the order-n context ending with the newest byte of `h`.
  static uint32_t order_hash(uint64_t h, int n) {
    const uint64_t mask = n >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * n)) - 1;
    return hash_mix((h & mask) | static_cast<uint64_t>(n) << 56);
  }

  void start_nibble(int hi) {
    o1_bucket_ = &order1_[(static_cast<size_t>(c1()) * 17 + 1 + static_cast<size_t>(hi)) * 16];
    uint32_t h[kHashed];
    for (int i = 0; i < kHashed; ++i) {
      h[i] = ByteHistory::second_nibble_hash(hash_[i], hi);
      tables_[i]->prefetch(h[i]);
    }
    for (int i = 0; i < kHashed; ++i) bucket_[i] = tables_[i]->find(h[i]);
  }

  void start_byte() {
    static constexpr int kOrderList[kHashed] = {kOrders...};
    for (int i = 0; i < kHashed; ++i) {
      hash_[i] = order_hash(last8_, kOrderList[i]);
      tables_[i]->prefetch(hash_[i]);
    }
    o1_bucket_ = &order1_[static_cast<size_t>(c1()) * 17 * 16];
    for (int i = 0; i < kHashed; ++i) bucket_[i] = tables_[i]->find(hash_[i]);
  }

  int c1() const { return static_cast<int>(last8_ & 255); }

  const uint8_t* data_;
  std::vector<uint16_t> order1_;
  std::unique_ptr<NibbleTable16> tables_[kHashed];
  MatchModel match_;
  std::vector<int16_t> weights_;  // 256 weight vectors, selected by the partial byte
  const uint16_t* next0_;
  const uint16_t* next1_;

  uint16_t* o1_bucket_ = nullptr;
  uint16_t* bucket_[kHashed] = {};
  uint32_t hash_[kHashed] = {};
  uint64_t last8_ = 0;
};

// Variant 2: orders 1, 2, 3, 4 (level 1 of format changelog entry 1).
using FastLeanModel = LeanModel<2, 3, 4>;
// Variant 3: orders 1, 2, 4 (level 1). One hashed order fewer than variant
// 2 is a third less work and memory traffic per byte for about 2% larger
// output.
using FastLean124Model = LeanModel<2, 4>;

}  // namespace

std::vector<uint8_t> FastCmConfig::serialize() const { return {variant, table_log, match_log}; }

Status FastCmConfig::parse(std::span<const uint8_t> params, FastCmConfig* out) {
  if (params.size() != 3) return Error(ErrorCode::kBadParameters, "fast-cm parameters must be 3 bytes, got " + std::to_string(params.size()));
  if (params[0] != kVariantFull && params[0] != kVariantLean && params[0] != kVariantLean124)
    return Error(ErrorCode::kBadParameters, "unknown fast-cm variant " + std::to_string(params[0]));
  FastCmConfig c;
  c.variant = params[0];
  c.table_log = params[1];
  c.match_log = params[2];
  if (c.table_log < kMinTableLog || c.table_log > kMaxTableLog || c.match_log < kMinMatchLog || c.match_log > kMaxMatchLog)
    return Error(ErrorCode::kBadParameters, "fast-cm table sizes out of range");
  *out = c;
  return Status::Ok();
}

FastCmConfig FastCmConfig::fitted(size_t size) const {
  // About one bucket per two input bytes per order (most contexts repeat).
  int need = 0;
  while (need < 40 && (uint64_t(1) << need) < uint64_t(size) / 2) ++need;
  FastCmConfig c = *this;
  c.table_log = static_cast<uint8_t>(std::clamp(std::min<int>(table_log, need), kMinTableLog, kMaxTableLog));
  c.match_log = static_cast<uint8_t>(std::clamp(std::min<int>(match_log, need + 1), kMinMatchLog, kMaxMatchLog));
  return c;
}

uint64_t FastCmConfig::memory_bytes() const {
  switch (variant) {
    case kVariantLean124:
      return FastLean124Model::memory_bytes(*this);
    case kVariantLean:
      return FastLeanModel::memory_bytes(*this);
    default:
      return FastCmModel::memory_bytes(*this);
  }
}

namespace {
template <class Model>
void encode_with(const FastCmConfig& config, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  auto model = std::make_unique<Model>(config, in.data(), in.size());
  BinaryEncoder enc(out);
  if constexpr (requires(Model& m) { m.end_byte(size_t{1}); }) {
    code_bytewise(*model, enc, in.data(), in.size());
  } else {
    code_bytes(*model, enc, in.data(), in.size());
  }
  enc.flush();
}

template <class Model>
bool decode_with(const FastCmConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out, bool* exhausted) {
  auto model = std::make_unique<Model>(config, out.data(), out.size());
  BinaryDecoder dec(in.data(), in.size());
  if constexpr (requires(Model& m) { m.end_byte(size_t{1}); }) {
    code_bytewise(*model, dec, out.data(), out.size());
  } else {
    code_bytes(*model, dec, out.data(), out.size());
  }
  *exhausted = dec.exhausted();
  return !dec.overrun();
}
}  // namespace

Status fast_cm_encode(const FastCmConfig& config, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  switch (config.variant) {
    case FastCmConfig::kVariantLean124:
      encode_with<FastLean124Model>(config, in, out);
      break;
    case FastCmConfig::kVariantLean:
      encode_with<FastLeanModel>(config, in, out);
      break;
    default:
      encode_with<FastCmModel>(config, in, out);
      break;
  }
  return Status::Ok();
}

Status fast_cm_decode(const FastCmConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out) {
  bool exhausted = false;
  bool ok;
  switch (config.variant) {
    case FastCmConfig::kVariantLean124:
      ok = decode_with<FastLean124Model>(config, in, out, &exhausted);
      break;
    case FastCmConfig::kVariantLean:
      ok = decode_with<FastLeanModel>(config, in, out, &exhausted);
      break;
    default:
      ok = decode_with<FastCmModel>(config, in, out, &exhausted);
      break;
  }
  if (!ok) return Error(ErrorCode::kCorrupt, "fast-cm block payload ends early");
  if (!exhausted) return Error(ErrorCode::kCorrupt, "fast-cm block payload has trailing bytes");
  return Status::Ok();
}

}  // namespace sibyl
