// Frame encoder: splits a byte stream into blocks, compresses up to
// `threads` blocks at once and writes them in order, so the archive bytes
// are the same for every thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "codecs/container/tar_layout.h"
#include "codecs/levels.h"
#include "codecs/tensor/tensor_codec.h"
#include "common/checksum.h"
#include "common/memory_hooks.h"
#include "common/status.h"
#include "format/container.h"

namespace sibyl {

using Sink = std::function<Status(std::span<const uint8_t>)>;

// What the caller says the data is. kAuto and kTensor look for a tensor
// container (NPY, safetensors) at the start of the stream; kTensor with
// tensor_dtype set takes the whole stream as a raw array.
// kAudio looks for a WAV file, or with audio_sample set takes the whole
// stream as raw interleaved PCM. kImage looks for a PNM file, or with
// image_width set takes the stream as a raw image.
enum class DataKind { kAuto, kBytes, kTensor, kAudio, kImage };

struct EncodeOptions {
  int level = kDefaultLevel;
  DataKind kind = DataKind::kAuto;
  tensor::DType tensor_dtype = tensor::DType::kBytes;  // raw arrays (kTensor)
  uint64_t tensor_row = 1;                             // elements per row of a raw array
  // KV caches ([layers, ..., tokens, channels]): a raw array is one when
  // both are set (tokens per head sequence, elements per layer); with
  // tensor_kv every tensor of 3+ dimensions in an NPY or safetensors file
  // is one (else only safetensors tensors with KV-cache names).
  uint64_t tensor_tokens = 0;
  uint64_t tensor_layer = 0;
  bool tensor_kv = false;
  audio::Sample audio_sample = audio::Sample::kNone;  // raw PCM (kAudio)
  unsigned audio_channels = 1;
  // A raw image (kImage): pixels of image_channels samples of image_depth
  // bits (8, or 16 little-endian), rows of image_width pixels; image_height
  // rows (0 = as many as the stream holds), bytes after them stay bytes.
  uint32_t image_width = 0;
  unsigned image_channels = 1;
  unsigned image_depth = 8;
  uint64_t image_height = 0;
  // Lossy coding of float tensors (opt-in): 0 = off, else
  // tensor::ErrorBound::kAbsolute or kRelative with error_bound > 0.
  int error_mode = 0;
  double error_bound = 0;
  // error_mode tensor::ErrorBound::kVectors: vector quantisation of float
  // tensors, vectors of vq.dim values as the sum of vq.stages centres out of
  // vq.k (no bound; the error is measured, lossy_stats()).
  tensor::VqShape vq;
  // A registered prior (pc::register_prior): records of its shape are
  // found in the stream (IDX, NPY, PGM, else the whole stream) and coded
  // from it. 0 = none.
  uint64_t prior_hash = 0;
  // With a prior: the collection regime (records share adaptive models).
  bool prior_adapt = false;
  // Frame header flags (format::kFlagPngPixels: the content is a PNG's
  // pixels in the PNG pixel layout, which the caller made).
  uint8_t frame_flags = 0;
  int threads = 1;
  bool verify = false;  // decode every block again before writing it
  int block_log = 0;    // 0 = the level's block size; else 10..30 (tests, tuning)
  const MemoryHooks* hooks = nullptr;  // caller's allocator for model tables (not owned)
};

class FrameEncoder {
 public:
  FrameEncoder(const EncodeOptions& options, Sink sink);

  // Buffers data and compresses every batch of `threads` full blocks as
  // soon as it is complete (so the sink may be called).
  Status write(std::span<const uint8_t> data);
  // Compresses what is buffered now, ending the current block early, so
  // that everything written so far can be decoded from the output.
  Status flush();
  // Compresses what is buffered and writes the end record and footer.
  Status finish();
  // Bytes write() can take before it compresses the next batch.
  size_t input_capacity() const;
  // Bytes written but not yet compressed.
  size_t buffered() const;
  bool finished() const { return finished_; }

  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }
  // Memory one worker needs (what the frame header declares).
  uint64_t worker_memory() const { return preset_.worker_memory(); }
  // The error lossy coding made so far (blocks written).
  const tensor::LossyStats& lossy_stats() const { return lossy_stats_; }

 private:
  Status emit(std::span<const uint8_t> bytes);
  Status write_header();
  Status flush_batch();
  // Encoder-only: finds the stream's layout in its first block and puts a
  // container header in a block of its own (it is text, not numbers).
  void detect_layout();

  EncodeOptions options_;
  LevelPreset preset_;
  Sink sink_;
  size_t block_size_;
  std::vector<std::vector<uint8_t>> batch_;  // full blocks waiting, plus the one being filled
  std::vector<format::IndexEntry> index_;
  Xxh64Stream content_hash_;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  uint64_t frame_bytes_ = 0;
  bool header_written_ = false;
  bool finished_ = false;
  tensor::Layout layout_;
  bool layout_known_ = false;
  // A tar archive: its members are looked at block by block (images after
  // the first block too).
  std::optional<tar::Walker> tar_;
  uint64_t block_start_ = 0;  // stream offset of the next block compressed
  tensor::LossyStats lossy_stats_;
};

// Compresses one block into header + payload (the store codec when the
// chosen codec does not make it smaller). The tensor codec is chosen when
// `segments` (the block's part of the stream layout) hold numbers, the
// preset's codec otherwise; with `bound`, the lossy tensor codec, and
// `*decoded` then holds what the block decodes to (else it is cleared and
// the block decodes to `in`). Exposed for tests.
Status encode_block(const LevelPreset& preset, std::span<const uint8_t> in, bool verify, std::vector<uint8_t>& out,
                    format::IndexEntry* entry, std::span<const tensor::Segment> segments = {},
                    const tensor::ErrorBound* bound = nullptr, std::vector<uint8_t>* decoded = nullptr,
                    tensor::LossyStats* stats = nullptr);

// Whole-buffer convenience: one frame holding `in`.
Status compress_buffer(std::span<const uint8_t> in, const EncodeOptions& options, std::vector<uint8_t>& out);

}  // namespace sibyl
