// What every bitwise byte model tracks about the bits and bytes coded so
// far: the partial byte, the last bytes, and where the model is inside the
// byte (nibble and byte boundaries are where context lookups happen).
#pragma once

#include <cstddef>
#include <cstdint>

#include "model/nibble_table.h"

namespace sibyl {

struct ByteHistory {
  enum Event { kNone = 0, kNibble = 4, kByte = 8 };

  int c0 = 1;          // partial byte with a leading 1 (1..255)
  int c1 = 0;          // previous byte
  int bitpos = 0;      // bits of the current byte already coded (0..7)
  size_t pos = 0;      // bytes coded
  uint64_t last8 = 0;  // the last 8 bytes, most recent in the low byte

  // Adds a coded bit; reports a completed nibble or byte.
  Event push(int bit) {
    c0 = (c0 << 1) | bit;
    if (++bitpos == 8) {
      const uint8_t byte = static_cast<uint8_t>(c0);
      ++pos;
      last8 = (last8 << 8) | byte;
      c1 = byte;
      c0 = 1;
      bitpos = 0;
      return kByte;
    }
    return bitpos == 4 ? kNibble : kNone;
  }

  // Index of the current decision inside its nibble bucket: 1..15.
  int nibble_index() const {
    if (bitpos < 4) return c0;
    const int known = bitpos - 4;  // bits of the low nibble already coded
    return (1 << known) | (c0 & ((1 << known) - 1));
  }

  // The high nibble once bitpos >= 4.
  int high_nibble() const { return c0 & 15; }

  // Hash of a context for the second nibble of a byte.
  static uint32_t second_nibble_hash(uint32_t context_hash, int high_nibble) {
    return hash_mix(static_cast<uint64_t>(context_hash) << 8 | static_cast<uint64_t>(16 + high_nibble));
  }
};

}  // namespace sibyl
