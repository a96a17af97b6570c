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
//
// Block parameter flags (pc_codec.h): the circuit's own depth-first order
// (flags 1, the first version, still decoded); raster order (flags 2 and
// 3, still decoded), where every value's causal neighbours (left, up,
// up-left, up-right and two further) are known, as in an image codec, and
// the circuit's conditionals come from HcltFocusCoder, with hashed
// contexts in check-tagged lines and a further APM on the circuit's own
// probability; and raster order with predictor maps (flags 4 and 5, what
// the encoder writes): instead of the hashed contexts, 16 pixel
// predictors (neighbours, gradients, two least-squares fits, the
// circuit's expected value and an error-weighted blend), each giving the
// mixer the probability its map holds for where the prediction lies
// against the interval the decided bits leave, in the context of the
// predictor's recent error.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codecs/pc/pc_codec.h"
#include "coder/binary_coder.h"

namespace sibyl::pc {

// Bytes of model state the collection regime needs besides the prior.
uint64_t adapt_memory(const Prior& prior, bool raster, bool maps);

// Whether column order (flags 3) suits the prior better than row order: the
// circuit's focus moves from each value to the next along the tree, and
// a Chow-Liu tree of images tends to follow one direction (Fashion-MNIST's
// is mostly vertical edges: 3.5 edges between vertical neighbours, 15
// between horizontal ones). Needs width > 0 dividing the record.
bool adapt_columns(const Prior& prior, uint32_t width);

// The collection regime's model (predictor maps, raster or column order)
// after learning from a training set, stored in the prior file (version 2)
// and frozen: the independent regime with a mixing model (flags 6) codes
// every record from it alone, so each still decodes by itself.
struct MixingModel;
// Learns from n records (n x vars bytes) of width `width` in the order the
// collection regime would take them, and returns the bytes of the mixing
// model (Hclt::mixing).
std::vector<uint8_t> train_mixing(const Prior& prior, const uint8_t* records, uint64_t n, uint32_t width);
// Parses and checks those bytes (any damage: kCorrupt).
Status parse_mixing(const Prior& prior, std::span<const uint8_t> bytes, std::shared_ptr<const MixingModel>* out);
// The records' row length the mixing model was trained for.
uint32_t mixing_width(const MixingModel& mix);
// Bytes of model state a frozen coder holds besides the prior.
uint64_t mixing_memory(const Prior& prior);

class AdaptCoder {
  struct State;
  struct RasterState;

 public:
  // A frozen coder from the prior's mixing model: nothing it codes
  // changes it, so every call codes its piece alone (flags 6).
  explicit AdaptCoder(const Prior& prior);
  // `width`: the records' row length for spatial contexts (0 = none);
  // `raster`: raster order (flags 2, or 3 with `columns`) rather than the
  // circuit's (flags 1); `maps`: raster order with predictor maps (flags 4,
  // or 5 with `columns`); `block_bytes`: the block's size (the hashed
  // contexts' table grows with it).
  AdaptCoder(const Prior& prior, uint32_t width, bool raster, bool columns, bool maps, uint64_t block_bytes);
  ~AdaptCoder();
  AdaptCoder(const AdaptCoder&) = delete;
  AdaptCoder& operator=(const AdaptCoder&) = delete;

  // The learned state as mixing-model bytes (train_mixing; predictor maps only).
  std::vector<uint8_t> save_mixing();

  // A fresh state of the predictor-map model, to read its initial words
  // (parse_mixing).
  class RasterStateFactory {
   public:
    RasterStateFactory(const Prior& prior, uint32_t width, bool columns);
    ~RasterStateFactory();
    void words(std::vector<uint16_t>* out);

   private:
    std::unique_ptr<RasterState> st_;
  };

  // Codes the variables [col0, col0 + len) of one record (`piece` holds
  // them, or receives them when decoding) with the shared state.
  void encode(BinaryEncoder& enc, const uint8_t* piece, uint64_t col0, uint64_t len);
  void decode(BinaryDecoder& dec, uint8_t* piece, uint64_t col0, uint64_t len);

 private:
  template <class Coder>
  void code(Coder& c, uint8_t* piece, uint64_t col0, uint64_t len);
  template <class Coder>
  void code_raster(Coder& c, uint8_t* piece, uint64_t col0, uint64_t len);
  std::unique_ptr<State> s_;
  std::unique_ptr<RasterState> r_;
  friend std::vector<uint8_t> train_mixing(const Prior&, const uint8_t*, uint64_t, uint32_t);
};

}  // namespace sibyl::pc
