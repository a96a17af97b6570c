// The probabilistic-circuit codec (codec 7): records of a collection (same
// shape, one byte per value) coded from a trained prior (an HCLT, see
// model/pc/hclt.h), every record in its own range-coder stream so that
// any record can be decoded by itself.
//
// The prior is not in the archive: its xxh64 is in the block parameters and
// the prior must be registered (register_prior) before such a block is
// coded or decoded; a missing or different prior is a clear error.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "codecs/tensor/tensor_layout.h"
#include "common/status.h"
#include "model/pc/hclt.h"

namespace sibyl::pc {

// A prior ready for coding.
struct MixingModel;  // pc_adapt.h

struct Prior {
  Hclt model;
  // The trained mixing model of the prior file (version 2), parsed and
  // checked when the prior is registered; nullptr in version 1.
  std::shared_ptr<const MixingModel> mixing;
  TreeOrder tree;
  std::vector<float> trans_t;  // transposed transitions (HcltCoder)
  uint64_t hash = 0;           // the prior file's xxh64
  // The leaves' cumulative tables (the raster collection regime), built on
  // first use (thread-safe).
  const LeafTables& leaf_tables() const;

 private:
  mutable std::once_flag tables_once_;
  mutable LeafTables tables_;
};

// Parses a prior file and makes it known to the codec (process-wide,
// thread-safe; registering the same file twice is harmless).
Status register_prior(std::span<const uint8_t> file, uint64_t* hash);
// nullptr when no prior with this hash is registered.
std::shared_ptr<const Prior> find_prior(uint64_t hash);

// Block parameters: u8 version (1), u64 prior hash, u8 flags: 0 the
// independent regime; 1 or 2 the collection regime (pc_adapt.h) with u32
// width after (row length of the records for spatial contexts, 0 = none):
// 1 codes the values in the circuit's order (the first version, still
// decoded), 2 in raster order (row by row), 3 in column order (column by
// column: the records' transposed raster order), 4 and 5 the same orders
// with predictor maps instead of hashed contexts (pc_adapt.h); 6 the
// independent regime coded from the prior's trained mixing model (prior
// file version 2), every record alone, with u32 width = the model's. The
// encoder writes 4 or 5 for the collection regime, whichever makes the
// circuit's focus travel the shorter way along its tree (adapt_columns in
// pc_adapt.h), and 6 for the independent regime when the prior has a
// mixing model (else 0); 1, 2 and 3 are still decoded.
inline constexpr uint8_t kPcParamsVersion = 1;
std::vector<uint8_t> pc_params(uint64_t prior_hash, bool adapt = false, uint32_t width = 0);
struct PcConfig {
  uint64_t prior_hash = 0;
  bool adapt = false;
  bool raster = false;   // the collection regime in raster order (flags 2 to 5)
  bool columns = false;  // ... column by column (flags 3 or 5)
  bool maps = false;     // ... with predictor maps (flags 4 or 5)
  bool mixing = false;   // the independent regime from the prior's mixing model (flags 6)
  uint32_t width = 0;
  static Status parse(std::span<const uint8_t> params, PcConfig* out);
};

// Segments: records (tensor::Segment::record != 0), whole or parts of
// one, and bytes between them (stored as they are).
inline constexpr uint64_t kMaxSegments = 256;
bool has_records(std::span<const tensor::Segment> segments);

Status pc_check(std::span<const uint8_t> params, uint64_t* memory);
Status pc_encode(const PcConfig& config, std::span<const tensor::Segment> segments, std::span<const uint8_t> in,
                 std::vector<uint8_t>& out);
Status pc_decode(const PcConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out);

// Decodes what a block's payload holds of record `number`; in the collection
// regime the records before it in the block are decoded too (they share the
// adaptive state) (the record's
// number in the stream) into `record` (resized to the record size), at its
// place in the record, and adds the bytes it wrote to *covered. A record
// cut by a block boundary is in two blocks.
Status pc_decode_record(const PcConfig& config, std::span<const uint8_t> payload, uint64_t number,
                        std::vector<uint8_t>* record, uint64_t* covered);

// Where records are in a stream: an IDX file of unsigned bytes whose record
// (all dimensions but the first) has `record` bytes, an NPY uint8 array
// likewise, a binary PGM of `record` pixels, or else the whole stream as
// records from offset 0. `prefix` holds the stream's first bytes. *width
// (if given) gets the records' row length (an image's width, the last
// dimension of an array), 0 for a raw stream.
tensor::Layout record_layout(std::span<const uint8_t> prefix, uint32_t record, uint32_t* width = nullptr);

}  // namespace sibyl::pc
