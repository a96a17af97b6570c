// Feeds arbitrary payloads straight to each codec's block decoder, below the
// container's checks (no checksum stands in front of the model here):
//   byte 0        codec id (modulo the number of ids this build knows + 1,
//                 so unknown ids are tried too)
//   byte 1        parameter length P (0..15)
//   bytes 2..     P parameter bytes, a 2-byte original size (little-endian,
//                 so at most 64 KiB), then the payload.
// The decoder must return an error or fill the output; never crash, hang
// or allocate more than check_params() reported.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codecs/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint16_t id = static_cast<uint16_t>(data[0] % 8);
  const size_t plen = data[1] % 16;
  if (size < 2 + plen + 2) return 0;
  const std::span<const uint8_t> params(data + 2, plen);
  const size_t orig = static_cast<size_t>(data[2 + plen]) | static_cast<size_t>(data[3 + plen]) << 8;
  const std::span<const uint8_t> payload(data + 4 + plen, size - 4 - plen);
  const sibyl::Codec* codec = sibyl::find_codec(id);
  if (!codec) return 0;
  uint64_t memory = 0;
  if (!codec->check_params(params, &memory).ok()) return 0;
  if (memory > (uint64_t(512) << 20)) return 0;  // the container's memory limit refuses these
  std::vector<uint8_t> out(orig);
  (void)codec->decode(params, payload, out);
  return 0;
}
