// The collection regime of the probabilistic-circuit codec (--adapt): the
// prior's prediction of every value is mixed with adaptive context models
// that learn across the records of a block.
//
// A value is coded as 8 binary decisions, most significant bit first. For
// each decision the circuit's probability (from its distribution over the
// values still possible) is one input of a gated logistic mixer; the others
// are adaptive probabilities of hashed contexts: the variable itself, its
// tree parent's value, its spatial neighbours (left, up, up-left, up-right,
// when the records are images of a known width and the neighbour is
// already coded), and the circuit's most likely value with its confidence.
// An APM refines the mix. All arithmetic after the circuit is integer.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "codecs/pc/pc_codec.h"
#include "coder/binary_coder.h"

namespace sibyl::pc {

// Bytes of model state the collection regime needs besides the prior.
uint64_t adapt_memory(const Prior& prior);

class AdaptCoder {
 public:
  // `width`: the records' row length for spatial contexts (0 = none).
  AdaptCoder(const Prior& prior, uint32_t width);
  ~AdaptCoder();
  AdaptCoder(const AdaptCoder&) = delete;
  AdaptCoder& operator=(const AdaptCoder&) = delete;

  // Codes the variables [col0, col0 + len) of one record (`piece` holds
  // them, or receives them when decoding) with the shared state.
  void encode(BinaryEncoder& enc, const uint8_t* piece, uint64_t col0, uint64_t len);
  void decode(BinaryDecoder& dec, uint8_t* piece, uint64_t col0, uint64_t len);

 private:
  struct State;
  template <class Coder>
  void code(Coder& c, uint8_t* piece, uint64_t col0, uint64_t len);
  std::unique_ptr<State> s_;
};

}  // namespace sibyl::pc
