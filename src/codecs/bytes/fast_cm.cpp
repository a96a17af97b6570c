#include "codecs/bytes/fast_cm.h"

#include <algorithm>
#include <memory>
#include <string>

#include "codecs/bytes/fast_cm_params.h"
#include "coder/binary_coder.h"
#include "common/fixed_math.h"
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

  FastCmModel(const FastCmConfig& cfg, const uint8_t* data)
      : data_(data),
        order0_(new AdaptiveProb[17 * 16]),
        order1_(new AdaptiveProb[256 * 17 * 16]),
        match_(cfg.match_log),
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

// Variant 2 (level 1): orders 1-4 in 16-bit counter states (one lookup to
// predict, one to update), the match model, one mixer whose weights are
// selected by the partial byte, no APM.
class FastLeanModel {
 public:
  static constexpr int kHashed = 3;  // orders 2, 3, 4
  static constexpr int kCounters = 1 + kHashed;
  static constexpr int kInputs = kCounters + 2;  // + match, bias

  FastLeanModel(const FastCmConfig& cfg, const uint8_t* data)
      : data_(data),
        order1_(256 * 17 * 16, Counter16::kInitial),
        match_(cfg.match_log),
        mixer_({256}, kMixerInitialWeight, kMixerRate),
        next0_(Counter16::next_table(0)),
        next1_(Counter16::next_table(1)),
        stretch_(Counter16::stretch_table()) {
    for (int i = 0; i < kHashed; ++i) tables_[i] = std::make_unique<NibbleTable16>(cfg.table_log);
    start_byte();
  }

  static uint64_t memory_bytes(const FastCmConfig& cfg) {
    return kHashed * NibbleTable16::memory_bytes(cfg.table_log) + MatchModel::memory_bytes(cfg.match_log) +
           256 * 17 * 16 * 2 + 256 * 8 * 2 + Counter16::kTableBytes;
  }

  int p16() {
    const int nib = hist_.nibble_index();
    state_[0] = &o1_bucket_[nib];
    for (int i = 0; i < kHashed; ++i) state_[1 + i] = &bucket_[i][nib];
    static_assert(kCounters == 4);
    mixer_.set_inputs8(stretch_[*state_[0]], stretch_[*state_[1]], stretch_[*state_[2]], stretch_[*state_[3]],
                       static_cast<int16_t>(match_.predict(hist_.c0, hist_.bitpos)), kBias, 0, 0);
    const int select[1] = {hist_.c0};
    int p = squash(mixer_.mix(select)) << 4;
    if (p < kProbFloor) p = kProbFloor;
    if (p > 65535 - kProbFloor) p = 65535 - kProbFloor;
    return p;
  }

  void update(int bit) {
    const uint16_t* next = bit ? next1_ : next0_;
    for (int i = 0; i < kCounters; ++i) *state_[i] = next[*state_[i]];
    match_.update(bit);
    mixer_.update(bit);
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
  void start_nibble() {
    const int hi = hist_.high_nibble();
    o1_bucket_ = &order1_[(static_cast<size_t>(hist_.c1) * 17 + 1 + static_cast<size_t>(hi)) * 16];
    uint32_t h[kHashed];
    for (int i = 0; i < kHashed; ++i) {
      h[i] = ByteHistory::second_nibble_hash(hash_[i], hi);
      tables_[i]->prefetch(h[i]);
    }
    for (int i = 0; i < kHashed; ++i) bucket_[i] = tables_[i]->find(h[i]);
  }

  void start_byte() {
    hash_[0] = hash_mix((hist_.last8 & 0xffffull) | 2ull << 56);
    hash_[1] = hash_mix((hist_.last8 & 0xffffffull) | 3ull << 56);
    hash_[2] = hash_mix((hist_.last8 & 0xffffffffull) | 4ull << 56);
    o1_bucket_ = &order1_[static_cast<size_t>(hist_.c1) * 17 * 16];
    for (int i = 0; i < kHashed; ++i) tables_[i]->prefetch(hash_[i]);
    for (int i = 0; i < kHashed; ++i) bucket_[i] = tables_[i]->find(hash_[i]);
  }

  const uint8_t* data_;
  std::vector<uint16_t> order1_;
  std::unique_ptr<NibbleTable16> tables_[kHashed];
  MatchModel match_;
  Mixer<kInputs, 1> mixer_;
  const uint16_t* next0_;
  const uint16_t* next1_;
  const int16_t* stretch_;

  uint16_t* o1_bucket_ = nullptr;
  uint16_t* bucket_[kHashed] = {};
  uint16_t* state_[kCounters] = {};
  uint32_t hash_[kHashed] = {};
  ByteHistory hist_;
};

}  // namespace

std::vector<uint8_t> FastCmConfig::serialize() const { return {variant, table_log, match_log}; }

Status FastCmConfig::parse(std::span<const uint8_t> params, FastCmConfig* out) {
  if (params.size() != 3) return Error(ErrorCode::kBadParameters, "fast-cm parameters must be 3 bytes, got " + std::to_string(params.size()));
  if (params[0] != kVariantFull && params[0] != kVariantLean)
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
  return variant == kVariantLean ? FastLeanModel::memory_bytes(*this) : FastCmModel::memory_bytes(*this);
}

namespace {
template <class Model>
void encode_with(const FastCmConfig& config, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  auto model = std::make_unique<Model>(config, in.data());
  BinaryEncoder enc(out);
  code_bytes(*model, enc, in.data(), in.size());
  enc.flush();
}

template <class Model>
bool decode_with(const FastCmConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out, bool* exhausted) {
  auto model = std::make_unique<Model>(config, out.data());
  BinaryDecoder dec(in.data(), in.size());
  code_bytes(*model, dec, out.data(), out.size());
  *exhausted = dec.exhausted();
  return !dec.overrun();
}
}  // namespace

Status fast_cm_encode(const FastCmConfig& config, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  if (config.variant == FastCmConfig::kVariantLean) {
    encode_with<FastLeanModel>(config, in, out);
  } else {
    encode_with<FastCmModel>(config, in, out);
  }
  return Status::Ok();
}

Status fast_cm_decode(const FastCmConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out) {
  bool exhausted = false;
  const bool ok = config.variant == FastCmConfig::kVariantLean ? decode_with<FastLeanModel>(config, in, out, &exhausted)
                                                               : decode_with<FastCmModel>(config, in, out, &exhausted);
  if (!ok) return Error(ErrorCode::kCorrupt, "fast-cm block payload ends early");
  if (!exhausted) return Error(ErrorCode::kCorrupt, "fast-cm block payload has trailing bytes");
  return Status::Ok();
}

}  // namespace sibyl
