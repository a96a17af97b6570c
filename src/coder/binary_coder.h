// Carry-less binary arithmetic coder.
//
// The coder keeps an interval [x1, x2] of 32-bit integers. A bit with
// probability p1 = P(bit = 1) in 16-bit fixed point (1..65535) splits the
// interval at xmid = x1 + floor((x2 - x1) * p1 / 65536): a 1 keeps
// [x1, xmid], a 0 keeps [xmid + 1, x2]. Whenever x1 and x2 agree in their top
// byte, that byte is final: it is written and both ends shift left by 8.
// No carry can occur because the written byte is shared by every value left
// in the interval.
//
// The encoder and the decoder expose the same call, code(bit, p1), which
// returns the bit: the encoder codes the bit it is given, the decoder ignores
// it and returns the bit it decodes. A model loop written against code() is
// therefore the same for both directions.
//
// End of stream: flush() writes the shortest prefix of a value inside the
// final interval whose remaining bytes are zero. The decoder treats bytes
// past the end of its input as zero; more than kMaxOverrun such bytes means
// the input is not a valid stream (overrun() becomes true).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__GNUC__)
#define SIBYL_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SIBYL_ALWAYS_INLINE inline
#endif

namespace sibyl {

class BinaryEncoder {
 public:
  static constexpr bool kDecoding = false;

  explicit BinaryEncoder(std::vector<uint8_t>& out) : out_(out) {}

  // p1: probability of a 1 in units of 1/65536, 1..65535.
  SIBYL_ALWAYS_INLINE int code(int bit, uint32_t p1) {
    const uint32_t xmid = x1_ + static_cast<uint32_t>((static_cast<uint64_t>(x2_ - x1_) * p1) >> 16);
    if (bit) {
      x2_ = xmid;
    } else {
      x1_ = xmid + 1;
    }
    while (((x1_ ^ x2_) & 0xff000000u) == 0) {
      out_.push_back(static_cast<uint8_t>(x2_ >> 24));
      x1_ <<= 8;
      x2_ = (x2_ << 8) | 255;
    }
    return bit;
  }

  // Writes the final bytes. The coder must not be used afterwards.
  void flush() {
    // Find the shortest byte string s such that s followed by zeros lies in
    // [x1, x2]. Top bytes differ here, so at most 4 bytes are needed.
    for (int n = 1; n <= 4; ++n) {
      const int shift = 32 - 8 * n;
      const uint64_t unit = uint64_t(1) << shift;
      // Smallest multiple of unit that is >= x1.
      const uint64_t v = ((static_cast<uint64_t>(x1_) + unit - 1) >> shift) << shift;
      if (v <= x2_) {
        // Zero bytes at the end of the flush are implied (the decoder reads
        // missing bytes as zero), so they are not written.
        int keep = n;
        while (keep > 0 && static_cast<uint8_t>(v >> (32 - 8 * keep)) == 0) --keep;
        for (int i = 0; i < keep; ++i) out_.push_back(static_cast<uint8_t>(v >> (24 - 8 * i)));
        return;
      }
    }
  }

 private:
  uint32_t x1_ = 0;
  uint32_t x2_ = 0xffffffffu;
  std::vector<uint8_t>& out_;
};

class BinaryDecoder {
 public:
  static constexpr bool kDecoding = true;
  static constexpr int kMaxOverrun = 4;

  BinaryDecoder(const uint8_t* data, size_t size) : p_(data), end_(data + size) {
    for (int i = 0; i < 4; ++i) x_ = (x_ << 8) | next_byte();
  }

  SIBYL_ALWAYS_INLINE int code(int /*bit*/, uint32_t p1) {
    const uint32_t xmid = x1_ + static_cast<uint32_t>((static_cast<uint64_t>(x2_ - x1_) * p1) >> 16);
    const int bit = x_ <= xmid;
    x2_ = bit ? xmid : x2_;
    x1_ = bit ? x1_ : xmid + 1;
    while (((x1_ ^ x2_) & 0xff000000u) == 0) {
      x1_ <<= 8;
      x2_ = (x2_ << 8) | 255;
      x_ = (x_ << 8) | next_byte();
    }
    return bit;
  }

  // True once the decoder has needed more than kMaxOverrun bytes past the
  // end of its input: the stream is corrupt (or a decompression bomb).
  bool overrun() const { return overrun_ > kMaxOverrun; }
  // True when every input byte has been read. A valid stream is consumed
  // exactly: the decoder's 4-byte look-ahead covers the flushed tail.
  bool exhausted() const { return p_ == end_; }
 private:
  inline uint32_t next_byte() {
    if (p_ < end_) return *p_++;
    ++overrun_;
    return 0;
  }

  uint32_t x1_ = 0;
  uint32_t x2_ = 0xffffffffu;
  uint32_t x_ = 0;
  const uint8_t* p_;
  const uint8_t* end_;
  size_t overrun_ = 0;
};

}  // namespace sibyl
