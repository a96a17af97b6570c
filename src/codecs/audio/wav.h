// RIFF/WAVE detection: where the samples of a WAV file are, for the audio
// codec. Only the encoder parses headers; the header bytes themselves are
// coded as bytes, so the file is restored exactly whatever it holds.
#pragma once

#include <cstdint>
#include <span>

#include "codecs/tensor/tensor_layout.h"

namespace sibyl::audio {

// Recognises a RIFF/WAVE file from its first bytes (which must reach the
// start of the `data` chunk): PCM 8/16/24/32-bit integer or 32-bit float,
// plain or WAVE_FORMAT_EXTENSIBLE, 1 to kMaxChannels channels, chunks in any
// order before `data`. Returns a layout whose header ends where the samples
// start and with one audio region (clipped to a declared data size; bytes
// after it stay bytes), or an empty layout when the bytes are not such a file.
tensor::Layout detect_wav(std::span<const uint8_t> prefix);

}  // namespace sibyl::audio
