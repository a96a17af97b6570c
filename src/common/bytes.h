// Little-endian loads and stores. Every multi-byte field of the format is
// little-endian and goes through these helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace sibyl {

inline uint16_t load_le16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline uint64_t load_le64(const uint8_t* p) { return uint64_t(load_le32(p)) | (uint64_t(load_le32(p + 4)) << 32); }

inline void store_le16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
inline void store_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
inline void store_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}

// Appends little-endian fields to a byte vector.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) { put(v, 2); }
  void u32(uint32_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void bytes(const uint8_t* p, size_t n) { out_.insert(out_.end(), p, p + n); }
  size_t size() const { return out_.size(); }

 private:
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(uint8_t(v >> (8 * i)));
  }
  std::vector<uint8_t>& out_;
};

// Reads little-endian fields from a bounded span; reading past the end sets a
// sticky failure flag and yields zeros, so parsers check once at the end.
class ByteReader {
 public:
  ByteReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  uint8_t u8() { return take(1) ? p_[pos_ - 1] : 0; }
  uint16_t u16() { return take(2) ? load_le16(p_ + pos_ - 2) : 0; }
  uint32_t u32() { return take(4) ? load_le32(p_ + pos_ - 4) : 0; }
  uint64_t u64() { return take(8) ? load_le64(p_ + pos_ - 8) : 0; }
  const uint8_t* bytes(size_t n) { return take(n) ? p_ + pos_ - n : nullptr; }
  size_t pos() const { return pos_; }
  size_t remaining() const { return n_ - pos_; }
  bool failed() const { return failed_; }

 private:
  bool take(size_t n) {
    if (failed_ || n > n_ - pos_) {
      failed_ = true;
      return false;
    }
    pos_ += n;
    return true;
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// LEB128 varints of the codecs' segment tables: 7 bits per byte, low
// first, the high bit set on every byte but the last.
inline void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

// Reads one at *pos (advanced); false when it runs past the end or past 64 bits.
inline bool get_varint(std::span<const uint8_t> in, size_t* pos, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= in.size()) return false;
    const uint8_t b = in[(*pos)++];
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

}  // namespace sibyl
