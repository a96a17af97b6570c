// libsibyl for C++: header-only RAII wrappers over the C API (sibyl.h).
// Errors are thrown as sibyl::Failure carrying the stable numeric code.
#ifndef SIBYL_SIBYL_HPP
#define SIBYL_SIBYL_HPP

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sibyl/sibyl.h"

namespace sibyl {

class Failure : public std::runtime_error {
 public:
  Failure(int code, const std::string& message)
      : std::runtime_error(std::string(sibyl_error_name(code)) + (message.empty() ? "" : ": " + message)), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

namespace api_detail {
inline void check(int code, const char* message = "") {
  if (code != SIBYL_OK) throw Failure(code, message ? message : "");
}
}  // namespace api_detail

// One-shot helpers.
inline std::vector<uint8_t> compress(std::span<const uint8_t> in, int level = SIBYL_LEVEL_DEFAULT) {
  std::vector<uint8_t> out(sibyl_compress_bound(in.size()));
  if (out.empty()) throw Failure(SIBYL_ERROR_INVALID_ARGUMENT, "input too large");
  size_t n = 0;
  api_detail::check(sibyl_compress(out.data(), out.size(), &n, in.data(), in.size(), level));
  out.resize(n);
  return out;
}

// Decodes a whole archive. The size its index declares only sizes a first
// reservation (at most 64 MiB): the output grows with what actually decodes.
inline std::vector<uint8_t> decompress(std::span<const uint8_t> in);

// Streaming compression. feed() returns the compressed bytes produced so
// far; finish() returns the rest of the frame.
class Compressor {
 public:
  explicit Compressor(int level = SIBYL_LEVEL_DEFAULT, int threads = 1) : cs_(sibyl_cstream_create()) {
    if (!cs_) throw std::bad_alloc();
    try {
      set(SIBYL_PARAM_LEVEL, level);
      set(SIBYL_PARAM_THREADS, threads);
    } catch (...) {
      sibyl_cstream_free(cs_);  // no destructor runs for a constructor that throws
      throw;
    }
  }
  ~Compressor() { sibyl_cstream_free(cs_); }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
  Compressor(Compressor&& o) noexcept : cs_(std::exchange(o.cs_, nullptr)) {}
  Compressor& operator=(Compressor&& o) noexcept {
    std::swap(cs_, o.cs_);
    return *this;
  }

  void set(sibyl_param p, long long v) { api_detail::check(sibyl_cstream_set_param(cs_, p, v), sibyl_cstream_message(cs_)); }

  // Appends what is ready to `out`.
  void feed(std::span<const uint8_t> in, std::vector<uint8_t>& out) { run(in, SIBYL_CONTINUE, out); }
  void flush(std::vector<uint8_t>& out) { run({}, SIBYL_FLUSH, out); }
  void finish(std::vector<uint8_t>& out) { run({}, SIBYL_END, out); }

  sibyl_cstream* get() const { return cs_; }

 private:
  void run(std::span<const uint8_t> in, sibyl_end_directive d, std::vector<uint8_t>& out) {
    sibyl_in_buffer ib{in.data(), in.size(), 0};
    size_t remaining = 0;
    do {
      const size_t old = out.size();
      out.resize(old + (size_t(1) << 16));
      sibyl_out_buffer ob{out.data() + old, out.size() - old, 0};
      const int rc = sibyl_compress_stream(cs_, &ob, &ib, d, &remaining);
      out.resize(old + ob.pos);
      api_detail::check(rc, sibyl_cstream_message(cs_));
    } while (remaining != 0 || ib.pos < ib.size);
  }

  sibyl_cstream* cs_;
};

// Streaming decompression. feed() returns the decoded bytes ready so far;
// finish() checks that the archive ended cleanly.
class Decompressor {
 public:
  explicit Decompressor(int threads = 1) : ds_(sibyl_dstream_create()) {
    if (!ds_) throw std::bad_alloc();
    try {
      set(SIBYL_PARAM_THREADS, threads);
    } catch (...) {
      sibyl_dstream_free(ds_);
      throw;
    }
  }
  ~Decompressor() { sibyl_dstream_free(ds_); }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
  Decompressor(Decompressor&& o) noexcept : ds_(std::exchange(o.ds_, nullptr)) {}
  Decompressor& operator=(Decompressor&& o) noexcept {
    std::swap(ds_, o.ds_);
    return *this;
  }

  void set(sibyl_param p, long long v) { api_detail::check(sibyl_dstream_set_param(ds_, p, v), sibyl_dstream_message(ds_)); }

  void feed(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
    sibyl_in_buffer ib{in.data(), in.size(), 0};
    for (;;) {
      const size_t old = out.size();
      out.resize(old + (size_t(1) << 16));
      sibyl_out_buffer ob{out.data() + old, out.size() - old, 0};
      const int rc = sibyl_decompress_stream(ds_, &ob, &ib, nullptr);
      out.resize(old + ob.pos);
      api_detail::check(rc, sibyl_dstream_message(ds_));
      if (ob.pos < ob.size && ib.pos == ib.size) break;  // all input taken, no output left
    }
  }
  void finish(std::vector<uint8_t>& out) {
    feed({}, out);
    api_detail::check(sibyl_decompress_stream_end(ds_), sibyl_dstream_message(ds_));
  }

  sibyl_dstream* get() const { return ds_; }

 private:
  sibyl_dstream* ds_;
};

inline std::vector<uint8_t> decompress(std::span<const uint8_t> in) {
  uint64_t size = 0;
  api_detail::check(sibyl_content_size(in.data(), in.size(), &size));
  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(size < (uint64_t(64) << 20) ? size : (uint64_t(64) << 20)));
  Decompressor d;
  d.feed(in, out);
  d.finish(out);
  return out;
}

}  // namespace sibyl

#endif  // SIBYL_SIBYL_HPP
