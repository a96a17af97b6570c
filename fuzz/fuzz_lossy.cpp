// Lossy tensor coding of arbitrary numbers: the input's first 4 bytes pick
// the element type, the row length, the mode (absolute bound, relative
// bound, vector quantisation) and its setting, a KV-cache structure and the
// block size; the rest is a raw array. The encoder (with --verify: it
// decodes every block and compares) must succeed, give the same bytes for 1
// and 3 threads, and the archive must decode; under an absolute bound every
// finite value must come back within it and every other one exactly.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "codecs/tensor/float_bits.h"
#include "engine/decoder.h"
#include "engine/encoder.h"

namespace {

double value(sibyl::tensor::DType t, const uint8_t* p) {
  using namespace sibyl::tensor;
  if (t == DType::kF32) {
    uint32_t u;
    std::memcpy(&u, p, 4);
    return float_of_bits(u);
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  return t == DType::kF16 ? f16_to_float(h) : bf16_to_float(h);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sibyl::tensor::DType;
  if (size < 4) return 0;
  static const DType kTypes[4] = {DType::kF32, DType::kF16, DType::kBF16, DType::kF32};
  const DType t = kTypes[data[0] & 3];
  const int es = t == DType::kF32 ? 4 : 2;
  sibyl::EncodeOptions o;
  o.level = 1 + (data[0] >> 2) % 9;
  o.kind = sibyl::DataKind::kTensor;
  o.tensor_dtype = t;
  o.tensor_row = 1 + data[1] % 64;
  const int mode = data[2] % 3;
  if (mode == 0) {
    o.error_mode = sibyl::tensor::ErrorBound::kAbsolute;
    o.error_bound = std::ldexp(1.0, -(data[3] % 40));
  } else if (mode == 1) {
    o.error_mode = sibyl::tensor::ErrorBound::kRelative;
    o.error_bound = std::ldexp(1.0, -(data[3] % 30));
  } else {
    o.error_mode = sibyl::tensor::ErrorBound::kVectors;
    o.vq = {1 + data[3] % 8, 1 + (data[3] >> 3) % 3, 2 << (data[3] >> 5) % 4};
  }
  if (data[2] & 0x80) {  // a KV cache: 4 tokens per head, 1024 elements per layer
    o.tensor_tokens = 4;
    o.tensor_layer = 4 * o.tensor_row * ((1024 + 4 * o.tensor_row - 1) / (4 * o.tensor_row));
  }
  o.block_log = 10 + (data[1] >> 6);
  o.verify = true;
  const std::vector<uint8_t> in(data + 4, data + size);
  std::vector<uint8_t> z1, z3, back;
  o.threads = 1;
  if (!sibyl::compress_buffer(in, o, z1).ok()) std::abort();
  o.threads = 3;
  if (!sibyl::compress_buffer(in, o, z3).ok() || z1 != z3) std::abort();
  if (!sibyl::decompress_buffer(z1, sibyl::DecodeOptions{}, back).ok() || back.size() != in.size()) std::abort();
  if (mode == 0) {
    const size_t n = in.size() / static_cast<size_t>(es) * static_cast<size_t>(es);
    for (size_t i = 0; i < n; i += static_cast<size_t>(es)) {
      const double x = value(t, in.data() + i), y = value(t, back.data() + i);
      const bool ok = std::isfinite(x) ? std::fabs(x - y) <= o.error_bound
                                       : std::memcmp(in.data() + i, back.data() + i, static_cast<size_t>(es)) == 0;
      if (!ok) std::abort();
    }
    if (std::memcmp(in.data() + n, back.data() + n, in.size() - n) != 0) std::abort();
  }
  return 0;
}
