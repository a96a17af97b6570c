// Lists arbitrary bytes as an archive (what `sibyl -l` does: footer, end
// record and frame header walked from the end, no block decoded). Must never
// crash or hang, whatever the sizes and offsets the bytes claim.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/listing.h"

namespace {
class MemorySource : public sibyl::RandomAccessSource {
 public:
  MemorySource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t size() const override { return size_; }
  sibyl::Status read_at(uint64_t offset, uint8_t* buf, size_t n) override {
    // The listing code promises to stay inside size(); a read outside it is
    // a bug this target must find.
    if (offset > size_ || n > size_ - offset) __builtin_trap();
    if (n > 0) std::memcpy(buf, data_ + offset, n);
    return sibyl::Status::Ok();
  }

 private:
  const uint8_t* data_;
  size_t size_;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MemorySource src(data, size);
  std::vector<sibyl::FrameListing> frames;
  (void)sibyl::list_archive(src, &frames);
  return 0;
}
