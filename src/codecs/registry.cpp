#include "codecs/audio/audio_codec.h"
#include "codecs/bytes/cm.h"
#include "codecs/bytes/fast_cm.h"
#include "codecs/codec.h"
#include "codecs/image/image_codec.h"
#include "codecs/pc/pc_codec.h"
#include "codecs/store/store_codec.h"
#include "codecs/tensor/tensor_codec.h"

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

Status cm_check(std::span<const uint8_t> params, uint64_t* memory) {
  CmConfig c;
  SIBYL_RETURN_IF_ERROR(CmConfig::parse(params, &c));
  *memory = c.memory_bytes();
  return Status::Ok();
}
Status cm_enc(std::span<const uint8_t> params, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  CmConfig c;
  SIBYL_RETURN_IF_ERROR(CmConfig::parse(params, &c));
  return cm_encode(c, in, out);
}
Status cm_dec(std::span<const uint8_t> params, std::span<const uint8_t> in, std::span<uint8_t> out) {
  CmConfig c;
  SIBYL_RETURN_IF_ERROR(CmConfig::parse(params, &c));
  return cm_decode(c, in, out);
}
std::vector<uint8_t> cm_fit(std::span<const uint8_t> params, size_t size) {
  CmConfig c;
  if (!CmConfig::parse(params, &c).ok()) return {params.begin(), params.end()};
  return c.fitted(size).serialize();
}
const Codec kCmCodec = {kCodecCm, "cm", cm_check, cm_enc, cm_dec, cm_fit};

// Codecs 2 and 3 share one implementation; kLossy picks the payload form.
// Without a stream layout (the engine passes one through encode_block) a
// block is taken as a container of its own, or as bytes; codec 3's entry
// then codes it losslessly in its own form (the engine passes the bound).
template <bool kLossy>
Status tensor_check(std::span<const uint8_t> params, uint64_t* memory) {
  tensor::TensorConfig c;
  SIBYL_RETURN_IF_ERROR(tensor::TensorConfig::parse(params, &c));
  *memory = c.memory_bytes(kLossy);
  return Status::Ok();
}
template <bool kLossy>
Status tensor_enc(std::span<const uint8_t> params, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  tensor::TensorConfig c;
  SIBYL_RETURN_IF_ERROR(tensor::TensorConfig::parse(params, &c));
  const tensor::Layout layout = tensor::detect_layout(in, in.size());
  const std::vector<tensor::Segment> segs = tensor::block_segments(layout, 0, in.size());
  if (!kLossy) return tensor::tensor_encode(c, segs, in, out);
  const tensor::ErrorBound exact{tensor::ErrorBound::kAbsolute, 0.0};  // no positive step: every segment lossless
  std::vector<uint8_t> decoded;
  return tensor::tensor_encode(c, segs, in, out, &exact, &decoded);
}
template <bool kLossy>
Status tensor_dec(std::span<const uint8_t> params, std::span<const uint8_t> in, std::span<uint8_t> out) {
  tensor::TensorConfig c;
  SIBYL_RETURN_IF_ERROR(tensor::TensorConfig::parse(params, &c));
  return tensor::tensor_decode(c, in, out, kLossy);
}

const Codec kTensorCodec = {kCodecTensor, "tensor", tensor_check<false>, tensor_enc<false>, tensor_dec<false>, nullptr};
const Codec kTensorLossyCodec = {kCodecTensorLossy, "tensor-lossy", tensor_check<true>, tensor_enc<true>,
                                 tensor_dec<true>, nullptr};

// Without a stream layout a block is taken as a WAV file of its own, or as bytes.
Status audio_check(std::span<const uint8_t> params, uint64_t* memory) {
  audio::AudioConfig c;
  SIBYL_RETURN_IF_ERROR(audio::AudioConfig::parse(params, &c));
  *memory = c.memory_bytes();
  return Status::Ok();
}
Status audio_enc(std::span<const uint8_t> params, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  audio::AudioConfig c;
  SIBYL_RETURN_IF_ERROR(audio::AudioConfig::parse(params, &c));
  const tensor::Layout layout = tensor::detect_layout(in, in.size());
  return audio::audio_encode(c, tensor::block_segments(layout, 0, in.size()), in, out);
}
Status audio_dec(std::span<const uint8_t> params, std::span<const uint8_t> in, std::span<uint8_t> out) {
  audio::AudioConfig c;
  SIBYL_RETURN_IF_ERROR(audio::AudioConfig::parse(params, &c));
  return audio::audio_decode(c, in, out);
}
const Codec kAudioCodec = {kCodecAudio, "audio", audio_check, audio_enc, audio_dec, nullptr};

// Without a stream layout a block is taken as a PNM file of its own, or as bytes.
Status image_check(std::span<const uint8_t> params, uint64_t* memory) {
  image::ImageConfig c;
  SIBYL_RETURN_IF_ERROR(image::ImageConfig::parse(params, &c));
  *memory = c.memory_bytes();
  return Status::Ok();
}
Status image_enc(std::span<const uint8_t> params, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  image::ImageConfig c;
  SIBYL_RETURN_IF_ERROR(image::ImageConfig::parse(params, &c));
  const tensor::Layout layout = tensor::detect_layout(in, in.size());
  return image::image_encode(c, tensor::block_segments(layout, 0, in.size()), in, out);
}
Status image_dec(std::span<const uint8_t> params, std::span<const uint8_t> in, std::span<uint8_t> out) {
  image::ImageConfig c;
  SIBYL_RETURN_IF_ERROR(image::ImageConfig::parse(params, &c));
  return image::image_decode(c, in, out);
}
const Codec kImageCodec = {kCodecImage, "image", image_check, image_enc, image_dec, nullptr};

// Without a stream layout a block is taken as records from offset 0 (an
// IDX/NPY/PGM header is found as in the engine).
Status pc_enc(std::span<const uint8_t> params, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  pc::PcConfig c;
  SIBYL_RETURN_IF_ERROR(pc::PcConfig::parse(params, &c));
  const auto prior = pc::find_prior(c.prior_hash);
  if (!prior) return Error(ErrorCode::kBadParameters, "pc: the prior is not registered");
  const tensor::Layout layout = pc::record_layout(in, prior->model.vars);
  return pc::pc_encode(c, tensor::block_segments(layout, 0, in.size()), in, out);
}
Status pc_dec(std::span<const uint8_t> params, std::span<const uint8_t> in, std::span<uint8_t> out) {
  pc::PcConfig c;
  SIBYL_RETURN_IF_ERROR(pc::PcConfig::parse(params, &c));
  return pc::pc_decode(c, in, out);
}
const Codec kPcCodec = {kCodecPc, "pc", pc::pc_check, pc_enc, pc_dec, nullptr};

}  // namespace

const Codec* find_codec(uint16_t id) {
  switch (id) {
    case kCodecStore: return &kStoreCodec;
    case kCodecFastCm: return &kFastCmCodec;
    case kCodecTensor: return &kTensorCodec;
    case kCodecTensorLossy: return &kTensorLossyCodec;
    case kCodecAudio: return &kAudioCodec;
    case kCodecImage: return &kImageCodec;
    case kCodecCm: return &kCmCodec;
    case kCodecPc: return &kPcCodec;
    default: return nullptr;
  }
}

}  // namespace sibyl
