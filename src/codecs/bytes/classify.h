// Block classification for the byte codecs: each block that no format
// codec (tensor, audio, image) takes is classified from its byte
// statistics, and the level table (codecs/levels.cpp) gives each class its
// own byte-model parameters. The class only chooses parameters that are
// written in the block header, so decoders need nothing from it, and it
// depends on the block's bytes alone (integer arithmetic), so the choice is
// the same for any thread count, build or CPU.
#pragma once

#include <cstdint>
#include <span>

namespace sibyl {

enum class BlockClass : uint8_t {
  kText = 0,    // letters, digits, punctuation and white space (ASCII or UTF-8), few NULs
  kMixed = 1,   // text with some binary data (archives of both, documents with binary parts)
  kBinary = 2,  // executables, numbers, pixels, binary formats
  kRandom = 3,  // flat byte histogram everywhere: compressed or encrypted data
  kX86 = 4,     // binary or mixed, with x86 machine code (calls and jumps with near displacements)
};
inline constexpr int kBlockClasses = 5;

const char* block_class_name(BlockClass c);

struct BlockProfile {
  uint64_t size = 0;
  uint64_t nul = 0;       // bytes 0x00
  uint64_t control = 0;   // 0x01-0x08, 0x0b, 0x0c, 0x0e-0x1f, 0x7f
  uint32_t chunks = 0;    // 64 KiB chunks (the last one may be shorter)
  uint32_t flat = 0;      // chunks whose byte histogram is as flat as random data's
  bool x86 = false;       // x86::looks_like_x86 (the test of the x86 transform)
};

BlockProfile profile_block(std::span<const uint8_t> in);
BlockClass classify_block(const BlockProfile& p);
inline BlockClass classify_block(std::span<const uint8_t> in) { return classify_block(profile_block(in)); }

}  // namespace sibyl
