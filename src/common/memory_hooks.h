// Caller-supplied allocation functions (the C API's sibyl_allocator).
//
// The engine installs the hooks of a context on each thread that works for
// it (ScopedMemoryHooks); ZeroedBuffer, which holds every model table and
// decoded block, allocates through the hooks installed on the current
// thread and remembers them to free the memory on any thread.
#pragma once

#include <cstddef>

namespace sibyl {

struct MemoryHooks {
  void* (*alloc)(void* opaque, size_t size) = nullptr;
  void (*free)(void* opaque, void* ptr) = nullptr;
  void* opaque = nullptr;
  bool active() const { return alloc != nullptr && free != nullptr; }
};

// The hooks installed on this thread, or nullptr.
const MemoryHooks* current_memory_hooks();

class ScopedMemoryHooks {
 public:
  explicit ScopedMemoryHooks(const MemoryHooks* hooks);
  ~ScopedMemoryHooks();
  ScopedMemoryHooks(const ScopedMemoryHooks&) = delete;
  ScopedMemoryHooks& operator=(const ScopedMemoryHooks&) = delete;

 private:
  const MemoryHooks* previous_;
};

}  // namespace sibyl
