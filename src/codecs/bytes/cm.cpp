#include "codecs/bytes/cm.h"

#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include "codecs/bytes/x86_filter.h"
#include "codecs/bytes/x86_parse.h"
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

// The baseline copy: SSE2 kernels (scalar with SIBYL_NO_SIMD).
namespace cm_base {
constexpr bool kAvx2Copy = false;
namespace kern {
using mixer_kernel::dot;
using mixer_kernel::train;
}  // namespace kern
#include "codecs/bytes/cm_model.inc"
}  // namespace cm_base

#if defined(SIBYL_AVX2_DISPATCH)
// The AVX2 copy: the same source compiled for AVX2.
SIBYL_BEGIN_AVX2_REGION
namespace cm_avx2 {
constexpr bool kAvx2Copy = true;  // code_byte_n's 10-context copy uses 256-bit vectors
namespace kern {
inline int32_t dot(const int16_t* x, const int16_t* w, int n) { return mixer_kernel::dot_avx2(x, w, n); }
inline void train(const int16_t* x, int16_t* w, int n, int err) { mixer_kernel::train_avx2(x, w, n, err); }
}  // namespace kern
#include "codecs/bytes/cm_model.inc"
}  // namespace cm_avx2
SIBYL_END_AVX2_REGION
#endif

void encode_block(const CmConfig& config, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
#if defined(SIBYL_AVX2_DISPATCH)
  if (simd_level() >= SimdLevel::kAvx2) return cm_avx2::encode_block(config, in, out);
#endif
  cm_base::encode_block(config, in, out);
}

int decode_block(const CmConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out) {
#if defined(SIBYL_AVX2_DISPATCH)
  if (simd_level() >= SimdLevel::kAvx2) return cm_avx2::decode_block(config, in, out);
#endif
  return cm_base::decode_block(config, in, out);
}

}  // namespace

std::vector<uint8_t> CmConfig::serialize() const {
  std::vector<uint8_t> p = {version, table_log, match_log, static_cast<uint8_t>(contexts),
                            static_cast<uint8_t>(contexts >> 8), static_cast<uint8_t>(contexts >> 16)};
  if (version >= 2) {
    p.push_back(static_cast<uint8_t>(contexts >> 24));
    p.push_back(mixer);
  }
  return p;
}

Status CmConfig::parse(std::span<const uint8_t> params, CmConfig* out) {
  if (params.empty()) return Error(ErrorCode::kBadParameters, "cm parameters must be 6 or 8 bytes, got 0");
  CmConfig c;
  c.version = params[0];
  if (c.version != 1 && c.version != 2) return Error(ErrorCode::kBadParameters, "unknown cm version " + std::to_string(c.version));
  const size_t want = c.version == 1 ? 6 : 8;
  if (params.size() != want)
    return Error(ErrorCode::kBadParameters, "cm version " + std::to_string(c.version) + " parameters must be " +
                                                std::to_string(want) + " bytes, got " + std::to_string(params.size()));
  c.table_log = params[1];
  c.match_log = params[2];
  c.contexts = uint32_t(params[3]) | uint32_t(params[4]) << 8 | uint32_t(params[5]) << 16;
  if (c.version >= 2) {
    c.contexts |= uint32_t(params[6]) << 24;
    c.mixer = params[7];
  }
  if (c.table_log < kMinTableLog || c.table_log > kMaxTableLog || c.match_log < kMinMatchLog || c.match_log > kMaxMatchLog)
    return Error(ErrorCode::kBadParameters, "cm table sizes out of range");
  if (c.contexts >> (c.version == 1 ? kCmV1ContextKinds : kCmContextKinds))
    return Error(ErrorCode::kBadParameters, "cm parameters name unknown contexts");
  if (c.context_count() > kCmMaxKinds) return Error(ErrorCode::kBadParameters, "cm parameters name more than 28 contexts");
  if (c.mixer >> kCmMixerBits) return Error(ErrorCode::kBadParameters, "cm parameters name unknown mixer weight sets");
  *out = c;
  return Status::Ok();
}

uint64_t CmConfig::memory_bytes() const { return cm_base::CmModel::memory_bytes(*this); }

CmConfig CmConfig::fitted(size_t size) const {
  // Each byte touches two buckets per context; a table with about as many
  // buckets as those touches is as good as a bigger one.
  const uint64_t touches = uint64_t(size) * 2 * (cm_base::kDirect + static_cast<uint64_t>(context_count()));
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
  if (config.context_count() > kCmMaxKinds) return Error(ErrorCode::kBadParameters, "cm parameters name more than 28 contexts");
  std::vector<uint8_t> filtered;
  const std::span<const uint8_t> original = in;
  if (cm_tuning().x86 && x86::looks_like_x86(in)) {
    filtered.assign(in.begin(), in.end());
    x86::transform(filtered, true);
    in = filtered;
  }
  out.clear();
  out.push_back(filtered.empty() ? 0 : kFlagX86);
  encode_block(config, in, out);
  if (!filtered.empty()) {
    // Self-check: the inverse must restore the block exactly; if it ever
    // did not, the block is coded without the transform.
    x86::transform(filtered, false);
    if (!std::equal(filtered.begin(), filtered.end(), original.begin(), original.end())) {
      out.assign(1, 0);
      encode_block(config, original, out);
    }
  }
  return Status::Ok();
}

Status cm_decode(const CmConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out) {
  if (config.context_count() > kCmMaxKinds) return Error(ErrorCode::kBadParameters, "cm parameters name more than 28 contexts");
  if (in.empty()) return Error(ErrorCode::kCorrupt, "cm block payload is empty");
  const uint8_t flags = in[0];
  if (flags & ~kFlagX86) return Error(ErrorCode::kCorrupt, "cm block payload has unknown flags");
  in = in.subspan(1);
  const int r = decode_block(config, in, out);
  if (r == 1) return Error(ErrorCode::kCorrupt, "cm block payload ends early");
  if (r == 2) return Error(ErrorCode::kCorrupt, "cm block payload has trailing bytes");
  if (flags & kFlagX86) x86::transform(out, false);
  return Status::Ok();
}

}  // namespace sibyl
