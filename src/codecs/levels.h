// The one table of compression levels: which codec and parameters each
// level uses, its block size and the memory it needs.
#pragma once

#include <cstdint>
#include <vector>

#include "codecs/bytes/classify.h"

namespace sibyl {

inline constexpr int kMinLevel = 1;
inline constexpr int kMaxLevel = 9;
inline constexpr int kDefaultLevel = 6;

struct LevelPreset {
  int level = 0;
  uint16_t codec = 0;
  std::vector<uint8_t> params;  // of `codec`, for blocks of class kMixed
  uint8_t block_log = 0;        // blocks of up to 2^block_log bytes
  uint64_t model_memory = 0;    // bytes of model state per block worker
  // Blocks holding numbers of a tensor container go to the tensor codec.
  std::vector<uint8_t> tensor_params;
  uint64_t tensor_memory = 0;
  // Blocks holding PCM samples (WAV files, raw audio) go to the audio codec.
  std::vector<uint8_t> audio_params;
  uint64_t audio_memory = 0;
  // Blocks holding image rows (PNM files, raw images) go to the image codec.
  std::vector<uint8_t> image_params;
  // Records coded from a prior (set by the encoder when one is given; empty otherwise).
  std::vector<uint8_t> pc_params;
  uint64_t image_memory = 0;
  // The byte codec and its parameters per block class (classify.h), for
  // blocks no format codec takes. Each needs at most model_memory.
  uint16_t class_codec[kBlockClasses] = {};
  std::vector<uint8_t> class_params[kBlockClasses];
  // Memory of one worker (the larger model plus original and coded block
  // buffers); compression and decompression need the same.
  uint64_t worker_memory() const {
    uint64_t m = model_memory > tensor_memory ? model_memory : tensor_memory;
    if (audio_memory > m) m = audio_memory;
    if (image_memory > m) m = image_memory;
    return m + 2 * (uint64_t(1) << block_log);
  }
};

// level must be in [kMinLevel, kMaxLevel]. `lossy`: numbers may go to the
// lossy tensor codec (its model memory then counts).
LevelPreset level_preset(int level, bool lossy = false);

}  // namespace sibyl
