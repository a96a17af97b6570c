// A RandomAccessSource over a byte vector, for tests that list archives.
#pragma once

#include <cstring>
#include <vector>

#include "engine/listing.h"

namespace sibyl::test {

class VectorSource : public RandomAccessSource {
 public:
  explicit VectorSource(const std::vector<uint8_t>& v) : v_(v) {}
  uint64_t size() const override { return v_.size(); }
  Status read_at(uint64_t offset, uint8_t* buf, size_t n) override {
    std::memcpy(buf, v_.data() + offset, n);
    return Status::Ok();
  }

 private:
  const std::vector<uint8_t>& v_;
};

}  // namespace sibyl::test
