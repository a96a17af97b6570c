// `--png-pixels`: a PNG file is compressed data, so by default it goes
// through the byte model. With this opt-in mode its pixels are decoded
// (libpng) and written in the PNG pixel layout (doc/format.md section 16):
// a PAM image the image codec takes, then every chunk of the file other
// than IDAT and IEND, kept byte for byte. From that layout a PNG with the
// same pixels, the same chunks in the same order and new IDAT data is
// written back: the pixels are exact, the file's bytes are not.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace sibyl::cli {

// True when `data` starts with the 8-byte PNG signature.
bool is_png(std::span<const uint8_t> data);

// A PNG file to the PNG pixel layout. Fails (kInvalidArgument) when the
// file is not a PNG libpng can decode or its pixels would need more than
// `max_bytes` bytes. *palette (if given) tells whether the samples are
// palette indices: those compress better with the byte model than as an
// image (the indices' order has no meaning the image model could use).
Status png_to_layout(std::span<const uint8_t> png, uint64_t max_bytes, std::vector<uint8_t>* layout,
                     bool* palette = nullptr);

// The PNG pixel layout back to a PNG file: the kept chunks in their order,
// the pixels filtered and deflated into IDAT where the first IDAT was.
// Fails (kCorrupt) when `layout` is not a well-formed PNG pixel layout.
Status layout_to_png(std::span<const uint8_t> layout, std::vector<uint8_t>* png);

}  // namespace sibyl::cli
