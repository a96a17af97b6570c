// Members of a tar archive, for routing them by type: images in a tar go
// to the image codec like a PNM file of their own.
//
// Only the encoder parses tar headers (the decoder reads the segment
// tables the encoder wrote), so a hostile or damaged tar can only make
// members be coded as bytes.
#pragma once

#include <cstdint>
#include <span>

#include "codecs/tensor/tensor_layout.h"

namespace sibyl::tar {

// Recognises a POSIX/GNU tar archive (ustar magic and a valid header
// checksum at offset 0) and returns the image regions of the regular
// members whose data starts with a PNM/PAM header the image codec takes,
// as stream offsets; every other byte stays bytes. Headers are followed
// while they lie inside `prefix`; a bad header ends the walk. Empty when
// the stream is not a tar or holds no image.
tensor::Layout detect_tar(std::span<const uint8_t> prefix);

}  // namespace sibyl::tar
