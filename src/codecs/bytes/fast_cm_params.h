// Tuning constants of the fast context-mixing byte model, each with the
// reason it has its value. Changing any of them changes the coded bytes:
// that is a new codec variant, not an edit (see doc/format.md).
#pragma once

namespace sibyl::fast_cm {

// Count cap of the context counters: about the number of recent bits a
// mature context averages over (higher = more stationary).
inline constexpr int kCounterLimit = 60;
// Order-0/1 counters see far more data; a higher cap averages better.
inline constexpr int kLowOrderLimit = 250;
// Mixer learning rate (see Mixer) and the initial weight (0.3 with 13 fractional bits).
inline constexpr int kMixerRate = 6;
inline constexpr int kMixerInitialWeight = 2400;
// APM adaptation shift: points move 1/2^kApmRate of the error.
inline constexpr int kApmRate = 6;
// Final probability = (mixer + 3 * APM) / 4, clamped away from 0 and 1 so a
// surprise costs at most about 11 bits.
inline constexpr int kProbFloor = 32;

}  // namespace sibyl::fast_cm
