// Writes a generated PNM file (tests/image/image_sample.h) for the SIMD
// equivalence test: make_image_sample WIDTH HEIGHT CHANNELS MAXVAL SYNTHETIC OUT
// (SYNTHETIC 2: the photo as a decoded JPEG, 8 x 8 blocks from column 3,
// row 5; 8-bit RGB only; 3: a decoded JPEG's colours as well, the
// Y, Cb, Cr turned into R, G, B as libjpeg does, 8-bit RGB only).
#include <cstdio>
#include <cstdlib>

#include "image_sample.h"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: make_image_sample WIDTH HEIGHT CHANNELS MAXVAL SYNTHETIC OUT\n");
    return 1;
  }
  sibyl::test::ImageSpec s;
  s.width = static_cast<uint32_t>(std::atoi(argv[1]));
  s.height = static_cast<uint32_t>(std::atoi(argv[2]));
  s.channels = static_cast<unsigned>(std::atoi(argv[3]));
  s.maxval = static_cast<uint32_t>(std::atoi(argv[4]));
  const int kind = std::atoi(argv[5]);
  s.synthetic = kind == 1;
  std::vector<uint8_t> f;
  if (kind == 2 && s.channels == 3 && s.maxval == 255) {
    f = sibyl::test::make_blocky_pnm(s, 3, 5);
  } else if (kind == 3 && s.channels == 3 && s.maxval == 255) {
    f = sibyl::test::make_decoded_jpeg_pnm(s, 3, 5);
  } else {
    f = sibyl::test::make_pnm(s);
  }
  FILE* out = std::fopen(argv[6], "wb");
  if (out == nullptr || std::fwrite(f.data(), 1, f.size(), out) != f.size() || std::fclose(out) != 0) {
    std::fprintf(stderr, "make_image_sample: cannot write %s\n", argv[6]);
    return 1;
  }
  return 0;
}
