// Members of a tar archive, for routing them by type: images, WAV sound and
// NPY/safetensors arrays in a tar go to their codecs like files of their own.
//
// Only the encoder parses tar headers (the decoder reads the segment
// tables the encoder wrote), so a hostile or damaged tar can only make
// members be coded as bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "codecs/tensor/tensor_layout.h"

namespace sibyl::tar {

// True when the stream starts with a POSIX/GNU tar header (ustar magic and
// a valid header checksum at offset 0; needs 512 bytes).
bool starts_tar(std::span<const uint8_t> prefix);

// Walks a tar archive block by block, as the encoder cuts the stream, and
// finds the regular members whose data starts with an image the image codec
// takes (PNM/PAM, BMP, TIFF), a WAV file, an NPY or safetensors file (their
// samples and numbers become regions: tensor::detect_file) and, when asked,
// x86 executables of at least kMinCodeMember bytes (ELF for i386 or
// x86-64, PE for i386 or AMD64) whose bytes at hand pass the x86
// transform's test (a code region: the encoder codes it as a block of its
// own, which the byte model's x86 class then takes). A member is looked at
// with the bytes of it that lie in the block where its data starts (and,
// for a header cut by a block's end, the next block), so the regions found
// depend on the stream and its block boundaries only, never on how many
// blocks are compressed at once. A bad header ends the walk: the rest is
// bytes.
inline constexpr uint64_t kMinCodeMember = 65536;

class Walker {
 public:
  explicit Walker(bool code_members = false) : code_members_(code_members) {}
  // The stream's bytes [start, start + block.size()), called for
  // consecutive blocks in order from offset 0. Appends the regions of the
  // members whose data starts in these bytes (stream offsets, clipped to
  // the member).
  void feed(std::span<const uint8_t> block, uint64_t start, std::vector<tensor::Region>* regions);
  bool done() const { return done_; }

 private:
  uint64_t pos_ = 0;     // stream offset of the next header
  bool done_ = false;
  bool code_members_ = false;
  // A regular member whose data starts right after the last block.
  uint64_t pending_data_ = 0, pending_size_ = 0;
  std::vector<uint8_t> cut_;  // the start of a header cut by the last block's end
};

// The regions of a tar archive found in `prefix` (one Walker fed the
// prefix as one block): empty when the stream is not a tar or holds no
// member of a known kind there.
tensor::Layout detect_tar(std::span<const uint8_t> prefix);

}  // namespace sibyl::tar
