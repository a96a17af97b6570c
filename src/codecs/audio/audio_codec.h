// Audio codec (id 4): interleaved PCM (8/16/24/32-bit integers, 32-bit
// floats) predicted per channel by a forward-adaptive LPC stage whose
// quantised coefficients are sent per frame (stereo pairs as L/R, L/S, S/R
// or M/S), then a cascade of backward-adaptive stages on its residual (a
// least-squares predictor over both channels, a long sign-sign LMS and a
// stereo NLMS) whose predictions are mixed; the residuals are
// coded bit by bit with adaptive context models.
// Described in doc/models/audio.md.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "codecs/tensor/tensor_layout.h"
#include "common/status.h"

namespace sibyl::audio {

// Segments of one block (a WAV block has at most three: bytes, samples, bytes).
inline constexpr uint64_t kMaxSegments = 256;

struct AudioConfig {
  static constexpr uint8_t kVersion = 1;
  uint8_t version = kVersion;
  // Taps of the long LMS stage: 2^long_log (kMinLongLog..kMaxLongLog).
  uint8_t long_log = 8;
  static constexpr uint8_t kMinLongLog = 4, kMaxLongLog = 11;
  // Taps of the OLS stage per channel of a pair (its own past and its
  // partner's); a mono signal gets twice as many of its own. 0..kMaxOlsTaps.
  uint8_t ols_taps = 8;
  static constexpr uint8_t kMaxOlsTaps = 16;

  std::vector<uint8_t> serialize() const;
  static Status parse(std::span<const uint8_t> params, AudioConfig* out);
  // Model memory for one block (the encoder needs the same).
  uint64_t memory_bytes() const;
};

// Codes `in` as the given segments (audio segments and bytes; their sizes
// add up to in.size()).
Status audio_encode(const AudioConfig& config, std::span<const tensor::Segment> segments, std::span<const uint8_t> in,
                    std::vector<uint8_t>& out);
// True when the block holds samples the byte model may code better: 8-bit
// samples (synthetic sound effects repeat exactly) or f32 samples that are
// not scaled integers (measurements, with NaN gaps). The encoder then tries
// both and keeps the smaller.
bool audio_try_bytes(std::span<const tensor::Segment> segments, std::span<const uint8_t> in);

// `out` has exactly the block's original size.
Status audio_decode(const AudioConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out);

// The model's constants, exposed for bench/audio_tune.cpp only. Every knob
// but max_order (an encoder choice) is part of codec 4 version 1: changing
// it changes what existing archives decode to, so a new value needs a new
// parameter version. Read-only while anything is coded.
struct AudioTuning {
  int max_order = 2;  // of the encoder's LPC (the format allows 32)
  int long_shift = 14, long_mu = 1;
  int stereo_mu = 3;  // NLMS step 2^-mu
  int ols_period = 32;
  double ols_lambda = 0.997, ols_reg = 1.0;
  double mix_mu = 0.003;
};
AudioTuning& audio_tuning();

}  // namespace sibyl::audio
