// Tuning constants of the tensor codec, each with the reason it has its
// value. Changing any of them changes the coded bytes: that is a new codec
// version (the params' version byte), not an edit (see doc/format.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sibyl::tensor {

// Exponent symbols: t = emax - E for the segment's largest exponent and the
// 14 below it; 15 escapes to the exponent coded in full. On the tensor
// corpus 4 bits code as small as 5 with one binary decision fewer per
// element (doc/models/tensor.md).
inline constexpr int kSymbolBits = 4;
inline constexpr int kSymbols = 1 << kSymbolBits;
inline constexpr int kEscape = kSymbols - 1;
// Rows longer than this get no "above" or column context: the per-column
// state would cost more memory than it can save.
inline constexpr unsigned kMaxRow = 1u << 18;
// Count caps of the adaptive counters: about the number of recent events a
// mature context averages over. Tensors are stationary; high caps average.
inline constexpr int kExpLimit = 1020;
inline constexpr int kSignLimit = 1020;
inline constexpr int kMantLimit = 1020;
inline constexpr int kByteLimit = 255;
// Mixer learning rate and initial weight (0.3 with 13 fractional bits).
inline constexpr int kMixerRate = 2;
inline constexpr int kMixerInitialWeight = 2400;
// Column average: exponential moving average of the column's symbols with
// weight 1/2^kColumnShift for the newest (8 fractional bits).
inline constexpr int kColumnShift = 2;
// Segments per block: far more than real containers need (two per tensor),
// and it bounds what a hostile segment table can make the decoder allocate.
inline constexpr uint64_t kMaxSegments = 1u << 14;
// Quantised codes stay below this magnitude (larger ones are stored
// exactly), so residuals of two codes fit in 32 bits.
inline constexpr int64_t kMaxQuantCode = int64_t(1) << 30;
// Quantised residuals: the exponent symbols start this many octaves above
// the bit length of the segment's mean magnitude (larger ones escape).
inline constexpr int kOctavesAboveMean = 3;
// Exact copies (codec version 2): a number segment whose bytes equal an
// earlier segment's of the block is coded as a reference to it when it is
// at least this long (a reference costs 3-5 bytes of segment table).
inline constexpr uint64_t kMinCopyBytes = 16;
// KV caches: layers smaller than this many elements are not cut into
// segments of their own (the per-layer step would not pay for the table
// entry and the restarted row state), and a block's layers stay far below
// kMaxSegments.
inline constexpr uint64_t kMinKvLayer = 1024;
// At most this many layer segments of one KV cache per block (more: the
// block's part of the cache is one segment, with one step).
inline constexpr uint64_t kMaxKvSegments = kMaxSegments / 4;
// Anchor-token group sizes the lossy encoder tries for a KV-cache segment
// (CacheGen codes a token as the delta from the first token of its group).
inline constexpr uint64_t kAnchorGroups[] = {4, 8, 16, 32};
inline constexpr uint64_t kMaxAnchorGroup = 1u << 16;
// Vector quantisation (codec 3, mode 2; encoder-only training): Lloyd
// iterations per stage, the training sample (vectors spread over the
// segment: enough to place 1024 centres, and training stays a fraction
// of a second per stage), and the fewest vectors per centre for which a
// segment is vector-quantised at all (below it the codebook costs more
// than the indices save).
inline constexpr int kVqIterations = 10;
inline constexpr size_t kVqTrainVectors = 32768;
inline constexpr uint64_t kVqMinVectorsPerCentre = 8;
// Index contexts: the vector's position in its row, in vectors, capped.
inline constexpr int kVqPositions = 64;
// Final probabilities stay this far (in 1/65536) from 0 and 1.
inline constexpr int kProbFloor = 32;

}  // namespace sibyl::tensor
