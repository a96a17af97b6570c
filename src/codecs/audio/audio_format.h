// Audio sample formats. Stored in archives (codec 4's segment table and
// the stream layout's regions): never renumber.
#pragma once

#include <cstdint>
#include <string>

namespace sibyl::audio {

enum class Sample : uint8_t {
  kNone = 0,  // not audio
  kU8 = 1,    // unsigned 8-bit (WAV's 8-bit PCM)
  kS8 = 2,
  kS16 = 3,   // little-endian signed integers from here on
  kS24 = 4,
  kS32 = 5,
  kF32 = 6,   // IEEE 754 binary32, little-endian
};
inline constexpr int kSampleCount = 7;
// Channels of one interleaved frame the codec accepts (more: coded as bytes).
inline constexpr unsigned kMaxChannels = 32;

inline int sample_bytes(Sample s) {
  switch (s) {
    case Sample::kU8:
    case Sample::kS8: return 1;
    case Sample::kS16: return 2;
    case Sample::kS24: return 3;
    case Sample::kS32:
    case Sample::kF32: return 4;
    default: return 1;
  }
}

// "u8", "s8", "s16le", "s24le", "s32le", "f32le" (as the CLI's --sample takes them).
const char* sample_name(Sample s);
bool parse_sample_name(const std::string& name, Sample* out);

}  // namespace sibyl::audio
