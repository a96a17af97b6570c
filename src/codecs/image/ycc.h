// The colour conversion of JPEG decoders, undone (codec 5, version 4).
//
// A JPEG file holds Y, Cb and Cr; a decoder turns them into R, G, B with
// integer arithmetic. libjpeg (and libjpeg-turbo, which most programs and
// browsers use) computes, with x = Cb − 128 and z = Cr − 128 and 16
// fraction bits (JFIF's coefficients, each rounded to a multiple of 2^-16):
//
//   R = clamp(Y + ((91881 z + 32768) >> 16))
//   G = clamp(Y + ((−22554 x + 32768 − 46802 z) >> 16))
//   B = clamp(Y + ((116130 x + 32768) >> 16))
//
// (`>>` rounding towards −∞, clamp to 0..255). R − G and B − G depend on
// (Cb, Cr) alone, and the 65,536 pairs (Cb, Cr) give 65,536 different pairs
// (R − G, B − G): a quarter of the pairs an image could hold in that range.
// A decoded JPEG's pixels all lie on that lattice; its colour differences
// coded as such spend about two bits per pixel on pairs that cannot occur.
// Coding Y, Cb and Cr instead (and rebuilding R, G, B with the formula)
// gives those bits back. doc/models/image.md ("Decoded JPEG colours").
#pragma once

#include <cstdint>
#include <vector>

namespace sibyl::image {

// At most one pixel in kYccEscapeShare of a Y, Cb, Cr segment may be an
// escape (the format's limit, and the encoder's rule for choosing Y, Cb,
// Cr: an escape costs about 40 bits, a pixel on the lattice saves about 2).
inline constexpr uint64_t kYccEscapeShare = 32;

// The encoder's inverse table (built on first use, shared).
inline constexpr uint64_t kYccTableBytes = 512 * 512 * 4;

// R, G, B from Y, Cb, Cr (each 0..255), as the decoder computes them.
struct Rgb {
  int r, g, b;
};
Rgb ycc_to_rgb(int y, int cb, int cr);

// A pixel the conversion cannot give: its raster index in the segment and
// its R, G, B.
struct YccEscape {
  uint64_t pixel = 0;
  uint8_t r = 0, g = 0, b = 0;
};

// Where a segment's colour samples lie: `channels` (3 or 4) one-byte
// samples per pixel, rows `row_bytes` apart, R at `r_at` and B at `b_at`
// (G at 1; a fourth channel is left alone).
struct YccLayout {
  uint32_t width = 0;
  uint64_t rows = 0;
  unsigned channels = 3;
  uint64_t row_bytes = 0;
  unsigned r_at = 0, b_at = 2;
};

// Encoder: writes into `out` (the segment's bytes, copied) Cr where R was,
// Y where G was and Cb where B was, and lists the pixels that no (Y, Cb, Cr)
// gives. A pixel with a sample at 0 or 255 may have been clamped: of the
// values that give it, the ones nearest to the gradient W + N − NW of its
// neighbours' are taken (the decoder only applies the formula, so this
// choice is the encoder's). Returns false (and leaves `out` unspecified) when more than
// `max_escapes` pixels are escapes: not a decoded JPEG.
bool rgb_to_ycc(const uint8_t* src, const YccLayout& l, uint64_t max_escapes, std::vector<uint8_t>& out,
                std::vector<YccEscape>& escapes);

// Decoder: turns the (Cr, Y, Cb) samples of `rows` back into R, G, B, in place.
void ycc_rows_to_rgb(uint8_t* rows, const YccLayout& l);

}  // namespace sibyl::image
