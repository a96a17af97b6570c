// Archive decoder: reads frames from a byte source, decodes up to `threads`
// blocks at once, verifies every block's xxh64 and every frame's index and
// content hash, and passes the original bytes to a sink in order.
//
// Hostile input: every size is checked against the frame's declared limits
// before anything is allocated, payloads are read in bounded chunks, and the
// memory a frame declares is checked against the caller's limit first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"
#include "engine/encoder.h"

namespace sibyl {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; *got < n only at the end of the input.
  virtual Status read(uint8_t* buf, size_t n, size_t* got) = 0;
};

class SpanSource : public ByteSource {
 public:
  explicit SpanSource(std::span<const uint8_t> data) : data_(data) {}
  Status read(uint8_t* buf, size_t n, size_t* got) override;

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// Decoding refuses archives whose declared memory exceeds this unless the
// caller raises the limit.
inline constexpr uint64_t kDefaultMemoryLimit = uint64_t(4) << 30;

struct DecodeOptions {
  int threads = 1;
  uint64_t memory_limit = kDefaultMemoryLimit;
  const MemoryHooks* hooks = nullptr;  // caller's allocator for tables and blocks (not owned)
};

struct DecodeStats {
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t frames = 0;
  uint64_t blocks = 0;
};

// Push-style decoder: the caller feeds archive bytes in any chunk sizes and
// takes the decoded bytes as they become ready. One definition of the
// format rules; decode_archive() below is a loop around it.
//
// Memory stays bounded by the frame's block size times the thread count:
// once a batch of blocks is decoded, no input is taken until its output has
// been consumed.
class StreamDecoder {
 public:
  explicit StreamDecoder(const DecodeOptions& options);
  ~StreamDecoder();
  StreamDecoder(const StreamDecoder&) = delete;
  StreamDecoder& operator=(const StreamDecoder&) = delete;

  // Takes bytes from the front of *in (advancing it) until decoded output
  // is ready, more input is needed, or an error occurs. An empty *in
  // decodes the blocks already complete without waiting for a full batch.
  // Errors are sticky: every later call returns the same one.
  Status feed(std::span<const uint8_t>* in);
  // Decoded bytes ready to be taken, in order; consume() releases them.
  std::span<const uint8_t> output() const;
  void consume(size_t n);
  // True between frames (after at least one) with no output pending: the
  // input may validly end here.
  bool at_end() const;
  // The input has ended: Ok if at_end(), else the error that describes
  // where it stopped (empty input, truncated frame, trailing garbage).
  Status finish();
  const DecodeStats& stats() const;

 private:
  struct State;
  State* s_;
};

Status decode_archive(ByteSource& source, const DecodeOptions& options, const Sink& sink, DecodeStats* stats);

// Whole-buffer convenience.
Status decompress_buffer(std::span<const uint8_t> in, const DecodeOptions& options, std::vector<uint8_t>& out);

}  // namespace sibyl
