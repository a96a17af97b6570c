// A zero-filled buffer for large model tables.
//
// Model tables are big (megabytes to gigabytes) and accessed at random, one
// cache line per lookup. Two costs matter besides the cache miss itself:
//  - TLB misses: with 4 KiB pages nearly every lookup also walks the page
//    table. Buffers of 2 MiB or more are therefore aligned to 2 MiB and
//    offered to the kernel for transparent huge pages (madvise), which
//    makes a 4 MiB table need two TLB entries instead of a thousand.
//  - Start-up: the memory comes straight from mmap as zero pages, so
//    nothing is written before use and small inputs touch little of it.
// Where mmap is not available it falls back to calloc. When the caller
// installed allocation hooks (common/memory_hooks.h) on this thread, the
// memory comes from them instead and is zeroed here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "common/memory_hooks.h"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#define SIBYL_HAVE_MMAP 1
#endif

namespace sibyl {

class ZeroedBuffer {
 public:
  static constexpr size_t kHugePage = size_t(2) << 20;

  ZeroedBuffer() = default;
  // Throws std::bad_alloc when the memory is not available.
  explicit ZeroedBuffer(size_t bytes) {
    if (bytes == 0) return;
    if (const MemoryHooks* h = current_memory_hooks()) {
      data_ = h->alloc(h->opaque, bytes);
      if (!data_) throw std::bad_alloc();
      std::memset(data_, 0, bytes);
      size_ = bytes;
      hooks_ = *h;
      return;
    }
#if defined(SIBYL_HAVE_MMAP)
    if (bytes >= kHugePage) {
      const size_t size = (bytes + kHugePage - 1) & ~(kHugePage - 1);
      void* raw = mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (raw == MAP_FAILED) throw std::bad_alloc();
      const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
      const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
      // Give back the unaligned head and the unused tail.
      if (aligned > start) munmap(raw, aligned - start);
      const size_t tail = (start + size + kHugePage) - (aligned + size);
      if (tail > 0) munmap(reinterpret_cast<void*>(aligned + size), tail);
#if defined(MADV_HUGEPAGE)
      madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // advice only; failure is harmless
#endif
      data_ = reinterpret_cast<void*>(aligned);
      size_ = size;
      mapped_ = true;
      return;
    }
#endif
    data_ = std::calloc(bytes, 1);
    if (!data_) throw std::bad_alloc();
    size_ = bytes;
  }

  ZeroedBuffer(const ZeroedBuffer&) = delete;
  ZeroedBuffer& operator=(const ZeroedBuffer&) = delete;
  ZeroedBuffer(ZeroedBuffer&& o) noexcept : data_(o.data_), size_(o.size_), mapped_(o.mapped_), hooks_(o.hooks_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  ZeroedBuffer& operator=(ZeroedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = o.data_;
      size_ = o.size_;
      mapped_ = o.mapped_;
      hooks_ = o.hooks_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  ~ZeroedBuffer() { release(); }

  template <class T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  size_t size() const { return size_; }

 private:
  void release() {
    if (!data_) return;
    if (hooks_.active()) {
      hooks_.free(hooks_.opaque, data_);
      data_ = nullptr;
      return;
    }
#if defined(SIBYL_HAVE_MMAP)
    if (mapped_) {
      munmap(data_, size_);
      data_ = nullptr;
      return;
    }
#endif
    std::free(data_);
    data_ = nullptr;
  }

  void* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  MemoryHooks hooks_;  // inactive unless the memory came from caller hooks
};

}  // namespace sibyl
