#include "common/memory_hooks.h"

namespace sibyl {
namespace {
thread_local const MemoryHooks* t_hooks = nullptr;
}  // namespace

const MemoryHooks* current_memory_hooks() { return t_hooks; }

ScopedMemoryHooks::ScopedMemoryHooks(const MemoryHooks* hooks) : previous_(t_hooks) {
  t_hooks = hooks != nullptr && hooks->active() ? hooks : nullptr;
}

ScopedMemoryHooks::~ScopedMemoryHooks() { t_hooks = previous_; }

}  // namespace sibyl
