// Training sets for `sibyl train`: records of the same shape read from an
// IDX file (the MNIST format, optionally gzipped), an NPY uint8 array
// [N, ...] (optionally gzipped) or a directory of same-size binary PGMs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace sibyl::cli {

struct Dataset {
  std::vector<uint8_t> records;  // count x record_size values
  size_t count = 0;
  size_t record_size = 0;
  uint32_t max_value = 0;  // largest value seen
  std::string shape;       // "28x28" (for messages)
  uint32_t width = 0;      // the records' row length (their last dimension)
};

// Appends the records of every path (files or directories); all must have
// the same record size. Sizes are bounded (kMaxDatasetBytes).
Status load_dataset(const std::vector<std::string>& paths, Dataset* out);

inline constexpr uint64_t kMaxDatasetBytes = uint64_t(8) << 30;

}  // namespace sibyl::cli
