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

std::vector<uint8_t> fast_cm_fit(std::span<const uint8_t> params, size_t size) {
  FastCmConfig c;
  if (!FastCmConfig::parse(params, &c).ok()) return {params.begin(), params.end()};
  return c.fitted(size).serialize();
}

const Codec kFastCmCodec = {kCodecFastCm, "fast-cm", fast_cm_check, fast_cm_enc, fast_cm_dec, fast_cm_fit};

}  // namespace

const Codec* find_codec(uint16_t id) {
  switch (id) {
    case kCodecStore: return &kStoreCodec;
    case kCodecFastCm: return &kFastCmCodec;
    default: return nullptr;
  }
}

}  // namespace sibyl
