// A hidden Chow-Liu tree (HCLT): the probabilistic circuit of "Lossless
// Compression with Probabilistic Circuits" (Liu, Mandt, Van den Broeck,
// ICLR 2022) for records of `vars` categorical variables with `values`
// values each (a 28x28 image: 784 variables of 256 values).
//
// Every variable X_v has a latent Z_v with `latent` states. The latents
// form a tree (a Chow-Liu tree learned over the variables): the root's
// latent has a prior, every other latent a transition P(Z_v | Z_parent),
// and every variable a categorical leaf P(X_v | Z_v). As a circuit this is
// smooth and decomposable: a sum unit per (variable, parent state) over
// the variable's latent states, a product unit per latent state over the
// leaf and the children's sum units.
//
// The coder (HcltCoder) visits the variables in the tree's depth-first
// preorder (the "coding order") and gives p(x_v | all variables before v)
// from the circuit's marginals. It caches what earlier variables already
// evaluated: in preorder the variables after v and v's own subtree are all
// still unobserved, so the conditional at v needs one message down the
// edge parent -> v (what the parent's side of the tree has observed), and
// each finished subtree sends its evidence one message up; every
// record costs 2 (vars - 1) K x K message products plus one K x values
// product per variable, instead of a circuit pass per variable.
//
// Arithmetic: IEEE float32 multiplies and adds in a fixed order (no FMA,
// no reassociation: the build forbids both), so the encoder and decoder,
// any build and any SIMD level compute the same numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/simd.h"
#include "common/status.h"

namespace sibyl::pc {

// Limits a prior file must respect (checked before anything is allocated).
inline constexpr uint32_t kMaxVars = 1u << 16;
inline constexpr uint32_t kMaxValues = 256;
inline constexpr uint32_t kMaxLatent = 256;
inline constexpr uint64_t kMaxParams = uint64_t(1) << 28;  // floats (1 GiB)
// Smallest parameter a prior may hold: keeps every message positive.
inline constexpr float kMinParam = 1e-12f;

inline constexpr uint32_t kNoParent = 0xffffffffu;

struct Hclt {
  uint32_t vars = 0;
  uint32_t values = 0;
  uint32_t latent = 0;
  std::vector<uint32_t> parent;  // per variable; kNoParent for the root
  std::vector<float> prior;      // latent: P(Z_root)
  // Per variable, latent x latent, row = parent state: P(Z_v = c | Z_parent = p)
  // at [v][p][c] (the root's rows are unused and hold zeros).
  std::vector<float> trans;
  // Per variable, latent x values: P(X_v = x | Z_v = z) at [v][z][x].
  std::vector<float> leaf;
  // The mixing model trained for the records (prior file version 2; empty
  // in version 1): bytes this file does not look into, read and checked by
  // the codec (pc_adapt.h, MixingModel).
  std::vector<uint8_t> mixing;

  uint32_t root() const;
  size_t trans_offset(uint32_t v) const { return size_t(v) * latent * latent; }
  size_t leaf_offset(uint32_t v) const { return size_t(v) * latent * values; }
  // Allocates the parameter arrays for the current vars/values/latent.
  void allocate();
};

// The tree's derived structure: children, the coding order and where each
// subtree ends in it. Built from `parent`; fails unless it is one tree.
struct TreeOrder {
  std::vector<uint32_t> order;     // coding order: variables in DFS preorder, children by index
  std::vector<uint32_t> position;  // position of each variable in `order`
  std::vector<uint32_t> last;      // per variable: position of the last variable of its subtree
  std::vector<uint32_t> child_begin, children;  // CSR children lists (ascending)
  Status build(const std::vector<uint32_t>& parent);
};

// ---- the prior file (doc/models/pc.md: format) ----
// magic "SIBYLPC1", u32 version, u32 vars, u32 values, u32 latent, u32 parent[vars],
// f32 prior[latent], f32 trans[(vars-1) x latent x latent] (variables in
// index order, the root skipped), f32 leaf[vars x latent x values], in
// version 2 then u64 size and that many bytes of the mixing model, u64
// xxh64 of all before. Version 1 is written when there is no mixing model.
inline constexpr uint32_t kPriorVersion = 2;
inline constexpr uint64_t kMaxMixingBytes = uint64_t(1) << 28;
std::vector<uint8_t> write_prior(const Hclt& m);
// Checks everything (sizes, tree, every parameter finite and >= kMinParam,
// the checksum) before it allocates. *hash = the file's stored xxh64.
Status read_prior(std::span<const uint8_t> file, Hclt* m, uint64_t* hash);

// out[j] = sum_z w[z] rows[z * n + j] (z ascending, no FMA): the one
// product of the coder, in versions for each SIMD level that agree to the bit.
using WeightedRows = void (*)(const float* w, const float* rows, uint32_t k, uint32_t n, float* out);
WeightedRows weighted_rows_kernel(SimdLevel level);

// The transitions transposed ([v][c][p]): the upward messages read them by rows.
std::vector<float> transpose_transitions(const Hclt& m);

// Per-record conditional distributions in coding order. One coder per thread.
class HcltCoder {
 public:
  // `m`, `tree` (m's TreeOrder) and `trans_t` (transpose_transitions(m))
  // must outlive the coder.
  HcltCoder(const Hclt& m, const TreeOrder& tree, const float* trans_t, SimdLevel level = simd_level());

  // Starts a record.
  void reset();
  // The distribution of the variable at coding position `i` (the calls go
  // through i = 0, 1, ... in order) given everything observed so far:
  // `dist` gets `values` non-negative weights (not normalised).
  void predict(uint32_t i, float* dist);
  // Ends position `i`: `value` observed, or `value` < 0 when the variable
  // is missing from this record (marginalised out).
  void observe(uint32_t i, int value);

 private:
  const Hclt& m_;
  const TreeOrder& t_;
  uint32_t k_;
  const float* trans_t_;        // per variable, transposed transitions [v][c][p]
  WeightedRows kernel_;
  std::vector<float> acc_;      // per variable: evidence of what is observed in its subtree so far
  std::vector<float> down_;     // per variable: the message from outside its subtree
  bool have_down_ = false;
  uint32_t down_pos_ = 0;
  void compute_down(uint32_t i);
};

// Conditional distributions in any order the caller chooses (the
// collection regime codes records in raster order, so that adaptive
// contexts see a pixel's causal neighbours). Belief propagation on the
// latent tree with a moving focus: every message pointing towards the
// focus variable is kept up to date, and moving the focus to the next
// variable recomputes only the messages on the tree path between the two,
// in a fixed order. Evidence is only ever added at the focus, so no other
// message goes stale. The cost of a step is (path length) K x K products
// plus one K x values product for the prediction.
//
// Messages are scaled to a mean of 1 (not a sum): a variable with several
// neighbours multiplies several of them, and this keeps the products near 1.
class HcltFocusCoder {
 public:
  HcltFocusCoder(const Hclt& m, const TreeOrder& tree, const float* trans_t, SimdLevel level = simd_level());
  // Starts a record: nothing observed.
  void reset();
  // The distribution of variable v (not yet observed in this record) given
  // everything observed: `values` non-negative weights (not normalised).
  void predict(uint32_t v, float* dist);
  // What predict weighs the leaf rows with: the beliefs over v's latent
  // states given everything observed (not normalised).
  void belief(uint32_t v, float* w);
  // Variable v takes `value` (each variable at most once per record);
  // value < 0 leaves it unobserved.
  void observe(uint32_t v, int value);
  // Variable v observed with the given evidence over its latent states
  // (`latent` non-negative weights, e.g. its leaf column).
  void observe_evidence(uint32_t v, const float* evidence);
  // Tree edges the focus has moved along since construction (statistics).
  uint64_t steps() const { return steps_; }

 private:
  const Hclt& m_;
  const TreeOrder& t_;
  uint32_t k_;
  const float* trans_t_;
  WeightedRows kernel_;
  std::vector<uint32_t> depth_;
  std::vector<float> up_;    // per non-root variable: the message into its parent
  std::vector<float> down_;  // per non-root variable: the message from its parent
  std::vector<float> ev_;    // per variable: its own evidence (ones when unobserved)
  std::vector<uint32_t> path_;  // scratch: the downward part of a move
  uint32_t root_ = 0;
  uint32_t focus_ = 0;
  uint64_t steps_ = 0;
  // The product of what reaches u from every side but `skip` (a neighbour
  // of u, or kNoParent for none), its own evidence included.
  void gather(uint32_t u, uint32_t skip, float* out) const;
  void move_to(uint32_t v);
};

// Per-variable tables of the leaves for coding a value bit by bit: the
// mass of a range of values under latent state z is cum[t1] - cum[t0].
struct LeafTables {
  uint32_t values = 0, latent = 0;
  // [v][t][z], t = 0..values: sum of leaf[v][z][x] for x < t (float, x
  // ascending), so a range's mass under beliefs w is a dot product of two
  // rows with w.
  std::vector<float> cum;
  // [v][z]: the leaf's mean value and its standard deviation.
  std::vector<float> mean, spread;
  const float* row(uint32_t v, uint32_t t) const { return &cum[(size_t(v) * (values + 1) + t) * latent]; }
};
LeafTables build_leaf_tables(const Hclt& m);

// Mean log-likelihood helper for training and reports: -log2 p(record),
// computed by a full upward pass (doubles for the scale only).
double record_bits(const Hclt& m, const TreeOrder& tree, const uint8_t* record, std::vector<float>& scratch);

// ---- training ----
struct TrainOptions {
  uint32_t latent = 32;
  uint32_t epochs = 8;
  int threads = 1;
  uint32_t mi_samples = 10000;  // records used for the mutual information (evenly spaced)
  uint32_t mi_bins = 16;        // values are binned for the mutual information
  double leaf_pseudocount = 0.1;   // per leaf cell and latent state, in expected counts
  double trans_pseudocount = 0.1;  // per transition cell
  // Mini-batch EM: records per batch (0 = all: classic EM) and the step
  // towards each batch's estimate.
  uint32_t batch = 6144;
  double step = 0.3;
  // Called after every epoch with the epoch number and the training set's
  // bits per variable (each batch under the parameters before its update).
  void (*progress)(void* ctx, uint32_t epoch, double bits_per_var) = nullptr;
  void* progress_ctx = nullptr;
};

// Learns the structure (Chow-Liu tree over the variables from pairwise
// mutual information, rooted at its centre) and the parameters (EM from an
// initialisation that gives each latent state a quantile range of its
// variable's values). `records` holds n records of `vars` bytes, each < values.
// The result depends only on the data and the options, never on `threads`.
Status train_hclt(const uint8_t* records, size_t n, uint32_t vars, uint32_t values, const TrainOptions& opt,
                  Hclt* out);

}  // namespace sibyl::pc
