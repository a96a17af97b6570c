// Multi-symbol range coder (32-bit range, byte-wise output with carry
// propagation) for codecs that code symbols from a frequency table:
// LPC residuals, pixels, quantised tensors.
//
// A symbol is coded from its cumulative frequency `cum`, its frequency
// `freq` (>= 1) and the table total `total` (<= kMaxTotal). The encoder and
// decoder follow the same arithmetic: r = range / total, low += r * cum,
// range = r * freq, then renormalise while range < 2^24.
//
// The decoder treats bytes past the end of its input as zero; more than
// kMaxOverrun of them, or a decoded target outside [0, total), marks the
// stream corrupt (corrupt() becomes true) instead of crashing or looping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sibyl {

class RangeEncoder {
 public:
  static constexpr bool kDecoding = false;
  static constexpr uint32_t kMaxTotal = 1u << 16;

  explicit RangeEncoder(std::vector<uint8_t>& out) : out_(out) {}

  inline void encode(uint32_t cum, uint32_t freq, uint32_t total) {
    const uint32_t r = range_ / total;
    low_ += static_cast<uint64_t>(r) * cum;
    range_ = r * freq;
    while (range_ < kTop) {
      range_ <<= 8;
      shift_low();
    }
  }

  // Codes `nbits` (<= 16) raw bits with a flat distribution.
  inline void encode_bits(uint32_t value, int nbits) { encode(value, 1, 1u << nbits); }

  // Ends the stream with a single byte after the ones already committed:
  // the value low rounded up to a multiple of 2^24 lies inside the final
  // interval (range >= 2^24) and needs no bytes after its top one. For
  // streams whose length is stored elsewhere (the decoder must be given
  // exactly these bytes; it reads zeros past them, at most 3). Costs less
  // than flush() when many short streams are coded.
  void flush_short() {
    low_ = (low_ + 0xffffffull) & ~0xffffffull;
    shift_low();
    shift_low();
  }

  void flush() {
    for (int i = 0; i < 5; ++i) shift_low();
    // Zero bytes at the end are implied by the decoder.
    while (written_ > 0 && !out_.empty() && out_.back() == 0) {
      out_.pop_back();
      --written_;
    }
  }

 private:
  static constexpr uint32_t kTop = 1u << 24;

  // Moves the top byte of low_ towards the output. A byte is held back
  // (cache_, plus a run of 0xff bytes) until it is known that no carry from
  // a later addition can change it.
  void shift_low() {
    if (low_ < 0xff000000ull || low_ >= (1ull << 32)) {
      const uint8_t carry = static_cast<uint8_t>(low_ >> 32);
      if (have_cache_) put(static_cast<uint8_t>(cache_ + carry));
      for (; pending_ > 0; --pending_) put(static_cast<uint8_t>(0xff + carry));
      cache_ = static_cast<uint8_t>(low_ >> 24);
      have_cache_ = true;
    } else {
      ++pending_;
    }
    low_ = (low_ & 0x00ffffffull) << 8;
  }
  void put(uint8_t b) {
    out_.push_back(b);
    ++written_;
  }

  uint64_t low_ = 0;
  uint32_t range_ = 0xffffffffu;
  uint8_t cache_ = 0;
  bool have_cache_ = false;
  uint64_t pending_ = 0;
  size_t written_ = 0;
  std::vector<uint8_t>& out_;
};

class RangeDecoder {
 public:
  static constexpr bool kDecoding = true;
  static constexpr uint32_t kMaxTotal = RangeEncoder::kMaxTotal;
  static constexpr int kMaxOverrun = 5;

  RangeDecoder(const uint8_t* data, size_t size) : p_(data), end_(data + size) {
    for (int i = 0; i < 4; ++i) code_ = (code_ << 8) | next_byte();
  }

  // First half of decoding a symbol: the target cumulative frequency.
  inline uint32_t decode_target(uint32_t total) {
    r_ = range_ / total;
    const uint32_t v = code_ / r_;
    if (v >= total) {
      bad_ = true;
      return total - 1;
    }
    return v;
  }

  // Second half: consume the symbol [cum, cum + freq) that holds the target.
  inline void consume(uint32_t cum, uint32_t freq) {
    code_ -= r_ * cum;
    range_ = r_ * freq;
    while (range_ < kTop) {
      range_ <<= 8;
      code_ = (code_ << 8) | next_byte();
    }
  }

  inline uint32_t decode_bits(int nbits) {
    const uint32_t v = decode_target(1u << nbits);
    consume(v, 1);
    return v;
  }

  bool corrupt() const { return bad_ || overrun_ > kMaxOverrun; }

 private:
  static constexpr uint32_t kTop = 1u << 24;
  inline uint32_t next_byte() {
    if (p_ < end_) return *p_++;
    ++overrun_;
    return 0;
  }

  uint32_t range_ = 0xffffffffu;
  uint32_t code_ = 0;
  uint32_t r_ = 1;
  const uint8_t* p_;
  const uint8_t* end_;
  size_t overrun_ = 0;
  bool bad_ = false;
};

}  // namespace sibyl
