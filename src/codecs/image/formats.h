// Detection of the uncompressed image files other than Netpbm: where the
// pixels of a BMP or a baseline TIFF are, for the image codec. As with
// PNM, only the encoder parses headers; every byte that is not a pixel
// (headers, palettes, directories, row padding) is coded as bytes, so the
// file is restored exactly whatever it holds.
#pragma once

#include <cstdint>
#include <span>

#include "codecs/tensor/tensor_layout.h"

namespace sibyl::image {

// A Windows bitmap: BITMAPCOREHEADER or BITMAPINFOHEADER (and its V2-V5
// extensions), uncompressed 24-bit (B, G, R) or 32-bit (B, G, R, A/X:
// BI_RGB or BI_BITFIELDS), or 8-bit with a grey palette (the indices are
// then grey levels). Bottom-up or top-down rows, each padded to 4 bytes.
// Returns one image region at the raster (the header and palette stay
// bytes), or an empty layout.
tensor::Layout detect_bmp(std::span<const uint8_t> prefix);

// A baseline TIFF (either byte order): the first image directory with no
// compression, 8 or 16 bits per sample, 1-4 samples per pixel stored
// interleaved, no predictor, unsigned samples. Each run of adjacent strips
// becomes one image region (at most kMaxTiffRegions). The directory must
// lie in `prefix` (the first block). Empty layout otherwise.
inline constexpr size_t kMaxTiffRegions = 64;
tensor::Layout detect_tiff(std::span<const uint8_t> prefix);

// PNM, BMP or TIFF, whichever the bytes are (empty layout if none).
tensor::Layout detect_image(std::span<const uint8_t> prefix);

}  // namespace sibyl::image
