// Compresses arbitrary input (first byte picks the level and block size),
// decompresses and compares; compresses twice and compares the archives.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "engine/decoder.h"
#include "engine/encoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  sibyl::EncodeOptions o;
  o.level = 1 + data[0] % 9;
  o.block_log = 10 + (data[0] >> 4) % 4;
  o.threads = 1 + (data[0] >> 6);
  const std::vector<uint8_t> in(data + 1, data + size);
  std::vector<uint8_t> z1, z2, back;
  if (!sibyl::compress_buffer(in, o, z1).ok()) std::abort();
  o.threads = 1;
  if (!sibyl::compress_buffer(in, o, z2).ok() || z1 != z2) std::abort();
  if (!sibyl::decompress_buffer(z1, sibyl::DecodeOptions{}, back).ok() || back != in) std::abort();
  return 0;
}
