#include "codecs/bytes/classify.h"

#include <algorithm>

#include "codecs/bytes/x86_filter.h"

namespace sibyl {

namespace {
constexpr size_t kChunk = 65536;
// A chunk is flat when the chi-square statistic of its byte histogram
// against the uniform one is at most 4 x its 255 degrees of freedom
// (random data: 255 +- 23). At that bound order-0 coding could save under
// 0.15 % of the chunk. Chunks under 4 KiB are never called flat.
constexpr uint64_t kFlatChi = 4 * 255;
constexpr size_t kMinFlatChunk = 4096;
}  // namespace

const char* block_class_name(BlockClass c) {
  switch (c) {
    case BlockClass::kText: return "text";
    case BlockClass::kMixed: return "mixed";
    case BlockClass::kBinary: return "binary";
    case BlockClass::kRandom: return "random";
    case BlockClass::kX86: return "x86";
  }
  return "?";
}

BlockProfile profile_block(std::span<const uint8_t> in) {
  BlockProfile p;
  p.size = in.size();
  uint32_t total[256] = {};
  for (size_t off = 0; off < in.size(); off += kChunk) {
    const size_t n = std::min(kChunk, in.size() - off);
    uint32_t count[256] = {};
    const uint8_t* d = in.data() + off;
    for (size_t i = 0; i < n; ++i) ++count[d[i]];
    ++p.chunks;
    if (n >= kMinFlatChunk) {
      // chi2 = sum (c - n/256)^2 / (n/256), in integers: sum (256 c - n)^2 <= kFlatChi * 256 * n.
      uint64_t sum = 0;
      for (int b = 0; b < 256; ++b) {
        const int64_t dev = int64_t(count[b]) * 256 - int64_t(n);
        sum += uint64_t(dev * dev);
      }
      if (sum <= kFlatChi * 256 * uint64_t(n)) ++p.flat;
    }
    for (int b = 0; b < 256; ++b) total[b] += count[b];
  }
  p.nul = total[0];
  for (int b = 1; b < 32; ++b)
    if (b != '\t' && b != '\n' && b != '\r') p.control += total[b];
  p.control += total[127];
  p.x86 = x86::looks_like_x86(in);
  return p;
}

BlockClass classify_block(const BlockProfile& p) {
  if (p.size == 0) return BlockClass::kBinary;
  // Random: at least 15 of every 16 chunks flat.
  if (p.flat > 0 && uint64_t(p.flat) * 16 >= uint64_t(p.chunks) * 15) return BlockClass::kRandom;
  // Text: under 1/200 of the non-NUL bytes are control codes and under
  // 1/10 of all bytes are NULs (tar headers and padding, not UTF-16).
  const uint64_t non_nul = p.size - p.nul;
  if (p.nul * 10 < p.size && p.control * 200 < non_nul) return BlockClass::kText;
  // x86 code: the test that decides the x86 transform (enough E8/E9
  // opcodes followed by near displacements), in a block that is not text.
  if (p.x86) return BlockClass::kX86;
  // Binary: at least 1/12 of the non-NUL bytes are control codes
  // (executables and pixel data have 12-16 %; a tar of text files with
  // some binaries, or text with a quarter executable, 1-5 %) or NULs are
  // at least 1/3 of all bytes.
  if (p.control * 12 >= non_nul || p.nul * 3 >= p.size) return BlockClass::kBinary;
  return BlockClass::kMixed;
}

}  // namespace sibyl
