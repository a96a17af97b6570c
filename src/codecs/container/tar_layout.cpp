#include "codecs/container/tar_layout.h"

#include <cstring>

#include "codecs/image/formats.h"

namespace sibyl::tar {

namespace {

constexpr size_t kBlock = 512;

// An octal field (NUL or space terminated); GNU base-256 sizes (high bit
// set) are read too. False when malformed.
bool octal(const uint8_t* f, size_t n, uint64_t* out) {
  if (f[0] & 0x80) {
    uint64_t v = f[0] & 0x7f;
    for (size_t i = 1; i < n; ++i) {
      if (v >> 55) return false;
      v = v << 8 | f[i];
    }
    *out = v;
    return true;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < n && f[i] == ' ') ++i;
  size_t digits = 0;
  for (; i < n && f[i] >= '0' && f[i] <= '7'; ++i, ++digits) {
    if (v >> 60) return false;
    v = v * 8 + (f[i] - '0');
  }
  if (i < n && f[i] != 0 && f[i] != ' ') return false;
  *out = v;
  return digits > 0;
}

bool valid_header(const uint8_t* h) {
  if (std::memcmp(h + 257, "ustar", 5) != 0) return false;
  uint64_t stored;
  if (!octal(h + 148, 8, &stored)) return false;
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
  return sum == stored;
}

}  // namespace

tensor::Layout detect_tar(std::span<const uint8_t> prefix) {
  tensor::Layout l;
  if (prefix.size() < kBlock || !valid_header(prefix.data())) return l;
  uint64_t pos = 0;
  // Regions stay ordered and disjoint: each member's data lies after its header.
  while (pos + kBlock <= prefix.size()) {
    const uint8_t* h = prefix.data() + pos;
    if (!valid_header(h)) break;  // also the zero blocks at the end
    uint64_t size;
    if (!octal(h + 124, 12, &size)) break;
    const uint8_t type = h[156];
    const uint64_t data = pos + kBlock;
    const bool regular = type == '0' || type == 0 || type == '7';
    if (regular && size > 0 && data < prefix.size()) {
      const std::span<const uint8_t> member = prefix.subspan(data, std::min<uint64_t>(size, prefix.size() - data));
      const tensor::Layout img = image::detect_image(member);
      if (!img.empty()) {
        for (tensor::Region r : img.regions) {
          if (r.offset >= size) continue;
          r.bytes = std::min(r.bytes, size - r.offset);
          r.offset += data;
          l.regions.push_back(r);
        }
      }
    }
    // GNU long names ('L', 'K') and pax headers ('x', 'g') are members
    // like any other here: their data is skipped.
    const uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
    if (padded > UINT64_MAX - data) break;
    pos = data + padded;
  }
  if (!l.regions.empty()) l.container = "tar";
  return l;
}

}  // namespace sibyl::tar
