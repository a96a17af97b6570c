// Writes the deterministic test containers of tensor_sample.h:
//   sibyl_tensor_sample safetensors|small|npy OUT   (small: 8 x 24 per tensor)
#include <cstdio>
#include <cstring>
#include <string>

#include "tensor_sample.h"

int main(int argc, char** argv) {
  const std::string kind = argc == 3 ? argv[1] : "";
  if (kind != "safetensors" && kind != "small" && kind != "npy") {
    std::fprintf(stderr, "usage: %s safetensors|small|npy OUT\n", argv[0]);
    return 2;
  }
  const std::vector<uint8_t> data = kind == "npy"     ? sibyl::test::make_sample_npy(300, 200, false, 7)
                                    : kind == "small" ? sibyl::test::make_sample_safetensors(8, 24)
                                                      : sibyl::test::make_sample_safetensors();
  std::FILE* f = std::fopen(argv[2], "wb");
  if (!f || std::fwrite(data.data(), 1, data.size(), f) != data.size() || std::fclose(f) != 0) {
    std::perror(argv[2]);
    return 1;
  }
  return 0;
}
