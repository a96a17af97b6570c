// Netpbm detection: where the pixels of a PGM/PPM (P5/P6) or PAM (P7) file
// are, for the image codec. Only the encoder parses headers; the header
// bytes are coded as bytes, so the file is restored exactly whatever it holds.
#pragma once

#include <cstdint>
#include <span>

#include "codecs/tensor/tensor_layout.h"

namespace sibyl::image {

// Recognises a binary PGM/PPM (P5, P6: comments allowed, maxval 1..65535,
// 16-bit samples big-endian) or PAM (P7: DEPTH 1..4, any TUPLTYPE) from its
// first bytes, which must hold the whole header. Returns a layout whose
// header ends where the raster starts and with one image region of the
// declared size (bytes after it stay bytes), or an empty layout when the
// bytes are not such a file or the image is not one the codec takes.
tensor::Layout detect_pnm(std::span<const uint8_t> prefix);

// A raw image (the CLI's --type image): `channels` samples of `depth` bits
// (8, or 16 little-endian) per pixel, rows of `width` pixels from offset 0;
// `height` rows (0: as many as the stream holds). Empty when the shape is
// not one the codec takes.
tensor::Layout raw_image_layout(uint32_t width, unsigned channels, unsigned depth, uint64_t height = 0);

}  // namespace sibyl::image
