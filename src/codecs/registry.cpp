#include "codecs/bytes/fast_cm.h"
#include "codecs/codec.h"
#include "codecs/store/store_codec.h"

namespace sibyl {
namespace {

Status fast_cm_check(std::span<const uint8_t> params, uint64_t* memory) {
  FastCmConfig c;
  SIBYL_RETURN_IF_ERROR(FastCmConfig::parse(params, &c));
  *memory = c.memory_bytes();
  return Status::Ok();
}
Status fast_cm_enc(std::span<const uint8_t> params, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  FastCmConfig c;
  SIBYL_RETURN_IF_ERROR(FastCmConfig::parse(params, &c));
  return fast_cm_encode(c, in, out);
}
Status fast_cm_dec(std::span<const uint8_t> params, std::span<const uint8_t> in, std::span<uint8_t> out) {
  FastCmConfig c;
  SIBYL_RETURN_IF_ERROR(FastCmConfig::parse(params, &c));
  return fast_cm_decode(c, in, out);
}

const Codec kFastCmCodec = {kCodecFastCm, "fast-cm", fast_cm_check, fast_cm_enc, fast_cm_dec};

}  // namespace

const Codec* find_codec(uint16_t id) {
  switch (id) {
    case kCodecStore: return &kStoreCodec;
    case kCodecFastCm: return &kFastCmCodec;
    default: return nullptr;
  }
}

}  // namespace sibyl
