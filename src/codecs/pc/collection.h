// Collections of same-shape records in one file: IDX (the MNIST format,
// unsigned bytes), NPY uint8 arrays [N, ...] (C order) and binary PGM
// images (one record). Used by the encoder to find the records for the
// probabilistic-circuit codec and by `sibyl train` to read training sets.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace sibyl::pc {

struct Collection {
  const char* container = "";  // "idx", "npy", "pgm"
  uint64_t header_bytes = 0;   // the records start here
  uint64_t count = 0;          // records the header declares
  uint64_t record = 0;         // bytes per record (all dimensions but the first)
  uint32_t max_value = 255;    // PGM: maxval; else 255
  uint64_t shape_rows = 1;     // PGM: the image's height
  uint64_t row = 0;            // the last dimension (a PGM's width)
  std::string shape;           // "28x28"
};

// `prefix` must hold the whole header. False when the bytes are not such a
// file or the header is malformed; the declared records may run past the
// end of `prefix` (the caller checks sizes where it needs to).
bool parse_collection(std::span<const uint8_t> prefix, Collection* out);

}  // namespace sibyl::pc
