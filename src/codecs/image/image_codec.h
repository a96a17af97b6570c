// The image codec (codec 5): per-image adaptive prediction of every
// sample from its causal neighbourhood (several predictors blended by
// their local errors, channels predicted from the channels already coded
// at the same pixel), and the residuals coded bit by bit with context
// models mixed by a gated mixer and refined by an APM stage.
//
// A block holds whole rows of images (tensor::Segment with width != 0)
// and bytes between them (headers, partial rows). The payload starts with
// the segment table; the decoder never parses an image header.
// doc/format.md §10 is the specification, doc/models/image.md the design.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "codecs/tensor/tensor_layout.h"
#include "common/status.h"

namespace sibyl::image {

inline constexpr uint64_t kMaxSegments = 256;
inline constexpr unsigned kMaxChannels = 4;
// Samples in one row (width x channels): bounds the row buffers.
inline constexpr uint64_t kMaxRowSamples = uint64_t(1) << 16;
// Padding bytes after a row's samples (BMP: 0..3; more is another layout).
inline constexpr uint32_t kMaxRowPad = 255;

struct ImageConfig {
  // Version 2 adds padded rows and B, G, R samples (segment format bits 6
  // and 7, for BMP); version 3 the block grid of an image segment (a
  // decoded JPEG's 8 x 8 blocks: doc/models/image.md); version 4 the
  // colours of a decoded JPEG coded as its Y, Cb and Cr (ycc.h). Versions
  // 1 to 3 still decode; the encoder writes 4.
  static constexpr uint8_t kVersion = 4;
  uint8_t version = kVersion;
  // Buckets of the neighbourhood-hash context: 2^hash_log of 256 bytes.
  uint8_t hash_log = 16;
  static constexpr uint8_t kMinHashLog = 8, kMaxHashLog = 22;
  // The least-squares sub-predictors: 0 none; 1 one over 10 neighbours
  // (plus 5 and 3 from the channels coded before) trained on one sample
  // in four; 2 two (lambda 0.998 and 0.9998) over 14 neighbours (plus 5
  // and 3) trained on every sample.
  uint8_t ols = 1;
  static constexpr uint8_t kMaxOls = 2;

  std::vector<uint8_t> serialize() const;
  static Status parse(std::span<const uint8_t> params, ImageConfig* out);
  // Model memory for one block (the encoder needs the same).
  uint64_t memory_bytes() const;
};

// The 8 x 8 block grid of an image that was a decoded JPEG: its blocks
// start at columns x + 8k and rows y + 8k (x, y in 0..7). `found` is the
// encoder's guess from one channel (the first, or the second of three or
// more): the mean clipped difference across the columns x + 8k and across
// the rows y + 8k stands out from the other seven phases, in an image that
// is not flat (most neighbours differ). 16-bit samples count too (a
// decoded JPEG stored with 16 bits).
struct BlockGrid {
  bool found = false;
  int x = 0, y = 0;
};
// Samples of `bytes` bytes (1 or 2, big-endian when `big_endian`) up to
// `maxval`, `channels` per pixel, rows `row_bytes` apart; `rows` points at
// the channel's first sample.
BlockGrid find_block_grid(const uint8_t* rows, uint32_t width, uint64_t height, unsigned channels, uint64_t row_bytes,
                          int bytes = 1, bool big_endian = false, uint32_t maxval = 255);

// True when a segment of the list is an image (the block goes to this codec).
bool has_image(std::span<const tensor::Segment> segments);

Status image_encode(const ImageConfig& config, std::span<const tensor::Segment> segments, std::span<const uint8_t> in,
                    std::vector<uint8_t>& out);
Status image_decode(const ImageConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out);

// Tuning knobs (bench/image_tune); the defaults are the format's constants.
struct ImageTuning {
  int limit_direct = 500;  // adaptation limits of the residual models
  int limit_hash = 127;
  int mixer_rate = 6;
  int apm_rate = 7;
  int bias_limit = 255;
  int ols_lambda = 20;   // 1 - lambda, in 1e-4
  int ols_period = 32;
  double ols_reg = 1.0;
  int stats = 0;
  int ols2_lambda = 2;  // of the second (long-memory) least-squares predictor at ols 2
  int grid = 1;         // 0: the encoder never marks a block grid (for measuring it)
  int ycc = 1;          // 0: the encoder never codes colours as Y, Cb, Cr
  double cost[64] = {};
  uint64_t n[64] = {}, ones[64] = {};
};
ImageTuning& image_tuning();

}  // namespace sibyl::image
