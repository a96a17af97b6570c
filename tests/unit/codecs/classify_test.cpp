#include "codecs/bytes/classify.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codecs/codec.h"
#include "codecs/levels.h"
#include "engine/decoder.h"
#include "engine/encoder.h"
#include "format/container.h"
#include "codecs/container/tar_layout.h"
#include "tar_sample.h"
#include "x86_sample.h"

namespace sibyl {
namespace {

std::vector<uint8_t> text(size_t n) {
  const std::string s = "In the beginning was the word, and the word was with the model.\n\tline two: 42 = x;\r\n";
  std::vector<uint8_t> v;
  while (v.size() < n) v.insert(v.end(), s.begin(), s.end());
  v.resize(n);
  return v;
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Binary records that are not machine code: counters, small 16-bit
// values, zero padding and control codes.
std::vector<uint8_t> binary(size_t n) {
  std::mt19937 rng(5);
  std::vector<uint8_t> v;
  for (uint32_t i = 0; v.size() < n; ++i) {
    for (int k = 0; k < 4; ++k) v.push_back(static_cast<uint8_t>((i * 3) >> (8 * k)));
    const uint32_t r = rng();
    v.insert(v.end(), {static_cast<uint8_t>(r), static_cast<uint8_t>(r >> 8 & 3), 0, 0});
    for (int k = 0; k < 8; ++k) v.push_back(static_cast<uint8_t>(k < 3 ? 1 + rng() % 31 : 0x40 + rng() % 0x80));
  }
  v.resize(n);
  return v;
}

TEST(Classify, Classes) {
  EXPECT_EQ(classify_block(text(100000)), BlockClass::kText);
  EXPECT_EQ(classify_block(binary(100000)), BlockClass::kBinary);
  EXPECT_EQ(classify_block(random_bytes(300000, 1)), BlockClass::kRandom);
  EXPECT_EQ(classify_block(test::x86_sample(100000, 1)), BlockClass::kX86);
  EXPECT_TRUE(profile_block(test::x86_sample(100000, 1)).x86);
  EXPECT_FALSE(profile_block(binary(100000)).x86);
  // Text with a quarter of x86 code: x86 (the class of the x86 transform's test).
  std::vector<uint8_t> with_code = text(300000);
  const auto code = test::x86_sample(100000, 2);
  with_code.insert(with_code.end(), code.begin(), code.end());
  EXPECT_EQ(classify_block(with_code), BlockClass::kX86);
  // A quarter binary, three quarters text: mixed.
  std::vector<uint8_t> mixed = text(300000);
  const auto b = binary(100000);
  mixed.insert(mixed.end(), b.begin(), b.end());
  EXPECT_EQ(classify_block(mixed), BlockClass::kMixed);
  // UTF-8 text is text; UTF-16 (every other byte NUL) is not.
  std::vector<uint8_t> utf8;
  const std::string g = "\xce\xb1\xce\xb2\xce\xb3 \xe6\x97\xa5\xe6\x9c\xac words\n";
  while (utf8.size() < 50000) utf8.insert(utf8.end(), g.begin(), g.end());
  EXPECT_EQ(classify_block(utf8), BlockClass::kText);
  std::vector<uint8_t> utf16;
  for (uint8_t c : text(50000)) utf16.push_back(c), utf16.push_back(0);
  EXPECT_NE(classify_block(utf16), BlockClass::kText);
}

TEST(Classify, EdgeCases) {
  EXPECT_EQ(classify_block(std::vector<uint8_t>{}), BlockClass::kBinary);
  // Random data shorter than a flat-test chunk is never called random.
  EXPECT_NE(classify_block(random_bytes(4000, 2)), BlockClass::kRandom);
  // Random data with a text tail over 1/16 of the block is not random.
  std::vector<uint8_t> r = random_bytes(15 * 65536, 3);
  const auto t = text(2 * 65536);
  r.insert(r.end(), t.begin(), t.end());
  EXPECT_NE(classify_block(r), BlockClass::kRandom);
  // A skewed histogram (bytes 0-127 only) is not flat.
  std::vector<uint8_t> half = random_bytes(200000, 4);
  for (auto& c : half) c &= 0x7f;
  EXPECT_NE(classify_block(half), BlockClass::kRandom);
  // The profile counts what it says.
  const BlockProfile p = profile_block(std::vector<uint8_t>{0, 0, 1, 'a', 0x7f, '\n', 200});
  EXPECT_EQ(p.size, 7u);
  EXPECT_EQ(p.nul, 2u);
  EXPECT_EQ(p.control, 2u);
  EXPECT_EQ(p.chunks, 1u);
  EXPECT_EQ(p.flat, 0u);
}

std::vector<format::BlockHeader> block_headers(const std::vector<uint8_t>& archive) {
  std::vector<format::BlockHeader> out;
  size_t pos = format::kFrameHeaderSize;
  while (pos + format::kBlockHeaderFixedSize <= archive.size() && archive[pos] == format::kKindBlock) {
    format::BlockHeader h;
    const size_t size = format::block_header_size({archive.data() + pos, 4});
    if (!format::parse_block_header({archive.data() + pos, size}, format::kMaxBlockLog, &h).ok()) break;
    out.push_back(h);
    pos += h.encoded_size() + h.coded_size;
  }
  return out;
}

std::vector<uint8_t> round_trip(const std::vector<uint8_t>& in, int level, int block_log) {
  EncodeOptions o;
  o.level = level;
  o.block_log = block_log;
  std::vector<uint8_t> z, back;
  EXPECT_TRUE(compress_buffer(in, o, z).ok());
  DecodeOptions d;
  EXPECT_TRUE(decompress_buffer(z, d, back).ok());
  EXPECT_EQ(back, in);
  return z;
}

// The level table as doc/format.md section 12 gives it.
TEST(Classify, LevelTableMatchesTheFormatDocument) {
  using P = std::vector<uint8_t>;
  const LevelPreset p6 = level_preset(6), p7 = level_preset(7), p9 = level_preset(9), p2 = level_preset(2);
  EXPECT_EQ(p6.class_params[int(BlockClass::kMixed)], (P{0x02, 0x16, 0x16, 0x07, 0x26, 0x12, 0x00, 0x19}));
  EXPECT_EQ(p6.class_params[int(BlockClass::kText)], (P{0x02, 0x16, 0x16, 0x27, 0x26, 0x00, 0x10, 0x19}));
  EXPECT_EQ(p6.class_params[int(BlockClass::kBinary)], (P{0x02, 0x16, 0x16, 0x07, 0xC2, 0x03, 0x00, 0x19}));
  EXPECT_EQ(p6.class_params[int(BlockClass::kRandom)], (P{0x03, 0x10, 0x16}));
  EXPECT_EQ(p6.class_codec[int(BlockClass::kRandom)], kCodecFastCm);
  EXPECT_EQ(p2.class_params[int(BlockClass::kText)], (P{0x02, 0x14, 0x14, 0x07, 0x06, 0x00, 0x00, 0x19}));
  EXPECT_EQ(p7.class_params[int(BlockClass::kText)], (P{0x02, 0x17, 0x17, 0x3F, 0x36, 0x70, 0x10, 0x17}));
  EXPECT_EQ(p7.class_params[int(BlockClass::kBinary)], (P{0x02, 0x17, 0x17, 0x0F, 0xC2, 0x7F, 0x00, 0x17}));
  EXPECT_EQ(p9.class_params[int(BlockClass::kText)], (P{0x02, 0x18, 0x18, 0x7F, 0x36, 0xF8, 0x13, 0x17}));
  EXPECT_EQ(p9.class_params[int(BlockClass::kBinary)], p9.params);
  EXPECT_EQ(p2.class_params[int(BlockClass::kX86)], (P{0x02, 0x14, 0x14, 0x07, 0x00, 0x00, 0x0C, 0x38}));
  EXPECT_EQ(p6.class_params[int(BlockClass::kX86)], (P{0x02, 0x16, 0x16, 0x07, 0xC0, 0x02, 0x0C, 0x38}));
  EXPECT_EQ(p7.class_params[int(BlockClass::kX86)], (P{0x02, 0x17, 0x17, 0x0F, 0xC2, 0x7F, 0x0C, 0x33}));
  EXPECT_EQ(p9.class_params[int(BlockClass::kX86)], (P{0x02, 0x18, 0x18, 0x2F, 0xC6, 0x7F, 0x0C, 0x33}));
  for (int level = 1; level <= 9; ++level) {
    const LevelPreset p = level_preset(level);
    for (int c = 0; c < kBlockClasses; ++c) {
      const Codec* codec = find_codec(p.class_codec[c]);
      ASSERT_NE(codec, nullptr);
      uint64_t memory = 0;
      ASSERT_TRUE(codec->check_params(p.class_params[c], &memory).ok()) << level << " " << c;
      EXPECT_LE(memory, p.model_memory) << level << " " << c;
    }
  }
}

// Through the engine: each block gets its class's codec and parameters, and
// a random block that repeats is still compressed (by level 1's model).
TEST(Classify, BlocksGetTheirClassParameters) {
  std::vector<uint8_t> in = text(1 << 16);
  const auto b = binary(1 << 16);
  in.insert(in.end(), b.begin(), b.end());
  const auto x = test::x86_sample(1 << 16, 6);
  in.insert(in.end(), x.begin(), x.end());
  const auto r = random_bytes(1 << 16, 7);
  in.insert(in.end(), r.begin(), r.end());
  for (int level : {2, 6, 9}) {
    const LevelPreset p = level_preset(level);
    const auto z = round_trip(in, level, 16);
    const auto hs = block_headers(z);
    ASSERT_EQ(hs.size(), 4u);
    EXPECT_EQ(hs[0].codec, p.class_codec[int(BlockClass::kText)]);
    EXPECT_EQ(hs[1].codec, p.class_codec[int(BlockClass::kBinary)]);
    EXPECT_EQ(hs[2].codec, p.class_codec[int(BlockClass::kX86)]);
    EXPECT_EQ(hs[3].codec, kCodecStore);  // nothing to find in one random block
    // The table's parameters, fitted to the block (the context mask and
    // the mixer sets are bytes 3-7 of codec 6's version-2 parameters).
    ASSERT_EQ(hs[0].params.size(), 8u);
    EXPECT_TRUE(std::equal(hs[0].params.begin() + 3, hs[0].params.end(), p.class_params[int(BlockClass::kText)].begin() + 3));
    EXPECT_TRUE(std::equal(hs[1].params.begin() + 3, hs[1].params.end(), p.class_params[int(BlockClass::kBinary)].begin() + 3));
    EXPECT_TRUE(std::equal(hs[2].params.begin() + 3, hs[2].params.end(), p.class_params[int(BlockClass::kX86)].begin() + 3));
    if (level == 6) {
      EXPECT_FALSE(std::equal(hs[0].params.begin() + 3, hs[0].params.end(), hs[1].params.begin() + 3));
    }
  }
  // Random data repeated within a block: level 1's model codes it.
  std::vector<uint8_t> twice = random_bytes(1 << 17, 8);
  twice.insert(twice.end(), twice.begin(), twice.end());
  const auto z = round_trip(twice, 6, 20);
  const auto hs = block_headers(z);
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].codec, kCodecFastCm);
  EXPECT_LT(z.size(), twice.size() * 6 / 10);
}


// An ELF header (the first 20 bytes matter; machine 62: x86-64) and code,
// or text, after it.
std::vector<uint8_t> elf(size_t n, uint32_t seed, int machine = 62, bool code = true) {
  std::vector<uint8_t> v(64, 0);
  v[0] = 0x7f, v[1] = 'E', v[2] = 'L', v[3] = 'F', v[4] = 2, v[5] = 1, v[6] = 1, v[16] = 2;
  v[18] = static_cast<uint8_t>(machine);
  const auto body = code ? test::x86_sample(n - 64, seed) : text(n - 64);
  v.insert(v.end(), body.begin(), body.end());
  return v;
}

// A PE header for AMD64 and code after it.
std::vector<uint8_t> pe(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(128, 0);
  v[0] = 'M', v[1] = 'Z', v[60] = 64;
  v[64] = 'P', v[65] = 'E', v[68] = 0x64, v[69] = 0x86;
  const auto code = test::x86_sample(n - 128, seed);
  v.insert(v.end(), code.begin(), code.end());
  return v;
}

// x86 executables of at least 64 KiB in a tar are blocks of their own, which
// the x86 class takes; the rest stays with its neighbours. The same archive
// for any thread count; smaller ones, other machines and a tar walked
// without asking for code stay as they were.
TEST(Classify, ExecutablesInATarAreBlocksOfTheirOwn) {
  const auto t = test::make_tar({{"README", text(20000)},
                                 {"bin/prog", elf(150000, 1)},
                                 {"NOTES", text(60000)},
                                 {"bin/tool.exe", pe(90000, 2)},
                                 {"bin/small", elf(5000, 3)},
                                 {"bin/arm", elf(100000, 4, 183, false)}});
  std::vector<tensor::Region> found;
  tar::Walker(true).feed(t, 0, &found);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_TRUE(found[0].code && found[1].code);
  EXPECT_EQ(found[0].offset, 512u + 20480 + 512);
  EXPECT_EQ(found[0].bytes, 150000u);
  EXPECT_EQ(found[1].bytes, 90000u);
  EXPECT_TRUE(tar::detect_tar(t).empty());  // without asking: no regions
  // The archive with 1 and with 3 threads (the same bytes), round-tripped.
  auto pack = [&](EncodeOptions o) {
    o.threads = 1;
    std::vector<uint8_t> z, z3, back;
    EXPECT_TRUE(compress_buffer(t, o, z).ok());
    o.threads = 3;
    EXPECT_TRUE(compress_buffer(t, o, z3).ok());
    EXPECT_EQ(z, z3);
    EXPECT_TRUE(decompress_buffer(z, DecodeOptions{}, back).ok());
    EXPECT_EQ(back, t);
    return z;
  };
  for (int level : {2, 6, 9}) {
    EncodeOptions o;
    o.level = level;
    const auto hs = block_headers(pack(o));
    ASSERT_EQ(hs.size(), 5u) << level;
    EXPECT_EQ(hs[1].original_size, 150000u);
    EXPECT_EQ(hs[3].original_size, 90000u);
    for (size_t b = 0; b < hs.size(); ++b) {
      ASSERT_EQ(hs[b].params.size(), 8u);
      // Parameter byte 6 holds the x86 kinds (mask bits 26 and 27).
      EXPECT_EQ(hs[b].params[6] & 0x0c, (b == 1 || b == 3) ? 0x0c : 0) << level << " " << b;
    }
  }
  // Blocks of 64 KiB: the executables are cut by block boundaries too; the
  // pieces inside them are still x86 blocks, and any thread count writes
  // the same archive.
  EncodeOptions o;
  o.block_log = 16;
  int x86_blocks = 0;
  for (const auto& h : block_headers(pack(o))) x86_blocks += h.params.size() == 8 && (h.params[6] & 0x0c) == 0x0c;
  EXPECT_GE(x86_blocks, 4);
}

}  // namespace
}  // namespace sibyl
