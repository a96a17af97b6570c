// Residual vector quantisation of float vectors (codec 3, mode 2): the
// encoder learns S codebooks of K centres of dimension G by k-means, each
// on what the stages before it left; a vector is coded as S indices and
// decoded as the sum of the chosen centres. Training is encoder-only;
// reconstruct() is the one definition both sides use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sibyl::tensor {

struct VqShape {
  int dim = 0;     // G: values per vector
  int stages = 0;  // S: residual stages
  int k = 0;       // K: centres per stage
};

// Limits a decoder enforces (doc/format.md): a codebook holds at most 2^16
// values, so its memory is bounded whatever a table claims.
inline constexpr int kVqMaxDim = 64;
inline constexpr int kVqMaxStages = 4;
inline constexpr int kVqMaxK = 1024;
inline constexpr uint64_t kVqMaxCodebook = 1u << 16;
bool vq_shape_valid(const VqShape& s);

// Encoder only: learns the codebooks (stages x K x G floats) for `n`
// vectors `x` (n x G, row-major) and assigns every vector its S indices
// (n x S). Deterministic: the same input gives the same output on any
// machine (fixed order of every floating-point operation, no threads).
void vq_train(const VqShape& shape, const float* x, size_t n, std::vector<float>* codebooks,
              std::vector<uint16_t>* codes);

// The decoded vector: the sum of the chosen centres, stage by stage, in
// float arithmetic (both directions use this).
inline void vq_reconstruct(const VqShape& shape, const float* codebooks, const uint16_t* idx, float* out) {
  for (int d = 0; d < shape.dim; ++d) out[d] = 0.0f;
  for (int s = 0; s < shape.stages; ++s) {
    const float* c = codebooks + (static_cast<size_t>(s) * static_cast<size_t>(shape.k) + idx[s]) * static_cast<size_t>(shape.dim);
    for (int d = 0; d < shape.dim; ++d) out[d] += c[d];
  }
}

}  // namespace sibyl::tensor
