#include "codecs/bytes/x86_filter.h"

#include "common/bytes.h"

namespace sibyl::x86 {

namespace {
inline bool near_displacement(uint8_t top) { return top == 0x00 || top == 0xff; }
}  // namespace

void transform(std::span<uint8_t> data, bool forward) {
  const size_t n = data.size();
  if (n < 5) return;
  for (size_t i = 0; i + 5 <= n;) {
    const uint8_t op = data[i];
    if (op != 0xe8 && op != 0xe9) {
      ++i;
      continue;
    }
    // Every opcode byte skips its 4 displacement bytes, converted or not:
    // opcode bytes are never changed, so both directions visit the same
    // positions. A conversion keeps the top byte 00 or FF, so the inverse
    // converts exactly the displacements the forward pass did.
    if (near_displacement(data[i + 4])) {
      const uint32_t v = load_le32(&data[i + 1]);
      const uint32_t here = static_cast<uint32_t>(i + 5);
      uint32_t r = (forward ? v + here : v - here) & 0x1ffffffu;
      if (r & 0x1000000u) r |= 0xfe000000u;  // sign-extend from 25 bits
      store_le32(&data[i + 1], r);
    }
    i += 5;
  }
}

bool looks_like_x86(std::span<const uint8_t> data) {
  size_t ops = 0, near = 0;
  for (size_t i = 0; i + 5 <= data.size(); ++i) {
    if (data[i] == 0xe8 || data[i] == 0xe9) {
      ++ops;
      if (near_displacement(data[i + 4])) ++near;
    }
  }
  return near * 256 >= data.size() && near * 2 >= ops;
}

}  // namespace sibyl::x86
