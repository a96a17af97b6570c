// Where the numbers are: element types, the layout of a tensor container
// (NPY, safetensors) as regions of the byte stream, and the segments one
// block is cut into for the tensor codec.
//
// Only the encoder parses containers. The decoder reads the segment table
// the encoder wrote into each block's payload, so a hostile archive never
// reaches a header parser, and a file whose header the parser does not
// accept is coded as bytes (it never fails).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "codecs/audio/audio_format.h"

namespace sibyl::tensor {

// Stored in archives: never renumber.
enum class DType : uint8_t {
  kBytes = 0,  // not numbers (headers, padding, partial elements)
  kF32 = 1,
  kF16 = 2,
  kBF16 = 3,
  kF64 = 4,
  kI8 = 5,
  kU8 = 6,
  kI16 = 7,
  kU16 = 8,
  kI32 = 9,
  kU32 = 10,
};
inline constexpr int kDTypeCount = 11;

int dtype_size(DType t);  // bytes per element (1 for kBytes)
const char* dtype_name(DType t);
// "f32", "bf16", "i8", ... (as the CLI's --dtype takes them); false if unknown.
bool parse_dtype_name(const std::string& s, DType* out);

// A stretch of the stream holding elements of one type, rows of `row`
// elements (the last axis; 1 when unknown).
struct Region {
  uint64_t offset = 0;  // byte offset in the stream
  uint64_t bytes = 0;
  DType dtype = DType::kBytes;
  uint64_t row = 1;
  // A KV cache ([layers, ..., tokens, channels], as in CacheGen): `tokens`
  // rows of `row` channels form one head's sequence, `layer` elements one
  // layer. 0 = not a KV cache. Lossy coding cuts such a region at layer
  // boundaries (a step per layer) and may predict a token from the anchor
  // token of its group.
  uint64_t tokens = 0;
  uint64_t layer = 0;
  // Interleaved audio (dtype kBytes, `row` channels per frame): the sample
  // format. Such regions go to the audio codec, a frame at a time.
  audio::Sample sample = audio::Sample::kNone;
  // An image (dtype kBytes, pixels of `row` channels): its width (0 = not
  // an image), bytes per sample (1 or 2), byte order and largest value.
  // Such regions go to the image codec, a row at a time.
  uint32_t width = 0;
  uint8_t image_bytes = 1;
  bool big_endian = false;
  uint32_t maxval = 255;
  // Bytes after each row's samples (BMP rows are padded to 4 bytes), and
  // colour samples stored B, G, R (BMP).
  uint32_t row_pad = 0;
  bool bgr = false;
  // Records of a collection (dtype kBytes): `record` bytes each, coded by
  // the probabilistic-circuit codec from a prior (0 = not records).
  uint32_t record = 0;
  // An executable (dtype kBytes) that the encoder codes as a block of its
  // own, so that the byte model's x86 class can take it (tar members only).
  bool code = false;
};

// The numeric regions of a stream, ordered and disjoint; bytes outside
// them are coded as bytes.
struct Layout {
  std::string container;      // "npy", "safetensors", "raw" or "" (none)
  uint64_t header_bytes = 0;  // the container header at offset 0
  std::vector<Region> regions;
  bool empty() const { return regions.empty(); }
};

// Recognises an NPY (v1-v3, little-endian, C or Fortran order) or
// safetensors file from its first bytes. `prefix` must hold the whole
// header; `total` is the stream size when known (else UINT64_MAX), used to
// clip regions. Returns an empty layout when the bytes are not such a file
// or the header is malformed. Tensors of 3 or more dimensions (C order)
// are KV caches when `all_kv` is set or their safetensors name says so
// (is_kv_name).
Layout detect_layout(std::span<const uint8_t> prefix, uint64_t total, bool all_kv = false);

// The same without tar archives (what a tar's members are looked at with:
// a tar in a tar stays bytes, and detection never recurses).
Layout detect_file(std::span<const uint8_t> prefix, uint64_t total, bool all_kv = false);

// A raw array of `dtype` with rows of `row` elements from offset 0; a KV
// cache when `tokens` and `layer` (elements per layer) are both non-zero.
Layout raw_layout(DType dtype, uint64_t row, uint64_t tokens = 0, uint64_t layer = 0);

// Names of KV-cache tensors: "past_key_values.3.key", "layers.0.k_cache",
// "kv_cache", "value_states", ... (case-insensitive).
bool is_kv_name(const std::string& name);

// Interleaved PCM audio of `channels` channels from offset 0 (the CLI's
// --type audio --sample F --channels C).
Layout raw_audio_layout(audio::Sample sample, unsigned channels);

// One piece of a block for the tensor codec (or, audio segments, the audio codec).
struct Segment {
  DType dtype = DType::kBytes;
  uint64_t count = 0;  // elements (bytes for kBytes)
  uint64_t row = 1;    // elements per row
  uint64_t col0 = 0;   // column of the first element (< row)
  // KV caches (lossy coding): tokens per head sequence (0 = none) and the
  // token of the first element's row.
  uint64_t tokens = 0;
  uint64_t t0 = 0;
  // Audio (dtype kBytes): `count` frames of `row` channels of this format.
  audio::Sample sample = audio::Sample::kNone;
  // Image (dtype kBytes, width != 0): `count` rows of `width` pixels of
  // `row` channels, as in Region.
  uint32_t width = 0;
  uint8_t image_bytes = 1;
  bool big_endian = false;
  uint32_t maxval = 255;
  uint32_t row_pad = 0;
  bool bgr = false;
  // Records (dtype kBytes, record != 0): `count` whole records of `record`
  // bytes, the first being record number `first_record` of the stream; or,
  // `partial`, `count` bytes of record `first_record` from its byte `col0`.
  uint32_t record = 0;
  uint64_t first_record = 0;
  bool partial = false;
  // An executable's bytes (dtype kBytes, as in Region): the encoder cuts
  // them into a piece of their own and codes it as bytes.
  bool code = false;
};

// What a segment is, and which codec takes it.
enum class SegmentKind { kBytes, kNumbers, kAudio, kImage, kRecords, kCode };
inline constexpr int kSegmentKinds = static_cast<int>(SegmentKind::kCode) + 1;
SegmentKind segment_kind(const Segment& s);
// Bytes of the block the segment covers.
uint64_t segment_bytes(const Segment& s);
// The segments with every one of another kind than `keep` (bytes aside)
// turned into bytes, adjacent bytes merged: for a block whose segments
// are of several kinds (a tar with images and sound), coded by the codec of
// one of them.
std::vector<Segment> keep_kind(std::span<const Segment> segments, SegmentKind keep);

// Cuts the block [start, start + size) of the stream into segments:
// whole elements (audio: frames) of each region it overlaps, bytes elsewhere. With
// `split_layers` (lossy coding), KV-cache regions are also cut at every
// layer boundary and their segments carry the token structure.
std::vector<Segment> block_segments(const Layout& layout, uint64_t start, uint64_t size, bool split_layers = false);

}  // namespace sibyl::tensor
