// Reads the frame headers, block indexes and footers of an archive without
// decoding any block: what `sibyl -l` shows.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "format/container.h"

namespace sibyl {

class RandomAccessSource {
 public:
  virtual ~RandomAccessSource() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly n bytes at offset (the range is inside size()).
  virtual Status read_at(uint64_t offset, uint8_t* buf, size_t n) = 0;
};

struct FrameListing {
  uint64_t offset = 0;
  uint64_t frame_size = 0;
  format::FrameHeader header;
  format::EndRecord end;
};

// Walks the archive from its end: footer, end record, frame header, then the
// frame before it. Reads O(frames + blocks) bytes.
Status list_archive(RandomAccessSource& src, std::vector<FrameListing>* frames);

}  // namespace sibyl
