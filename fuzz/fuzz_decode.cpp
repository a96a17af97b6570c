// Decodes arbitrary bytes as an archive: must never crash, hang or exceed
// the memory limit; success must mean every checksum matched.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sibyl::DecodeOptions o;
  o.memory_limit = uint64_t(256) << 20;
  std::vector<uint8_t> out;
  (void)sibyl::decompress_buffer({data, size}, o, out);
  return 0;
}
