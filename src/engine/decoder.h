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
};

struct DecodeStats {
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t frames = 0;
  uint64_t blocks = 0;
};

Status decode_archive(ByteSource& source, const DecodeOptions& options, const Sink& sink, DecodeStats* stats);

// Whole-buffer convenience.
Status decompress_buffer(std::span<const uint8_t> in, const DecodeOptions& options, std::vector<uint8_t>& out);

}  // namespace sibyl
