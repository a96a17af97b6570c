// A codec turns one block of bytes into a payload and back. Codecs are
// stateless between blocks: everything a decoder needs is the payload, the
// block's original size and the parameters stored in the block header.
//
// Codec ids are part of the format and are never reused (doc/format.md).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace sibyl {

enum CodecId : uint16_t {
  kCodecStore = 0,   // bytes stored as they are
  kCodecFastCm = 1,  // fast context-mixing byte model (src/codecs/bytes/fast_cm)
  kCodecTensor = 2,  // numbers split into sign, exponent, mantissa (src/codecs/tensor)
  kCodecTensorLossy = 3,  // the same with float tensors quantised within an error bound
  kCodecAudio = 4,        // PCM audio: LPC, LMS cascade, modelled residuals (src/codecs/audio)
  kCodecImage = 5,        // images: blended predictors, context-mixed residuals (src/codecs/image)
  kCodecCm = 6,           // strong context-mixing byte model (src/codecs/bytes/cm)
  kCodecPc = 7,           // records coded from a trained probabilistic circuit (src/codecs/pc)
};

struct Codec {
  uint16_t id;
  const char* name;
  // Validates parameters and reports the memory (bytes) the codec's model
  // needs to decode one block with them, before anything is allocated.
  Status (*check_params)(std::span<const uint8_t> params, uint64_t* memory);
  Status (*encode)(std::span<const uint8_t> params, std::span<const uint8_t> in, std::vector<uint8_t>& out);
  // `out` has exactly the block's original size.
  Status (*decode)(std::span<const uint8_t> params, std::span<const uint8_t> in, std::span<uint8_t> out);
  // Encoder-only: shrinks a level's parameters for a block of `size` bytes
  // (no table bigger than the block can fill). May be nullptr.
  std::vector<uint8_t> (*fit_params)(std::span<const uint8_t> params, size_t size);
};

// nullptr for an id this build does not know.
const Codec* find_codec(uint16_t id);

}  // namespace sibyl
