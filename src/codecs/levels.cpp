#include "codecs/levels.h"

#include "codecs/audio/audio_codec.h"
#include "codecs/bytes/cm.h"
#include "codecs/bytes/fast_cm.h"
#include "codecs/codec.h"
#include "codecs/image/image_codec.h"
#include "codecs/tensor/tensor_codec.h"

namespace sibyl {

namespace {
// Level 1: the lean fast-cm model (orders 1, 2, 4 and the match model).
constexpr uint8_t kLevel1TableLog = 16, kLevel1MatchLog = 18;

// Levels 2-9: the strong model (codec 6). Per level the context kinds (on
// top of orders 0 and 1 and the match model), log2 of the shared table's
// 16-byte buckets and of the match model's entries. Each step adds the
// kinds that gave the most per unit of time on the tuning slices
// (doc/models/bytes.md); bigger tables keep more contexts apart on big
// inputs.
constexpr uint32_t bit(int k) { return uint32_t(1) << k; }
constexpr uint32_t kCm2 = bit(kCmOrder2) | bit(kCmOrder3) | bit(kCmOrder4) | bit(kCmWord) | bit(kCmSparse34);
constexpr uint32_t kCm3 = kCm2 | bit(kCmRecord);
constexpr uint32_t kCm4 = kCm3 | bit(kCmSparse23);
constexpr uint32_t kCm6 = kCm4 | bit(kCmColumn);
// Mixed blocks at level 6 (mostly text with binary parts: a tar of a
// program's files, text with a table of numbers): word pair and indirect 1
// in place of the two sparse kinds, 0.8 % smaller on three such blocks
// (doc/models/bytes.md); levels 7-9 build on kCm6.
constexpr uint32_t kMixed6 =
    (kCm6 & ~(bit(kCmSparse23) | bit(kCmSparse34))) | bit(kCmWordPair) | bit(kCmIndirect1);
constexpr uint32_t kCm7 = kCm6 | bit(kCmOrder5) | bit(kCmSparse24) | bit(kCmField);
constexpr uint32_t kCm9 = kCm7 | bit(kCmOrder8) | bit(kCmWordPair) | bit(kCmColumnAbove) | bit(kCmRecordLast);
// Blocks classified as text (classify.h) use kinds that pay on text in
// place of the sparse and record ones, which pay on binary data only.
constexpr uint32_t kText2 = bit(kCmOrder2) | bit(kCmOrder3) | bit(kCmOrder4) | bit(kCmWord) | bit(kCmWordPair);
constexpr uint32_t kText3 = kText2 | bit(kCmColumn);
constexpr uint32_t kText4 = kText3 | bit(kCmOrder8);
// Level 6 adds C-like nesting (kind 28); the field kind, which it replaced
// there (0.44 % smaller on the text slices, the C sources 2.6 %; the CSV
// 0.1 % larger), comes back at 8 and 9.
constexpr uint32_t kText6 = kText4 | bit(kCmNest);
constexpr uint32_t kText7 = kText6 | bit(kCmOrder5) | bit(kCmOrder6) | bit(kCmColumnAbove);
// Levels 8 and 9 add three more line and word kinds for text (0.6 % on
// the text slices for 11 % of the time) and the field kind again.
constexpr uint32_t kText9 =
    kText7 | bit(kCmOrder12) | bit(kCmWordSkip) | bit(kCmLineStart) | bit(kCmIndent) | bit(kCmField);
// Binary blocks from level 6 on: the column kind gives way to sparse 2-4.
constexpr uint32_t kBin6 = kCm4 | bit(kCmSparse24);
constexpr uint32_t kBin7 = kBin6 | bit(kCmOrder5) | bit(kCmField) | bit(kCmRecordLast);
// Version 2's kinds: what followed the last one and two bytes before, and
// the match model's expected byte as a context.
constexpr uint32_t kNew = bit(kCmIndirect1) | bit(kCmIndirect2) | bit(kCmMatchByte);
// Extra weight sets of the first mixer layer (version 2).
// Levels 2-6 trade the contexts-found set for the order-2 one (as fast,
// 0.8 % smaller on the tuning slices at level 6) and choose the partial
// byte's set by the contexts found and the last byte's class too; the
// higher levels keep the found set and add all three.
constexpr uint8_t kMixO2 = 1 << kCmSetOrder2 | 1 << kCmSetDropFound | 1 << kCmSetWideFirst;
constexpr uint8_t kMixAll = 1 << kCmSetOrder2 | 1 << kCmSetText | 1 << kCmSetSparse3 | 1 << kCmSetWideFirst;
// Blocks of x86 code (classify.h): the binary kinds with two x86 kinds
// (where the next byte lies in its instruction) in place of two others,
// and a mixer set chosen by the x86 field in place of the order-2 (levels
// 2-6) or the byte-three-back one (7-9): as many contexts and sets as the
// binary blocks of the level, so the same speed, except at level 7, which
// adds the two kinds to its binary ones. Word and sparse 3-4 give way at
// levels 2-5, word and sparse 2-4 at 6, the two column kinds at 8-9.
constexpr uint32_t kX86 = bit(kCmX86Op) | bit(kCmX86Hist);
constexpr uint32_t x86_kinds(uint32_t binary, uint32_t out) { return (binary & ~out) | kX86; }
constexpr uint32_t kX862 = x86_kinds(kCm2, bit(kCmWord) | bit(kCmSparse34));
constexpr uint32_t kX863 = x86_kinds(kCm3, bit(kCmWord) | bit(kCmSparse34));
constexpr uint32_t kX864 = x86_kinds(kCm4, bit(kCmWord) | bit(kCmSparse34));
constexpr uint32_t kX866 = x86_kinds(kBin6, bit(kCmWord) | bit(kCmSparse24));
constexpr uint32_t kX867 = kBin7 | kNew | kX86;
constexpr uint32_t kX869 = x86_kinds(kCm9 | kNew, bit(kCmColumn) | bit(kCmColumnAbove));
constexpr uint8_t kMixO2X86 = (kMixO2 & ~(1 << kCmSetOrder2)) | 1 << kCmSetX86;
constexpr uint8_t kMixAllX86 = (kMixAll & ~(1 << kCmSetSparse3)) | 1 << kCmSetX86;
// Columns: mixed blocks (the kinds above), text blocks, binary blocks,
// x86 blocks; the mixer sets of all but x86 blocks, of x86 blocks.
struct CmRow {
  uint32_t contexts, text, binary, x86;
  uint8_t table_log, match_log, mixer, x86_mixer;
};
constexpr CmRow kCmRows[kMaxLevel + 1] = {
    {0, 0, 0, 0, 0, 0, 0, 0},                                                    // unused
    {0, 0, 0, 0, 0, 0, 0, 0},                                                    // -1: fast-cm
    {kCm2, kText2, kCm2, kX862, 20, 20, kMixO2, kMixO2X86},                      // -2: 16 MiB table
    {kCm3, kText3, kCm3, kX863, 21, 21, kMixO2, kMixO2X86},                      // -3
    {kCm4, kText4, kCm4, kX864, 21, 21, kMixO2, kMixO2X86},                      // -4
    {kCm4, kText4, kCm4, kX864, 22, 22, kMixO2, kMixO2X86},                      // -5
    {kMixed6, kText6, kBin6, kX866, 22, 22, kMixO2, kMixO2X86},                     // -6 (default): 64 MiB table
    {kCm7 | kNew, kText7 | kNew, kBin7 | kNew, kX867, 23, 23, kMixAll, kMixAllX86},  // -7
    {kCm9 | kNew, kText9 | kNew, kCm9 | kNew, kX869, 23, 23, kMixAll, kMixAllX86},   // -8
    {kCm9 | kNew, kText9 | kNew, kCm9 | kNew, kX869, 24, 24, kMixAll, kMixAllX86},   // -9: 256 MiB table
};
constexpr uint8_t kBlockLog = 24;  // 16 MiB blocks: the model restarts per block
}  // namespace

LevelPreset level_preset(int level, bool lossy) {
  if (level < kMinLevel) level = kMinLevel;
  if (level > kMaxLevel) level = kMaxLevel;
  std::vector<uint8_t> byte_params, text_params, binary_params, x86_params;
  uint64_t byte_memory;
  uint16_t byte_codec;
  // Random-looking blocks (compressed or encrypted data) at every level:
  // level 1's model, which finds what little there is to find (repeats)
  // at five times the speed; stored when it finds nothing.
  FastCmConfig fast;
  fast.variant = FastCmConfig::kVariantLean124;
  fast.table_log = kLevel1TableLog;
  fast.match_log = kLevel1MatchLog;
  if (level == 1) {
    byte_codec = kCodecFastCm;
    byte_params = text_params = binary_params = x86_params = fast.serialize();
    byte_memory = fast.memory_bytes();
  } else {
    CmConfig c;
    c.contexts = kCmRows[level].contexts;
    c.table_log = kCmRows[level].table_log;
    c.match_log = kCmRows[level].match_log;
    c.mixer = kCmRows[level].mixer;
    byte_codec = kCodecCm;
    byte_params = c.serialize();
    byte_memory = c.memory_bytes();
    c.contexts = kCmRows[level].text;
    text_params = c.serialize();
    if (c.memory_bytes() > byte_memory) byte_memory = c.memory_bytes();
    c.contexts = kCmRows[level].binary;
    binary_params = c.serialize();
    if (c.memory_bytes() > byte_memory) byte_memory = c.memory_bytes();
    c.contexts = kCmRows[level].x86;
    c.mixer = kCmRows[level].x86_mixer;
    x86_params = c.serialize();
    if (c.memory_bytes() > byte_memory) byte_memory = c.memory_bytes();
    // Random blocks: level 1's model with this level's match model, so
    // that repeats as far apart as the level sees are still found.
    fast.match_log = c.match_log;
  }
  // High mantissa bits of 16-bit floats modelled: the first saves 0.4-0.55 %
  // (and puts -6 ahead of byte planes + zstd on every f16/bf16 file of the
  // corpus) for about 5 % of the speed, the second 0.1 % more for another
  // fifth; level 1 models none, 2-6 one, 7-9 two.
  tensor::TensorConfig t;
  if (level < 7) t.top_f16 = t.top_bf16 = level == 1 ? 0 : 1;
  // Audio: the long LMS stage has 32 taps at level 1, 256 at 2-6 and 1024
  // at 7-9; the OLS stage 4, 6 and 12 taps per channel of a pair (8 at
  // 2-6 is 0.1 % smaller and about 15 % slower: 6 keeps the default above
  // 20 times real time for CD audio on a loaded machine).
  audio::AudioConfig a;
  a.long_log = level == 1 ? 5 : level < 7 ? 8 : 10;
  a.ols_taps = level == 1 ? 4 : level < 7 ? 6 : 12;
  // Images: level 1 has no least-squares predictor, 7-9 a wider one; the
  // hashed neighbourhood context has 2^12, 2^16 and 2^18 buckets.
  image::ImageConfig im;
  im.ols = level == 1 ? 0 : level < 7 ? 1 : 2;
  im.hash_log = level == 1 ? 12 : level < 7 ? 16 : 18;
  LevelPreset p;
  p.level = level;
  p.codec = byte_codec;
  p.params = byte_params;
  p.block_log = kBlockLog;
  p.model_memory = byte_memory;
  p.tensor_params = t.serialize();
  p.tensor_memory = t.memory_bytes(lossy);
  p.audio_params = a.serialize();
  p.audio_memory = a.memory_bytes();
  p.image_params = im.serialize();
  p.image_memory = im.memory_bytes();
  p.class_codec[static_cast<int>(BlockClass::kText)] = byte_codec;
  p.class_params[static_cast<int>(BlockClass::kText)] = text_params;
  p.class_codec[static_cast<int>(BlockClass::kMixed)] = byte_codec;
  p.class_params[static_cast<int>(BlockClass::kMixed)] = byte_params;
  p.class_codec[static_cast<int>(BlockClass::kBinary)] = byte_codec;
  p.class_params[static_cast<int>(BlockClass::kBinary)] = binary_params;
  p.class_codec[static_cast<int>(BlockClass::kX86)] = byte_codec;
  p.class_params[static_cast<int>(BlockClass::kX86)] = x86_params;
  p.class_codec[static_cast<int>(BlockClass::kRandom)] = kCodecFastCm;
  p.class_params[static_cast<int>(BlockClass::kRandom)] = fast.serialize();
  if (fast.memory_bytes() > p.model_memory) p.model_memory = fast.memory_bytes();
  return p;
}

}  // namespace sibyl
