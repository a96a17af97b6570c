#include "common/checksum.h"

#define XXH_STATIC_LINKING_ONLY  // XXH64_state_t as a complete type
#include <xxhash.h>

namespace sibyl {

uint64_t xxh64(const void* data, size_t size) { return XXH64(data, size, 0); }

struct Xxh64Stream::State {
  XXH64_state_t s;
};

Xxh64Stream::Xxh64Stream() : state_(new State) { reset(); }
Xxh64Stream::~Xxh64Stream() = default;
void Xxh64Stream::reset() { XXH64_reset(&state_->s, 0); }
void Xxh64Stream::update(const void* data, size_t size) { XXH64_update(&state_->s, data, size); }
uint64_t Xxh64Stream::digest() const { return XXH64_digest(&state_->s); }

}  // namespace sibyl
