#include "codecs/audio/wav.h"

#include <cstring>

#include "common/bytes.h"

namespace sibyl::audio {

namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatFloat = 3;
constexpr uint16_t kFormatExtensible = 0xfffe;
// The tail of the KSDATAFORMAT_SUBTYPE GUIDs (after the 2-byte format tag).
constexpr uint8_t kGuidTail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71};

const struct {
  const char* name;
  Sample sample;
} kNames[] = {{"u8", Sample::kU8},       {"s8", Sample::kS8},       {"s16le", Sample::kS16},
              {"s24le", Sample::kS24},   {"s32le", Sample::kS32},   {"f32le", Sample::kF32}};

}  // namespace

const char* sample_name(Sample s) {
  for (const auto& n : kNames)
    if (n.sample == s) return n.name;
  return "?";
}

bool parse_sample_name(const std::string& name, Sample* out) {
  for (const auto& n : kNames) {
    if (name == n.name) {
      *out = n.sample;
      return true;
    }
  }
  return false;
}

tensor::Layout detect_wav(std::span<const uint8_t> prefix) {
  tensor::Layout none;
  const uint8_t* p = prefix.data();
  const size_t n = prefix.size();
  if (n < 12 || std::memcmp(p, "RIFF", 4) != 0 || std::memcmp(p + 8, "WAVE", 4) != 0) return none;
  Sample sample = Sample::kNone;
  unsigned channels = 0;
  size_t pos = 12;
  while (pos + 8 <= n) {
    const uint8_t* c = p + pos;
    const uint32_t size = load_le32(c + 4);
    const size_t body = pos + 8;
    if (std::memcmp(c, "fmt ", 4) == 0) {
      if (size < 16 || body + size > n || sample != Sample::kNone) return none;
      const uint8_t* f = p + body;
      uint16_t tag = load_le16(f);
      channels = load_le16(f + 2);
      const uint16_t align = load_le16(f + 12);
      const uint16_t bits = load_le16(f + 14);
      if (tag == kFormatExtensible) {
        // cbSize >= 22, then valid bits, channel mask and the subformat GUID.
        if (size < 40 || load_le16(f + 16) < 22 || std::memcmp(f + 26, kGuidTail, sizeof(kGuidTail)) != 0) return none;
        tag = load_le16(f + 24);
      }
      if (tag == kFormatPcm) {
        sample = bits == 8 ? Sample::kU8 : bits == 16 ? Sample::kS16 : bits == 24 ? Sample::kS24
               : bits == 32 ? Sample::kS32 : Sample::kNone;
      } else if (tag == kFormatFloat && bits == 32) {
        sample = Sample::kF32;
      }
      if (sample == Sample::kNone || channels == 0 || channels > kMaxChannels ||
          align != channels * static_cast<unsigned>(sample_bytes(sample)))
        return none;
    } else if (std::memcmp(c, "data", 4) == 0) {
      if (sample == Sample::kNone) return none;  // samples before their format
      tensor::Layout l;
      l.container = "wav";
      l.header_bytes = body;
      tensor::Region r;
      r.offset = body;
      // A streamed WAV may declare 0 or 0xffffffff: the samples then run to the end.
      r.bytes = size == 0 || size == 0xffffffffu ? UINT64_MAX - body : size;
      r.row = channels;
      r.sample = sample;
      l.regions.push_back(r);
      return l;
    }
    // Chunks are padded to an even size.
    const uint64_t next = static_cast<uint64_t>(body) + size + (size & 1);
    if (next > n) return none;
    pos = static_cast<size_t>(next);
  }
  return none;
}

}  // namespace sibyl::audio
