// Writes a generated WAV file (tests/audio/wav_sample.h) for the SIMD
// equivalence test: make_wav_sample BITS CHANNELS FRAMES OUT.
#include <cstdio>
#include <cstdlib>

#include "wav_sample.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: make_wav_sample BITS CHANNELS FRAMES OUT\n");
    return 1;
  }
  sibyl::test::WavSpec w;
  w.bits = std::atoi(argv[1]);
  w.channels = std::atoi(argv[2]);
  w.frames = std::strtoull(argv[3], nullptr, 10);
  w.extensible = w.bits == 24;
  const std::vector<uint8_t> f = sibyl::test::make_wav(w);
  FILE* out = std::fopen(argv[4], "wb");
  if (out == nullptr || std::fwrite(f.data(), 1, f.size(), out) != f.size() || std::fclose(out) != 0) {
    std::fprintf(stderr, "make_wav_sample: cannot write %s\n", argv[4]);
    return 1;
  }
  return 0;
}
