#include "codecs/levels.h"

#include "codecs/audio/audio_codec.h"
#include "codecs/bytes/fast_cm.h"
#include "codecs/codec.h"
#include "codecs/image/image_codec.h"
#include "codecs/tensor/tensor_codec.h"

namespace sibyl {

namespace {
// Per level: log2 of buckets per hashed order (64 bytes each, 4 orders) and
// log2 of match-model entries. Bigger tables keep more contexts apart on big
// inputs at the cost of memory and cache misses (speed).
struct FastCmRow {
  uint8_t table_log, match_log;
};
constexpr FastCmRow kFastCmRows[kMaxLevel + 1] = {
    {0, 0},    // unused
    {16, 18},  // -1 (lean variant 3, 32-byte buckets, 2 hashed orders): 4 MiB of context tables
    {17, 20},  // -2
    {18, 20},  // -3
    {18, 21},  // -4
    {19, 21},  // -5
    {19, 22},  // -6 (default)
    {20, 22},  // -7
    {20, 23},  // -8
    {21, 24},  // -9
};
constexpr uint8_t kBlockLog = 24;  // 16 MiB blocks: the model restarts per block
}  // namespace

LevelPreset level_preset(int level, bool lossy) {
  if (level < kMinLevel) level = kMinLevel;
  if (level > kMaxLevel) level = kMaxLevel;
  FastCmConfig c;
  c.variant = level == 1 ? FastCmConfig::kVariantLean124 : FastCmConfig::kVariantFull;
  c.table_log = kFastCmRows[level].table_log;
  c.match_log = kFastCmRows[level].match_log;
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
  return LevelPreset{level,         kCodecFastCm, c.serialize(),  kBlockLog,         c.memory_bytes(),
                     t.serialize(), t.memory_bytes(lossy), a.serialize(), a.memory_bytes(), im.serialize(),
                     im.memory_bytes()};
}

}  // namespace sibyl
