// Content checksums: XXH64 (seed 0) from libxxhash, the format's checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace sibyl {

uint64_t xxh64(const void* data, size_t size);

// Low 32 bits of xxh64: the check field that guards every header.
inline uint32_t header_check(const void* data, size_t size) { return uint32_t(xxh64(data, size)); }

// Incremental xxh64 over a stream of chunks.
class Xxh64Stream {
 public:
  Xxh64Stream();
  ~Xxh64Stream();
  Xxh64Stream(const Xxh64Stream&) = delete;
  Xxh64Stream& operator=(const Xxh64Stream&) = delete;
  void reset();
  void update(const void* data, size_t size);
  uint64_t digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sibyl
