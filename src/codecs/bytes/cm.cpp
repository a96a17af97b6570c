#include "codecs/bytes/cm.h"

#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include "codecs/bytes/x86_filter.h"
#include "codecs/text/text_state.h"
#include "coder/binary_coder.h"
#include "common/bytes.h"
#include "common/fixed_math.h"
#include "common/simd.h"
#include "model/adaptive_prob.h"
#include "model/apm.h"
#include "model/bit_history.h"
#include "model/coding_loop.h"
#include "model/match_model.h"
#include "model/mixer.h"
#include "model/nibble_table.h"
#include "model/state_table.h"

namespace sibyl {

CmTuning& cm_tuning() {
  static CmTuning t;
  return t;
}

namespace {

constexpr int kDirect = 2;  // orders 0 and 1, direct arrays of buckets
constexpr int kMaxContexts = kDirect + kCmContextKinds;
constexpr int kMaxInputs = (kMaxContexts + 2 + 7) / 8 * 8;  // + match, bias
constexpr int kSets = 3;                                     // weight-set selectors of the first mixer layer
constexpr int kBias = 256;
constexpr int kProbFloor = 32;

// 65536 / (n + 1.5), the state maps' update rate after n updates.
constexpr std::array<uint32_t, 1024> kSmRate = [] {
  std::array<uint32_t, 1024> t{};
  for (int n = 0; n < 1024; ++n) t[n] = static_cast<uint32_t>(131072 / (2 * n + 3));
  return t;
}();

inline uint32_t hash2(uint64_t a, uint64_t b) { return hash_mix(a * 0x9e3779b97f4a7c15ull ^ hash_mix(b)); }

class CmModel {
 public:
  CmModel(const CmConfig& cfg, const uint8_t* data, size_t size)
      : data_(data),
        table_(cfg.table_log),
        match_(cfg.match_log, size),
        direct_(new uint8_t[(17 + 256 * 17) * 16]()),
        apm_(65536, cm_tuning().apm_rate) {
    for (int k = 0; k < kCmContextKinds; ++k)
      if (cfg.contexts >> k & 1) kinds_[hashed_++] = k;
    n_ = kDirect + hashed_;
    inputs_ = (n_ + 2 + 7) / 8 * 8;
    sm_.resize(static_cast<size_t>(n_) * 256);
    for (int i = 0; i < n_; ++i)
      for (int st = 0; st < 256; ++st)
        sm_[static_cast<size_t>(i) * 256 + st] = uint32_t(bit_history::initial_p16(st)) << 16;
    const int sets[kSets] = {256, 4 * 256, 8 * 8};
    for (int k = 0; k < kSets; ++k) {
      weights_[k].assign(static_cast<size_t>(sets[k]) * kMaxInputs, 0);
      for (int v = 0; v < sets[k]; ++v)
        for (int i = 0; i < n_ + 2; ++i) weights_[k][static_cast<size_t>(v) * kMaxInputs + i] = 2048;
    }
    for (int v = 0; v < 256; ++v)
      for (int k = 0; k < kSets; ++k) final_w_[v][k] = 65536 / kSets;
    start_byte(0);
  }

  // The shared table, the match model, the direct buckets of orders 0 and
  // 1, the APM, the state maps and mixer weights of the most contexts a
  // configuration can name, and the model object itself (at most 64 KiB).
  static uint64_t memory_bytes(const CmConfig& cfg) {
    return StateTable::memory_bytes(cfg.table_log) + MatchModel::memory_bytes(cfg.match_log) + kFixedMemory;
  }
  static constexpr uint64_t kFixedMemory =
      (17 + 256 * 17) * 16 + 65536 * 33 * 2 + kMaxContexts * 256 * 4 + (256 + 1024 + 64) * kMaxInputs * 2 + 65536;

  template <class Coder>
  int code_byte(Coder& coder, int in) {
    int c0 = 1;
    const int expected = match_.expected_byte();
    AdaptiveProb* const match_probs = match_.length_probs();
    const int mlen = std::min(match_.length_bucket(), 3);
    bool match_on = expected >= 0;
    // Locals, because the stores into the uint8_t buckets may alias any
    // member and would force reloads on every iteration.
    const int n = n_;
    uint32_t* const sm = sm_.data();
    const uint32_t* const rate = kSmRate.data();
    const uint32_t limit = static_cast<uint32_t>(sm_limit_);
    const uint8_t* const next = bit_history::kTables.next.data();
    uint8_t* b[kMaxContexts];
    for (int i = 0; i < n; ++i) b[i] = bucket_[i];
    for (int j = 0; j < 8; ++j) {
      if (j == 4) {
        start_nibble(c0 & 15);
        for (int i = 0; i < n; ++i) b[i] = bucket_[i];
      }
      const int idx = j < 4 ? c0 : (1 << (j - 4)) | (c0 & ((1 << (j - 4)) - 1));
      // The next bit's APM row and partial-byte weights are one of two
      // neighbours: fetch them while this bit is worked on.
      if (j < 7) {
        if (apm_on_) apm_.prefetch_pair(static_cast<size_t>(c0 * 2 | c1() << 8));
        __builtin_prefetch(&weights_[0][static_cast<size_t>(c0) * 2 * kMaxInputs]);
        __builtin_prefetch(&weights_[0][static_cast<size_t>(c0) * 2 * kMaxInputs + 32]);
      }
      alignas(16) int16_t x[kMaxInputs] = {};
      uint32_t* slot[kMaxContexts];
      uint8_t st8[kMaxContexts];
      for (int i = 0; i < n; ++i) {
        st8[i] = b[i][idx];
        slot[i] = sm + i * 256 + st8[i];
        x[i] = static_cast<int16_t>(stretch(static_cast<int>(*slot[i] >> 20)));
      }
      AdaptiveProb* match_slot = nullptr;
      if (match_on) {
        if (((expected | 256) >> (8 - j)) == c0) {
          match_slot = match_probs + ((expected >> (7 - j)) & 1);
          x[n] = static_cast<int16_t>(stretch(match_slot->p >> 4));
        } else {
          match_on = false;
        }
      }
      x[n + 1] = kBias;
      const int sel[kSets] = {c0, (match_on ? 1 + std::min(mlen, 2) : 0) * 256 + c1(), found_ * 8 + j};
      int16_t* w[kSets];
      int st_k[kSets], p_k[kSets];
      int64_t acc = 0;
      for (int k = 0; k < kSets; ++k) {
        w[k] = &weights_[k][static_cast<size_t>(sel[k]) * kMaxInputs];
        int st = mixer_kernel::dot(x, w[k], inputs_) >> 13;
        st = std::clamp(st, -kStretchLimit, kStretchLimit);
        st_k[k] = st;
        p_k[k] = squash(st);
        acc += static_cast<int64_t>(final_w_[c0][k]) * st;
      }
      const int st = std::clamp(static_cast<int>(acc >> 16), -kStretchLimit, kStretchLimit);
      const int pm = squash(st);
      int p = pm << 4;
      if (apm_on_) p = (p + apm_.refine(st, static_cast<size_t>(c0 | c1() << 8))) >> 1;
      p = std::clamp(p, kProbFloor, 65535 - kProbFloor);

      const int bit = coder.code((in >> (7 - j)) & 1, static_cast<uint32_t>(p));

      const int64_t target = bit ? (1 << 22) - 1 : 0;
      for (int i = 0; i < n; ++i) {
        const uint32_t w0 = *slot[i];
        const uint32_t cnt = w0 & 1023;
        const int64_t p0 = w0 >> 10;
        const uint32_t np = static_cast<uint32_t>(p0 + (((target - p0) * rate[cnt]) >> 16));
        *slot[i] = np << 10 | (cnt + (cnt < limit));
        b[i][idx] = next[st8[i] * 2 + bit];
      }
      if (match_slot) adapt(*match_slot, bit, MatchModel::kProbLimit);
      for (int k = 0; k < kSets; ++k) mixer_kernel::train(x, w[k], inputs_, ((bit << 12) - p_k[k]) * mixer_rate_);
      const int err2 = (bit << 12) - pm;
      for (int k = 0; k < kSets; ++k) {
        final_w_[c0][k] += (st_k[k] * err2) >> final_shift_;
      }
      if (apm_on_) apm_.update(bit);
      c0 = c0 << 1 | bit;
    }
    return c0 & 255;
  }

  // Called once data[pos - 1] holds the byte code_byte() returned.
  void end_byte(size_t pos) {
    const uint8_t c = data_[pos - 1];
    older16_ = older16_ << 8 | older8_ >> 56;
    older8_ = older8_ << 8 | last8_ >> 56;
    last8_ = last8_ << 8 | c;
    text_.push(c, pos);
    update_record(c, pos - 1);
    match_.next_byte(data_, pos);
    start_byte(pos);
  }

 private:
  int c1() const { return static_cast<int>(last8_ & 255); }

  void update_record(uint8_t c, size_t p) {
    const uint32_t d = static_cast<uint32_t>(p - last_pos_[c]);
    if (last_pos_[c] != 0 && d == last_dist_[c] && d >= 2 && d <= 65535) {
      if (d == record_cand_) {
        if (record_score_ < 64) ++record_score_;
        if (record_score_ >= 16) record_ = d;
      } else if (--record_score_ <= 0) {
        record_cand_ = d;
        record_score_ = 1;
      }
    }
    last_dist_[c] = d;
    last_pos_[c] = static_cast<uint32_t>(p);
  }

  uint32_t context_hash(int kind, size_t pos) const {
    const uint64_t k = static_cast<uint64_t>(kind + 1) << 56;
    const uint64_t l = last8_;
    switch (kind) {
      case kCmOrder2: return hash_mix((l & 0xffff) | k);
      case kCmOrder3: return hash_mix((l & 0xffffff) | k);
      case kCmOrder4: return hash_mix((l & 0xffffffff) | k);
      case kCmOrder5: return hash_mix((l & 0xffffffffffull) | k);
      case kCmOrder6: return hash_mix((l & 0xffffffffffffull) | k);
      case kCmOrder8: return hash2(l, k);
      case kCmOrder12: return hash2(l, (older8_ & 0xffffffff) | k);
      case kCmOrder16: return hash2(l, hash2(older8_, k));
      case kCmOrder24: return hash2(l, hash2(older8_, older16_ ^ k));
      case kCmWord:
        return text_.word0 ? hash_mix(text_.word0 | k) : hash_mix((uint64_t(text_.word1) << 8 | c1()) ^ k ^ 1ull << 48);
      case kCmWordPair:
        return text_.word0 ? hash2(uint64_t(text_.word0) << 32 | text_.word1, k)
                           : hash2(uint64_t(text_.word1) << 32 | text_.word2, k | c1() | 1ull << 48);
      case kCmWordTriple:
        return hash2(uint64_t(text_.word0) << 32 | text_.word1, hash_mix(uint64_t(text_.word2) | k | (text_.word0 ? 0 : uint64_t(c1()) << 32)));
      case kCmColumnAbove: return hash_mix(uint64_t(text_.above(data_, pos)) << 8 | c1() | k);
      case kCmColumn:
        return hash_mix(uint64_t(text_.above(data_, pos)) << 16 | std::min<uint64_t>(text_.column(pos), 1023) | k);
      case kCmSparse23: return hash_mix(((l >> 8) & 0xffff) | k);
      case kCmSparse34: return hash_mix(((l >> 16) & 0xffff) | k);
      case kCmSparse24: return hash_mix(((l >> 8) & 0xff) | ((l >> 16) & 0xff00) | k);
      case kCmRecord: {
        const size_t r = record_;
        const uint64_t a = r && pos >= r ? data_[pos - r] : 0, b = r && pos >= 2 * r ? data_[pos - 2 * r] : 0;
        return hash_mix(uint64_t(r) << 16 | a << 8 | b | k);
      }
      case kCmRecordLast: {
        const size_t r = record_;
        const uint64_t a = r && pos >= r ? data_[pos - r] : 0;
        return hash_mix(uint64_t(r) << 16 | a << 8 | c1() | k);
      }
      case kCmField:
        return hash_mix(uint64_t(std::min<uint32_t>(text_.fields, 255)) << 16 | uint64_t(text_.separator) << 8 | c1() | k);
      default: return hash_mix(k);
    }
  }

  void start_byte(size_t pos) {
    if (apm_on_) apm_.prefetch_pair(static_cast<size_t>(c1()) << 8);
    for (int i = 0; i < hashed_; ++i) {
      hash_[i] = context_hash(kinds_[i], pos);
      table_.prefetch(hash_[i]);
    }
    bucket_[0] = direct_.get();
    bucket_[1] = direct_.get() + (17 + static_cast<size_t>(c1()) * 17) * 16;
    found_ = 0;
    for (int i = 0; i < hashed_; ++i) {
      bucket_[kDirect + i] = table_.find(hash_[i]);
      if (kinds_[i] <= kCmOrder24 && bucket_[kDirect + i][1] != 0) ++found_;
    }
    if (found_ > 7) found_ = 7;
  }

  void start_nibble(int hi) {
    uint32_t h[kCmContextKinds];
    for (int i = 0; i < hashed_; ++i) {
      h[i] = hash_mix(static_cast<uint64_t>(hash_[i]) << 8 | static_cast<uint64_t>(16 + hi));
      table_.prefetch(h[i]);
    }
    bucket_[0] = direct_.get() + (1 + static_cast<size_t>(hi)) * 16;
    bucket_[1] = direct_.get() + (17 + static_cast<size_t>(c1()) * 17 + 1 + static_cast<size_t>(hi)) * 16;
    for (int i = 0; i < hashed_; ++i) bucket_[kDirect + i] = table_.find(h[i]);
  }

  const uint8_t* data_;
  StateTable table_;
  MatchModel match_;
  std::unique_ptr<uint8_t[]> direct_;
  // A state map per context: P(1) of each bit-history state in the high 22
  // bits, its update count (capped at sm_limit_) in the low 10; an update
  // (in code_byte) moves P by 1/(count + 1.5) of the error (kSmRate).
  std::vector<uint32_t> sm_;
  const int sm_limit_ = cm_tuning().sm_limit;
  const int mixer_rate_ = cm_tuning().mixer_rate;
  const bool apm_on_ = cm_tuning().apm != 0;
  const int final_shift_ = 10 + cm_tuning().mixer_shift;
  std::vector<int16_t> weights_[kSets];
  int final_w_[256][kSets];
  Apm apm_;  // order 1
  text::TextState text_;

  int kinds_[kCmContextKinds] = {};
  int hashed_ = 0, n_ = 0, inputs_ = 0, found_ = 0;
  uint32_t hash_[kCmContextKinds] = {};
  uint8_t* bucket_[kMaxContexts] = {};
  uint64_t last8_ = 0, older8_ = 0, older16_ = 0;

  uint32_t last_pos_[256] = {};
  uint32_t last_dist_[256] = {};
  uint32_t record_cand_ = 0, record_ = 0;
  int record_score_ = 0;
};

static_assert(sizeof(CmModel) <= 65536);

}  // namespace

std::vector<uint8_t> CmConfig::serialize() const {
  return {version, table_log, match_log, static_cast<uint8_t>(contexts), static_cast<uint8_t>(contexts >> 8),
          static_cast<uint8_t>(contexts >> 16)};
}

Status CmConfig::parse(std::span<const uint8_t> params, CmConfig* out) {
  if (params.size() != 6) return Error(ErrorCode::kBadParameters, "cm parameters must be 6 bytes, got " + std::to_string(params.size()));
  CmConfig c;
  c.version = params[0];
  if (c.version != kVersion) return Error(ErrorCode::kBadParameters, "unknown cm version " + std::to_string(c.version));
  c.table_log = params[1];
  c.match_log = params[2];
  c.contexts = uint32_t(params[3]) | uint32_t(params[4]) << 8 | uint32_t(params[5]) << 16;
  if (c.table_log < kMinTableLog || c.table_log > kMaxTableLog || c.match_log < kMinMatchLog || c.match_log > kMaxMatchLog)
    return Error(ErrorCode::kBadParameters, "cm table sizes out of range");
  if (c.contexts >> kCmContextKinds) return Error(ErrorCode::kBadParameters, "cm parameters name unknown contexts");
  *out = c;
  return Status::Ok();
}

uint64_t CmConfig::memory_bytes() const { return CmModel::memory_bytes(*this); }

CmConfig CmConfig::fitted(size_t size) const {
  // Each byte touches two buckets per context; a table with about as many
  // buckets as those touches is as good as a bigger one.
  const uint64_t touches = uint64_t(size) * 2 * (kDirect + static_cast<uint64_t>(context_count()));
  int need = 0;
  while (need < 40 && (uint64_t(1) << need) < touches) ++need;
  int mneed = 0;
  while (mneed < 40 && (uint64_t(1) << mneed) < uint64_t(size)) ++mneed;
  CmConfig c = *this;
  c.table_log = static_cast<uint8_t>(std::clamp(std::min<int>(table_log, need), kMinTableLog, kMaxTableLog));
  c.match_log = static_cast<uint8_t>(std::clamp(std::min<int>(match_log, mneed + 1), kMinMatchLog, kMaxMatchLog));
  return c;
}

// Payload: one flags byte (bit 0: the block was coded after the x86
// transform), then the arithmetic-coded bytes.
namespace {
constexpr uint8_t kFlagX86 = 1;
}

Status cm_encode(const CmConfig& config, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  std::vector<uint8_t> filtered;
  const std::span<const uint8_t> original = in;
  if (cm_tuning().x86 && x86::looks_like_x86(in)) {
    filtered.assign(in.begin(), in.end());
    x86::transform(filtered, true);
    in = filtered;
  }
  out.clear();
  out.push_back(filtered.empty() ? 0 : kFlagX86);
  {
    auto model = std::make_unique<CmModel>(config, in.data(), in.size());
    BinaryEncoder enc(out);
    code_bytewise(*model, enc, in.data(), in.size());
    enc.flush();
  }
  if (!filtered.empty()) {
    // Self-check: the inverse must restore the block exactly; if it ever
    // did not, the block is coded without the transform.
    x86::transform(filtered, false);
    if (!std::equal(filtered.begin(), filtered.end(), original.begin(), original.end())) {
      out.assign(1, 0);
      auto model = std::make_unique<CmModel>(config, original.data(), original.size());
      BinaryEncoder enc(out);
      code_bytewise(*model, enc, original.data(), original.size());
      enc.flush();
    }
  }
  return Status::Ok();
}

Status cm_decode(const CmConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out) {
  if (in.empty()) return Error(ErrorCode::kCorrupt, "cm block payload is empty");
  const uint8_t flags = in[0];
  if (flags & ~kFlagX86) return Error(ErrorCode::kCorrupt, "cm block payload has unknown flags");
  in = in.subspan(1);
  auto model = std::make_unique<CmModel>(config, out.data(), out.size());
  BinaryDecoder dec(in.data(), in.size());
  code_bytewise(*model, dec, out.data(), out.size());
  if (dec.overrun()) return Error(ErrorCode::kCorrupt, "cm block payload ends early");
  if (!dec.exhausted()) return Error(ErrorCode::kCorrupt, "cm block payload has trailing bytes");
  if (flags & kFlagX86) x86::transform(out, false);
  return Status::Ok();
}

}  // namespace sibyl
