// The public C API under hostile input and hostile callers.
// Byte 0 picks the PRNG that cuts buffers; the rest is
//  1. decoded as an archive through sibyl_decompress_stream with random
//     input chunks and output buffer sizes (1 byte upwards), which must give
//     exactly what the one-shot sibyl_decompress gives: same code, same bytes;
//  2. compressed as data through sibyl_compress_stream with random chunks,
//     random SIBYL_FLUSH points and random output sizes, then decompressed
//     and compared.
#define SIBYL_EXPERIMENTAL 1
#include "sibyl/sibyl.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

struct Rng {
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(s >> 33);
  }
  size_t size(size_t max) { return 1 + next() % max; }
};

int stream_decode(const uint8_t* data, size_t size, Rng& rng, std::vector<uint8_t>* out) {
  sibyl_dstream* ds = sibyl_dstream_create();
  if (ds == nullptr) std::abort();
  size_t fed = 0;
  int rc = SIBYL_OK;
  uint8_t buf[4096];
  while (rc == SIBYL_OK) {
    const size_t take = fed < size ? std::min(size - fed, rng.size(3000)) : 0;
    sibyl_in_buffer ib{data + fed, take, 0};
    for (;;) {
      sibyl_out_buffer ob{buf, rng.size(sizeof buf), 0};
      rc = sibyl_decompress_stream(ds, &ob, &ib, nullptr);
      if (ob.pos > ob.size || ib.pos > ib.size) std::abort();
      out->insert(out->end(), buf, buf + ob.pos);
      if (rc != SIBYL_OK || (ib.pos == ib.size && ob.pos < ob.size)) break;
    }
    fed += take;
    if (take == 0) break;
  }
  if (rc == SIBYL_OK) rc = sibyl_decompress_stream_end(ds);
  sibyl_dstream_free(ds);
  return rc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Rng rng{data[0] * 0x9E3779B97F4A7C15ull + 1};
  const uint8_t level = static_cast<uint8_t>(1 + data[0] % 3);
  ++data;
  --size;

  // 1. As an archive.
  uint64_t claimed = 0;
  std::vector<uint8_t> one(1 << 16), streamed;
  size_t n = 0;
  const int rc1 = sibyl_decompress(one.data(), one.size(), &n, data, size);
  const int rc2 = stream_decode(data, size, rng, &streamed);
  if (rc1 == SIBYL_OK) {
    if (rc2 != SIBYL_OK || streamed.size() != n || !std::equal(streamed.begin(), streamed.end(), one.begin())) std::abort();
    if (sibyl_content_size(data, size, &claimed) != SIBYL_OK || claimed != n) std::abort();
  } else if (rc1 != SIBYL_ERROR_DST_TOO_SMALL && rc2 != rc1) {
    std::abort();  // the same state machine must reach the same verdict
  }

  // 2. As data.
  sibyl_cstream* cs = sibyl_cstream_create();
  if (cs == nullptr) std::abort();
  if (sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, level) != SIBYL_OK) std::abort();
  if (sibyl_cstream_set_param(cs, SIBYL_PARAM_X_BLOCK_LOG, 10 + rng.next() % 3) != SIBYL_OK) std::abort();
  if (sibyl_cstream_set_param(cs, SIBYL_PARAM_THREADS, 1 + rng.next() % 2) != SIBYL_OK) std::abort();
  std::vector<uint8_t> packed;
  uint8_t buf[2048];
  size_t fed = 0;
  for (bool done = false; !done;) {
    const size_t take = std::min(size - fed, rng.size(4000));
    const bool last = fed + take == size;
    const sibyl_end_directive d = last ? SIBYL_END : (rng.next() % 4 == 0 ? SIBYL_FLUSH : SIBYL_CONTINUE);
    sibyl_in_buffer ib{data + fed, take, 0};
    size_t remaining = 0;
    do {
      sibyl_out_buffer ob{buf, rng.size(sizeof buf), 0};
      if (sibyl_compress_stream(cs, &ob, &ib, d, &remaining) != SIBYL_OK) std::abort();
      packed.insert(packed.end(), buf, buf + ob.pos);
    } while (ib.pos < ib.size || (d != SIBYL_CONTINUE && remaining != 0));
    fed += take;
    done = last;
  }
  sibyl_cstream_free(cs);
  std::vector<uint8_t> back(size + 1);
  if (sibyl_decompress(back.data(), back.size(), &n, packed.data(), packed.size()) != SIBYL_OK || n != size ||
      !std::equal(back.begin(), back.begin() + static_cast<std::ptrdiff_t>(n), data))
    std::abort();
  return 0;
}
