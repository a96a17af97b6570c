// The public C API (and the C++ wrappers) as a user sees them: linked
// against libsibyl.so, which exports nothing else.
#define SIBYL_EXPERIMENTAL 1
#include "sibyl/sibyl.h"
#include "sibyl/sibyl.hpp"

#include <gtest/gtest.h>

#include <limits>

#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using Bytes = std::vector<uint8_t>;

Bytes sample(size_t n, uint32_t seed) {
  // Text-like and compressible, different for every seed.
  static const char* const kWords[] = {"model ", "context ", "mixing ", "coder ", "the ", "of ", "bit ", "byte ",
                                       "predicts ", "next ", "\n", "arithmetic ", "range ", "sibyl "};
  std::mt19937 rng(seed);
  Bytes out;
  out.reserve(n);
  while (out.size() < n) {
    const char* w = kWords[rng() % (sizeof kWords / sizeof kWords[0])];
    for (const char* p = w; *p && out.size() < n; ++p) out.push_back(static_cast<uint8_t>(*p));
    if (rng() % 17 == 0 && out.size() < n) out.push_back(static_cast<uint8_t>(rng()));
  }
  return out;
}

Bytes one_shot(const Bytes& in, int level) {
  Bytes out(sibyl_compress_bound(in.size()));
  size_t n = 0;
  EXPECT_EQ(sibyl_compress(out.data(), out.size(), &n, in.data(), in.size(), level), SIBYL_OK);
  out.resize(n);
  return out;
}

Bytes one_shot_decompress(const Bytes& in) {
  uint64_t size = 0;
  EXPECT_EQ(sibyl_content_size(in.data(), in.size(), &size), SIBYL_OK);
  Bytes out(size);
  size_t n = 0;
  EXPECT_EQ(sibyl_decompress(out.data(), out.size(), &n, in.data(), in.size()), SIBYL_OK);
  EXPECT_EQ(n, size);
  out.resize(n);
  return out;
}

// How a caller cuts its buffers.
enum class Chunks { kWhole, kOneByte, kRandom };

size_t next_size(Chunks c, std::mt19937& rng, size_t left) {
  switch (c) {
    case Chunks::kWhole: return left;
    case Chunks::kOneByte: return std::min<size_t>(1, left);
    case Chunks::kRandom: return std::min<size_t>(left, 1 + rng() % 5000);
  }
  return left;
}

struct StreamSetup {
  int level = 1;
  int threads = 1;
  int block_log = 0;
  bool png_pixels = false;  // SIBYL_PARAM_X_PNG_PIXELS
  const std::vector<uint8_t>* prior = nullptr;  // sibyl_cstream_set_prior
};

Bytes stream_compress(const Bytes& in, const StreamSetup& setup, Chunks in_chunks, Chunks out_chunks, uint32_t seed = 1) {
  sibyl_cstream* cs = sibyl_cstream_create();
  EXPECT_NE(cs, nullptr);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, setup.level), SIBYL_OK);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_THREADS, setup.threads), SIBYL_OK);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_BLOCK_LOG, setup.block_log), SIBYL_OK);
  if (setup.png_pixels) {
    EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_PNG_PIXELS, 1), SIBYL_OK);
  }
  if (setup.prior) {
    EXPECT_EQ(sibyl_cstream_set_prior(cs, setup.prior->data(), setup.prior->size()), SIBYL_OK);
  }
  std::mt19937 rng(seed);
  Bytes out;
  size_t fed = 0;
  size_t remaining = 1;
  int calls = 0;
  while (fed < in.size() || remaining != 0) {
    const size_t take = next_size(in_chunks, rng, in.size() - fed);
    sibyl_in_buffer ib{in.data() + fed, take, 0};
    const sibyl_end_directive d = fed + take == in.size() ? SIBYL_END : SIBYL_CONTINUE;
    // Call until this input chunk is used up (and, with END, the frame is out).
    do {
      uint8_t buf[8192];
      const size_t room = std::max<size_t>(1, next_size(out_chunks, rng, sizeof buf));
      sibyl_out_buffer ob{buf, room, 0};
      const int rc = sibyl_compress_stream(cs, &ob, &ib, d, &remaining);
      EXPECT_EQ(rc, SIBYL_OK) << sibyl_cstream_message(cs);
      if (rc != SIBYL_OK) {
        sibyl_cstream_free(cs);
        return {};
      }
      out.insert(out.end(), buf, buf + ob.pos);
      ++calls;
    } while (ib.pos < ib.size || (d == SIBYL_END && remaining != 0));
    fed += take;
    if (d != SIBYL_END) remaining = 1;
  }
  uint64_t bin = 0, bout = 0;
  sibyl_cstream_progress(cs, &bin, &bout);
  EXPECT_EQ(bin, in.size());
  EXPECT_EQ(bout, out.size());
  sibyl_cstream_free(cs);
  return out;
}

int stream_decompress(const Bytes& in, int threads, Chunks in_chunks, Chunks out_chunks, Bytes* out, uint32_t seed = 2,
                      const std::vector<uint8_t>* prior = nullptr) {
  sibyl_dstream* ds = sibyl_dstream_create();
  EXPECT_EQ(sibyl_dstream_set_param(ds, SIBYL_PARAM_THREADS, threads), SIBYL_OK);
  if (prior) {
    EXPECT_EQ(sibyl_dstream_set_prior(ds, prior->data(), prior->size()), SIBYL_OK);
  }
  std::mt19937 rng(seed);
  out->clear();
  size_t fed = 0;
  int rc = SIBYL_OK;
  for (;;) {
    const size_t take = next_size(in_chunks, rng, in.size() - fed);
    sibyl_in_buffer ib{in.data() + fed, take, 0};
    int at_end = 0;
    for (;;) {
      uint8_t buf[8192];
      const size_t room = std::max<size_t>(1, next_size(out_chunks, rng, sizeof buf));
      sibyl_out_buffer ob{buf, room, 0};
      rc = sibyl_decompress_stream(ds, &ob, &ib, &at_end);
      out->insert(out->end(), buf, buf + ob.pos);
      if (rc != SIBYL_OK) break;
      if (ib.pos == ib.size && ob.pos < ob.size) break;  // input used up, output drained
    }
    fed += take;
    if (rc != SIBYL_OK || fed == in.size()) break;
  }
  if (rc == SIBYL_OK) {
    // Drain what the last call left (a partial batch), then end.
    for (;;) {
      uint8_t buf[8192];
      sibyl_in_buffer ib{nullptr, 0, 0};
      sibyl_out_buffer ob{buf, sizeof buf, 0};
      rc = sibyl_decompress_stream(ds, &ob, &ib, nullptr);
      out->insert(out->end(), buf, buf + ob.pos);
      if (rc != SIBYL_OK || ob.pos == 0) break;
    }
  }
  if (rc == SIBYL_OK) rc = sibyl_decompress_stream_end(ds);
  sibyl_dstream_free(ds);
  return rc;
}

TEST(Api, Version) {
  EXPECT_EQ(sibyl_version_number(), unsigned(SIBYL_VERSION_NUMBER));
  EXPECT_STREQ(sibyl_version_string(), SIBYL_VERSION_TEXT);
  EXPECT_EQ(std::to_string(SIBYL_VERSION_MAJOR) + "." + std::to_string(SIBYL_VERSION_MINOR) + "." +
                std::to_string(SIBYL_VERSION_PATCH),
            sibyl_version_string());
}

TEST(Api, ErrorNamesAreStableAndDistinct) {
  // The numbers are part of the API: a renumbering breaks this list.
  const std::pair<int, const char*> expected[] = {
      {SIBYL_OK, "ok"}, {1, "io"}, {2, "corrupt"}, {3, "truncated"}, {4, "checksum"}, {5, "unsupported_version"},
      {6, "unknown_codec"}, {7, "bad_parameters"}, {8, "memory_limit"}, {9, "invalid_argument"}, {10, "not_sibyl"},
      {11, "internal"}, {12, "dst_too_small"}, {13, "out_of_memory"}, {14, "unsupported"}, {15, "stage_wrong"}};
  std::set<std::string> names;
  for (const auto& [code, name] : expected) {
    EXPECT_STREQ(sibyl_error_name(code), name);
    names.insert(sibyl_error_name(code));
  }
  EXPECT_EQ(names.size(), std::size(expected));
  EXPECT_STREQ(sibyl_error_name(16), "unknown");
  EXPECT_STREQ(sibyl_error_name(-1), "unknown");
  EXPECT_EQ(SIBYL_ERROR_STAGE_WRONG, 15);
}

TEST(Api, OneShotRoundTrips) {
  for (size_t n : {size_t(0), size_t(1), size_t(1000), size_t(100000)}) {
    for (int level : {1, 6}) {
      const Bytes in = sample(n, static_cast<uint32_t>(n + level));
      const Bytes packed = one_shot(in, level);
      ASSERT_LE(packed.size(), sibyl_compress_bound(in.size()));
      if (n >= 1000) {
        EXPECT_LT(packed.size(), in.size() / 2) << n;
      }
      EXPECT_EQ(one_shot_decompress(packed), in) << n << " " << level;
    }
  }
}

TEST(Api, BoundHoldsForIncompressibleData) {
  std::mt19937 rng(7);
  Bytes in(70000);
  for (auto& b : in) b = static_cast<uint8_t>(rng());
  Bytes out(sibyl_compress_bound(in.size()));
  size_t n = 0;
  ASSERT_EQ(sibyl_compress(out.data(), out.size(), &n, in.data(), in.size(), 1), SIBYL_OK);
  EXPECT_LE(n, out.size());
  EXPECT_GT(n, in.size());  // stored, plus headers
  out.resize(n);
  EXPECT_EQ(one_shot_decompress(out), in);
  EXPECT_EQ(sibyl_compress_bound(SIZE_MAX), 0u);
}

TEST(Api, OneShotReportsSmallBuffers) {
  const Bytes in = sample(5000, 3);
  const Bytes packed = one_shot(in, 1);
  Bytes dst(packed.size() - 1);
  size_t n = 123;
  EXPECT_EQ(sibyl_compress(dst.data(), dst.size(), &n, in.data(), in.size(), 1), SIBYL_ERROR_DST_TOO_SMALL);
  EXPECT_EQ(n, 0u);
  Bytes back(in.size() - 1);
  EXPECT_EQ(sibyl_decompress(back.data(), back.size(), &n, packed.data(), packed.size()), SIBYL_ERROR_DST_TOO_SMALL);
  back.resize(in.size() + 100);
  EXPECT_EQ(sibyl_decompress(back.data(), back.size(), &n, packed.data(), packed.size()), SIBYL_OK);
  EXPECT_EQ(n, in.size());
}

TEST(Api, InvalidArguments) {
  uint8_t buf[64] = {};
  size_t n = 0;
  EXPECT_EQ(sibyl_compress(buf, sizeof buf, nullptr, buf, 1, 1), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_compress(nullptr, 10, &n, buf, 1, 1), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_compress(buf, sizeof buf, &n, nullptr, 1, 1), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_compress(buf, sizeof buf, &n, buf, 1, 0), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_compress(buf, sizeof buf, &n, buf, 1, 10), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_decompress(buf, sizeof buf, nullptr, buf, 1), SIBYL_ERROR_INVALID_ARGUMENT);
  uint64_t size = 0;
  EXPECT_EQ(sibyl_content_size(buf, 1, nullptr), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_content_size(nullptr, 1, &size), SIBYL_ERROR_INVALID_ARGUMENT);

  sibyl_cstream* cs = sibyl_cstream_create();
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, 0), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(sibyl_cstream_message(cs)).find("level"), std::string::npos);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_THREADS, 0), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_THREADS, 257), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, static_cast<sibyl_param>(77), 1), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_TYPE_HINT, SIBYL_TYPE_TEXT), SIBYL_OK);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_TYPE_HINT, SIBYL_TYPE_AUDIO), SIBYL_OK);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_TYPE_HINT, SIBYL_TYPE_IMAGE), SIBYL_OK);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_IMAGE_WIDTH, -1), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_IMAGE_WIDTH, 65537), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_IMAGE_CHANNELS, 0), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_IMAGE_CHANNELS, 5), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_IMAGE_DEPTH, 12), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_AUDIO_SAMPLE, 7), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_AUDIO_CHANNELS, 0), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_AUDIO_CHANNELS, 33), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_TYPE_HINT, 99), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_prior(cs, buf, sizeof buf), SIBYL_ERROR_CORRUPT);
  EXPECT_EQ(sibyl_cstream_set_error_bound(cs, 3, 1e-3), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_error_bound(cs, 1, -1.0), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_error_bound(cs, 1, std::numeric_limits<double>::quiet_NaN()), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_error_bound(cs, 2, 1e-3), SIBYL_OK);
  for (auto v : {std::array<int, 3>{0, 1, 1}, {65, 1, 256}, {8, 0, 256}, {8, 5, 256}, {8, 1, 1}, {8, 1, 1025}, {64, 4, 1024}})
    EXPECT_EQ(sibyl_cstream_set_vq(cs, v[0], v[1], v[2]), v[0] == 0 ? SIBYL_OK : SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_cstream_set_vq(cs, 8, 2, 256), SIBYL_OK);
  EXPECT_EQ(sibyl_cstream_set_error_bound(cs, 2, 1e-3), SIBYL_OK);  // replaces vector quantisation
  EXPECT_EQ(sibyl_cstream_lossy_error(nullptr, nullptr, nullptr, nullptr, nullptr), SIBYL_ERROR_INVALID_ARGUMENT);
  sibyl_in_buffer ib{buf, 10, 11};  // pos beyond size
  sibyl_out_buffer ob{buf, sizeof buf, 0};
  EXPECT_EQ(sibyl_compress_stream(cs, &ob, &ib, SIBYL_CONTINUE, nullptr), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_compress_stream(cs, &ob, nullptr, SIBYL_CONTINUE, nullptr), SIBYL_ERROR_INVALID_ARGUMENT);
  ib.pos = 0;
  EXPECT_EQ(sibyl_compress_stream(cs, &ob, &ib, static_cast<sibyl_end_directive>(9), nullptr), SIBYL_ERROR_INVALID_ARGUMENT);
  // Parameters are fixed once a stream has started.
  EXPECT_EQ(sibyl_compress_stream(cs, &ob, &ib, SIBYL_CONTINUE, nullptr), SIBYL_OK);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, 3), SIBYL_ERROR_STAGE_WRONG);
  EXPECT_EQ(sibyl_cstream_set_error_bound(cs, 0, 0), SIBYL_ERROR_STAGE_WRONG);
  EXPECT_EQ(sibyl_cstream_set_vq(cs, 8, 1, 16), SIBYL_ERROR_STAGE_WRONG);
  EXPECT_EQ(sibyl_cstream_reset(cs), SIBYL_OK);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, 3), SIBYL_OK);
  sibyl_cstream_free(cs);
  sibyl_cstream_free(nullptr);

  sibyl_dstream* ds = sibyl_dstream_create();
  EXPECT_EQ(sibyl_dstream_set_param(ds, SIBYL_PARAM_LEVEL, 3), SIBYL_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(sibyl_dstream_set_prior(ds, buf, 4), SIBYL_ERROR_CORRUPT);
  EXPECT_EQ(sibyl_decompress_stream(ds, nullptr, &ib, nullptr), SIBYL_ERROR_INVALID_ARGUMENT);
  sibyl_dstream_free(ds);
  sibyl_dstream_free(nullptr);
  EXPECT_EQ(sibyl_compress_stream(nullptr, &ob, &ib, SIBYL_END, nullptr), SIBYL_ERROR_INVALID_ARGUMENT);
}

TEST(Api, StreamingIsIndependentOfChunkingAndThreads) {
  const Bytes in = sample(70000, 11);
  StreamSetup setup;
  setup.block_log = 12;  // 4 KiB blocks: many blocks, batches and boundaries
  const Bytes reference = stream_compress(in, setup, Chunks::kWhole, Chunks::kWhole);
  ASSERT_FALSE(reference.empty());
  for (Chunks ic : {Chunks::kWhole, Chunks::kRandom, Chunks::kOneByte}) {
    for (Chunks oc : {Chunks::kWhole, Chunks::kRandom, Chunks::kOneByte}) {
      for (int threads : {1, 3}) {
        if (ic == Chunks::kOneByte && oc == Chunks::kOneByte && threads == 3) continue;  // slow, covered by threads 1
        StreamSetup s = setup;
        s.threads = threads;
        const Bytes packed = stream_compress(in, s, ic, oc, static_cast<uint32_t>(threads));
        EXPECT_EQ(packed, reference) << int(ic) << int(oc) << threads;
        Bytes back;
        EXPECT_EQ(stream_decompress(packed, 4 - threads, oc, ic, &back), SIBYL_OK);
        EXPECT_EQ(back, in) << int(ic) << int(oc) << threads;
      }
    }
  }
  // The one-shot call writes the same bytes as the stream (level default block size).
  StreamSetup plain;
  EXPECT_EQ(stream_compress(in, plain, Chunks::kRandom, Chunks::kRandom), one_shot(in, 1));
}

// A prior file with a mixing model (version 2: the golden one) through the
// streams: records of a collection coded from it, any chunking and thread
// count, the same bytes back.
TEST(Api, APriorWithAMixingModelCodesACollectionThroughTheStreams) {
  std::ifstream f(std::string(SIBYL_SOURCE_DIR) + "/tests/golden/v2_pc_prior_mixing.prior", std::ios::binary);
  const std::vector<uint8_t> prior{std::istreambuf_iterator<char>(f), {}};
  ASSERT_GT(prior.size(), 100000u);
  ASSERT_EQ(prior[8], 2);  // prior file version 2
  // An IDX file of 300 records of 8 x 8 values below 17, and a trailer.
  Bytes idx = {0, 0, 8, 3, 0, 0, 1, 44, 0, 0, 0, 8, 0, 0, 0, 8};
  std::mt19937 rng(5);
  for (int i = 0; i < 300 * 64; ++i) idx.push_back(static_cast<uint8_t>((((i % 8) + (i / 8) % 8 + rng() % 3) * 2) % 17));
  idx.push_back(0x77);
  StreamSetup setup;
  setup.level = 6;
  setup.block_log = 12;  // records cut by 4 KiB blocks
  setup.prior = &prior;
  const Bytes packed = stream_compress(idx, setup, Chunks::kWhole, Chunks::kWhole);
  ASSERT_FALSE(packed.empty());
  EXPECT_LT(packed.size(), idx.size() / 3);
  setup.threads = 3;
  EXPECT_EQ(stream_compress(idx, setup, Chunks::kRandom, Chunks::kRandom, 9), packed);
  Bytes back;
  EXPECT_EQ(stream_decompress(packed, 2, Chunks::kRandom, Chunks::kRandom, &back, 3, &prior), SIBYL_OK);
  EXPECT_EQ(back, idx);
}

TEST(Api, EmptyStreamIsOneEmptyFrame) {
  const Bytes packed = stream_compress({}, StreamSetup{}, Chunks::kWhole, Chunks::kWhole);
  EXPECT_EQ(packed, one_shot({}, 1));
  Bytes back{1, 2, 3};
  EXPECT_EQ(stream_decompress(packed, 1, Chunks::kOneByte, Chunks::kOneByte, &back), SIBYL_OK);
  EXPECT_TRUE(back.empty());
}

TEST(Api, FlushMakesEverythingSoFarDecodable) {
  const Bytes a = sample(10000, 21), b = sample(7000, 22);
  sibyl_cstream* cs = sibyl_cstream_create();
  ASSERT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, 2), SIBYL_OK);
  Bytes out(sibyl_compress_bound(a.size() + b.size()));
  sibyl_out_buffer ob{out.data(), out.size(), 0};
  sibyl_in_buffer ia{a.data(), a.size(), 0};
  size_t remaining = 0;
  ASSERT_EQ(sibyl_compress_stream(cs, &ob, &ia, SIBYL_CONTINUE, &remaining), SIBYL_OK);
  EXPECT_EQ(ia.pos, a.size());
  EXPECT_LT(ob.pos, 100u);  // buffered in the block, nothing compressed yet
  ASSERT_EQ(sibyl_compress_stream(cs, &ob, &ia, SIBYL_FLUSH, &remaining), SIBYL_OK);
  EXPECT_EQ(remaining, 0u);
  const size_t after_flush = ob.pos;
  // A second flush with nothing new adds nothing.
  ASSERT_EQ(sibyl_compress_stream(cs, &ob, &ia, SIBYL_FLUSH, &remaining), SIBYL_OK);
  EXPECT_EQ(ob.pos, after_flush);

  // The decoder gets all of `a` out of the bytes written so far.
  sibyl_dstream* ds = sibyl_dstream_create();
  Bytes got(a.size() + 10);
  sibyl_in_buffer di{out.data(), after_flush, 0};
  sibyl_out_buffer dout{got.data(), got.size(), 0};
  int at_end = 1;
  ASSERT_EQ(sibyl_decompress_stream(ds, &dout, &di, &at_end), SIBYL_OK);
  EXPECT_EQ(at_end, 0);
  ASSERT_EQ(dout.pos, a.size());
  EXPECT_TRUE(std::equal(a.begin(), a.end(), got.begin()));
  EXPECT_EQ(sibyl_decompress_stream_end(ds), SIBYL_ERROR_TRUNCATED);
  sibyl_dstream_free(ds);

  sibyl_in_buffer ib{b.data(), b.size(), 0};
  do {
    ASSERT_EQ(sibyl_compress_stream(cs, &ob, &ib, SIBYL_END, &remaining), SIBYL_OK);
  } while (remaining != 0);
  sibyl_cstream_free(cs);
  out.resize(ob.pos);
  Bytes ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  EXPECT_EQ(one_shot_decompress(out), ab);
}

TEST(Api, ContextsAreReusableAndFramesConcatenate) {
  const Bytes a = sample(3000, 31), b = sample(4000, 32);
  sibyl::Compressor c(1);
  Bytes packed;
  c.feed(a, packed);
  c.finish(packed);
  const size_t first = packed.size();
  c.feed(b, packed);  // the context starts a new frame by itself
  c.finish(packed);
  EXPECT_GT(packed.size(), first);

  sibyl_dstream* ds = sibyl_dstream_create();
  Bytes out(a.size() + b.size());
  sibyl_in_buffer ib{packed.data(), first, 0};
  sibyl_out_buffer ob{out.data(), out.size(), 0};
  int at_end = 0;
  ASSERT_EQ(sibyl_decompress_stream(ds, &ob, &ib, &at_end), SIBYL_OK);
  EXPECT_EQ(at_end, 1);  // a complete archive so far
  ib.size = packed.size();
  ASSERT_EQ(sibyl_decompress_stream(ds, &ob, &ib, &at_end), SIBYL_OK);
  EXPECT_EQ(at_end, 1);
  EXPECT_EQ(sibyl_decompress_stream_end(ds), SIBYL_OK);
  uint64_t din = 0, dout = 0;
  sibyl_dstream_progress(ds, &din, &dout);
  EXPECT_EQ(din, packed.size());
  EXPECT_EQ(dout, out.size());
  sibyl_dstream_free(ds);
  Bytes ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  EXPECT_EQ(out, ab);
  EXPECT_EQ(sibyl::decompress(packed), ab);
}

TEST(Api, DecoderErrorsHaveTheirCodesAndStick) {
  const Bytes in = sample(20000, 41);
  const Bytes packed = one_shot(in, 1);
  Bytes out;
  EXPECT_EQ(stream_decompress({}, 1, Chunks::kWhole, Chunks::kWhole, &out), SIBYL_ERROR_NOT_SIBYL);
  const Bytes junk = sample(100, 42);
  EXPECT_EQ(stream_decompress(junk, 1, Chunks::kWhole, Chunks::kWhole, &out), SIBYL_ERROR_NOT_SIBYL);
  const Bytes one_byte(packed.begin(), packed.begin() + 1);  // too short to be recognised at all
  EXPECT_EQ(stream_decompress(one_byte, 1, Chunks::kWhole, Chunks::kWhole, &out), SIBYL_ERROR_NOT_SIBYL);
  for (size_t cut : {size_t(4), size_t(10), size_t(17), packed.size() / 2, packed.size() - 1}) {
    const Bytes part(packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_EQ(stream_decompress(part, 1, Chunks::kRandom, Chunks::kWhole, &out), SIBYL_ERROR_TRUNCATED) << cut;
  }
  Bytes flipped = packed;
  flipped[packed.size() / 2] ^= 0x20;  // inside the payload
  int rc = stream_decompress(flipped, 1, Chunks::kWhole, Chunks::kWhole, &out);
  EXPECT_TRUE(rc == SIBYL_ERROR_CHECKSUM || rc == SIBYL_ERROR_CORRUPT) << sibyl_error_name(rc);
  Bytes trailing = packed;
  trailing.push_back(0);
  EXPECT_EQ(stream_decompress(trailing, 1, Chunks::kWhole, Chunks::kWhole, &out), SIBYL_ERROR_CORRUPT);
  size_t n = 0;
  Bytes dst(in.size());
  EXPECT_EQ(sibyl_decompress(dst.data(), dst.size(), &n, flipped.data(), flipped.size()), rc);

  // Memory limit: level 9 archives declare far more than 1 MiB.
  const Bytes big_level = one_shot(sample(100, 43), 9);
  sibyl_dstream* ds = sibyl_dstream_create();
  ASSERT_EQ(sibyl_dstream_set_param(ds, SIBYL_PARAM_MEMORY_LIMIT_MIB, 1), SIBYL_OK);
  sibyl_in_buffer ib{big_level.data(), big_level.size(), 0};
  sibyl_out_buffer ob{dst.data(), dst.size(), 0};
  EXPECT_EQ(sibyl_decompress_stream(ds, &ob, &ib, nullptr), SIBYL_ERROR_MEMORY_LIMIT);
  EXPECT_NE(std::string(sibyl_dstream_message(ds)).find("memory"), std::string::npos);
  // Sticky until reset.
  ib.pos = 0;
  EXPECT_EQ(sibyl_decompress_stream(ds, &ob, &ib, nullptr), SIBYL_ERROR_MEMORY_LIMIT);
  EXPECT_EQ(sibyl_decompress_stream_end(ds), SIBYL_ERROR_MEMORY_LIMIT);
  EXPECT_EQ(sibyl_dstream_set_param(ds, SIBYL_PARAM_THREADS, 2), SIBYL_ERROR_STAGE_WRONG);
  ASSERT_EQ(sibyl_dstream_reset(ds), SIBYL_OK);
  ASSERT_EQ(sibyl_dstream_set_param(ds, SIBYL_PARAM_MEMORY_LIMIT_MIB, 0), SIBYL_OK);
  ib.pos = 0;
  ASSERT_EQ(sibyl_decompress_stream(ds, &ob, &ib, nullptr), SIBYL_OK);
  EXPECT_EQ(sibyl_decompress_stream_end(ds), SIBYL_OK);
  sibyl_dstream_free(ds);

  // Compression under a memory limit too small for one worker.
  sibyl_cstream* cs = sibyl_cstream_create();
  ASSERT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, 9), SIBYL_OK);
  ASSERT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_MEMORY_LIMIT_MIB, 16), SIBYL_OK);
  sibyl_in_buffer ci{in.data(), in.size(), 0};
  sibyl_out_buffer co{dst.data(), dst.size(), 0};
  EXPECT_EQ(sibyl_compress_stream(cs, &co, &ci, SIBYL_END, nullptr), SIBYL_ERROR_MEMORY_LIMIT);
  EXPECT_EQ(sibyl_compress_stream(cs, &co, &ci, SIBYL_END, nullptr), SIBYL_ERROR_MEMORY_LIMIT);
  sibyl_cstream_free(cs);
}

// A counting allocator: every byte the library asked for is given back.
struct Counting {
  std::atomic<long> live{0}, calls{0};
  std::atomic<size_t> bytes{0};
};
void* counting_alloc(void* opaque, size_t size) {
  auto* c = static_cast<Counting*>(opaque);
  ++c->live;
  ++c->calls;
  c->bytes += size;
  return std::malloc(size);
}
void counting_free(void* opaque, void* p) {
  auto* c = static_cast<Counting*>(opaque);
  --c->live;
  std::free(p);
}

TEST(Api, CallerAllocatorServesContextsAndTables) {
  Counting counter;
  const sibyl_allocator alloc{counting_alloc, counting_free, &counter};
  const Bytes in = sample(50000, 51);
  Bytes packed(sibyl_compress_bound(in.size()));
  {
    sibyl_cstream* cs = sibyl_cstream_create_with(&alloc);
    ASSERT_NE(cs, nullptr);
    ASSERT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, 2), SIBYL_OK);
    sibyl_in_buffer ib{in.data(), in.size(), 0};
    sibyl_out_buffer ob{packed.data(), packed.size(), 0};
    size_t remaining = 0;
    ASSERT_EQ(sibyl_compress_stream(cs, &ob, &ib, SIBYL_END, &remaining), SIBYL_OK);
    ASSERT_EQ(remaining, 0u);
    packed.resize(ob.pos);
    sibyl_cstream_free(cs);
  }
  EXPECT_EQ(counter.live.load(), 0);
  EXPECT_GE(counter.calls.load(), 2);              // the context and the model tables
  EXPECT_GT(counter.bytes.load(), size_t(1) << 20);  // tables, not only the context
  EXPECT_EQ(packed, one_shot(in, 2));               // same bytes as without it

  const long before = counter.calls.load();
  sibyl_dstream* ds = sibyl_dstream_create_with(&alloc);
  Bytes out(in.size());
  sibyl_in_buffer ib{packed.data(), packed.size(), 0};
  sibyl_out_buffer ob{out.data(), out.size(), 0};
  ASSERT_EQ(sibyl_decompress_stream(ds, &ob, &ib, nullptr), SIBYL_OK);
  ASSERT_EQ(sibyl_decompress_stream_end(ds), SIBYL_OK);
  sibyl_dstream_free(ds);
  EXPECT_EQ(out, in);
  EXPECT_GE(counter.calls.load() - before, 3);  // context, tables, decoded block
  EXPECT_EQ(counter.live.load(), 0);

  // A failing allocator is an error, not a crash.
  const sibyl_allocator broken{[](void*, size_t) -> void* { return nullptr; }, [](void*, void*) {}, nullptr};
  EXPECT_EQ(sibyl_cstream_create_with(&broken), nullptr);
}

TEST(Api, IndependentContextsInParallelThreads) {
  // Run under the TSan preset too (scripts/test.sh).
  constexpr int kThreads = 4;
  std::vector<Bytes> inputs, expected;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(sample(30000 + 1000 * t, 60 + t));
    expected.push_back(one_shot(inputs.back(), 1 + t % 3));
  }
  std::vector<Bytes> packed(kThreads), back(kThreads);
  std::vector<int> rc(kThreads, -1);
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      StreamSetup s;
      s.level = 1 + t % 3;
      s.threads = 1 + t % 2;  // some contexts use worker threads of their own
      packed[t] = stream_compress(inputs[t], s, Chunks::kRandom, Chunks::kRandom, 70 + t);
      rc[t] = stream_decompress(packed[t], 1 + t % 2, Chunks::kRandom, Chunks::kRandom, &back[t], 80 + t);
    });
  }
  for (auto& th : pool) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(rc[t], SIBYL_OK);
    EXPECT_EQ(packed[t], expected[t]) << t;
    EXPECT_EQ(back[t], inputs[t]) << t;
  }
}

TEST(Api, CppWrappers) {
  const Bytes in = sample(40000, 91);
  const Bytes packed = sibyl::compress(in, 3);
  EXPECT_EQ(sibyl::decompress(packed), in);
  sibyl::Decompressor d;
  Bytes out;
  for (size_t i = 0; i < packed.size(); i += 777)
    d.feed({packed.data() + i, std::min<size_t>(777, packed.size() - i)}, out);
  d.finish(out);
  EXPECT_EQ(out, in);
  try {
    sibyl::Decompressor bad;
    Bytes o;
    bad.feed(in, o);
    FAIL() << "no exception";
  } catch (const sibyl::Failure& f) {
    EXPECT_EQ(f.code(), SIBYL_ERROR_NOT_SIBYL);
    EXPECT_NE(std::string(f.what()).find("not_sibyl"), std::string::npos);
  }
  EXPECT_THROW(sibyl::Compressor(12), sibyl::Failure);
}

TEST(Api, NoInputCallDecodesCompleteBlocksWhileAPayloadArrives) {
  // 1 KiB blocks, flushed after 2500 bytes: blocks of 1024, 1024, 452; then
  // 1500 more bytes make a fourth (full) block.
  const Bytes a = sample(2500, 101), b = sample(1500, 102);
  sibyl_cstream* cs = sibyl_cstream_create();
  ASSERT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_BLOCK_LOG, 10), SIBYL_OK);
  Bytes out(100000);
  sibyl_out_buffer ob{out.data(), out.size(), 0};
  sibyl_in_buffer ia{a.data(), a.size(), 0}, ib{b.data(), b.size(), 0};
  size_t remaining = 0;
  ASSERT_EQ(sibyl_compress_stream(cs, &ob, &ia, SIBYL_FLUSH, &remaining), SIBYL_OK);
  ASSERT_EQ(sibyl_compress_stream(cs, &ob, &ib, SIBYL_CONTINUE, &remaining), SIBYL_OK);
  sibyl_cstream_free(cs);
  // Everything but the last 5 bytes: the fourth block's payload is incomplete.
  sibyl_dstream* ds = sibyl_dstream_create();
  ASSERT_EQ(sibyl_dstream_set_param(ds, SIBYL_PARAM_THREADS, 4), SIBYL_OK);
  Bytes got(10000);
  sibyl_in_buffer di{out.data(), ob.pos - 5, 0};
  sibyl_out_buffer dout{got.data(), got.size(), 0};
  ASSERT_EQ(sibyl_decompress_stream(ds, &dout, &di, nullptr), SIBYL_OK);
  EXPECT_EQ(dout.pos, 0u);  // a call with input waits for a full batch of 4
  ASSERT_EQ(sibyl_decompress_stream(ds, &dout, &di, nullptr), SIBYL_OK);  // no new input
  ASSERT_EQ(dout.pos, a.size());
  EXPECT_TRUE(std::equal(a.begin(), a.end(), got.begin()));
  di.size = ob.pos;  // the rest of the fourth block
  ASSERT_EQ(sibyl_decompress_stream(ds, &dout, &di, nullptr), SIBYL_OK);
  ASSERT_EQ(sibyl_decompress_stream(ds, &dout, &di, nullptr), SIBYL_OK);
  EXPECT_EQ(dout.pos, a.size() + 1024);
  EXPECT_TRUE(std::equal(b.begin(), b.begin() + 1024, got.begin() + static_cast<std::ptrdiff_t>(a.size())));
  sibyl_dstream_free(ds);
}

TEST(Api, EndWithOutputWaitingIsNotSticky) {
  const Bytes in = sample(3000, 111);
  const Bytes packed = one_shot(in, 1);
  sibyl_dstream* ds = sibyl_dstream_create();
  uint8_t one = 0;
  sibyl_in_buffer ib{packed.data(), packed.size(), 0};
  sibyl_out_buffer ob{&one, 1, 0};
  ASSERT_EQ(sibyl_decompress_stream(ds, &ob, &ib, nullptr), SIBYL_OK);
  EXPECT_EQ(sibyl_decompress_stream_end(ds), SIBYL_ERROR_STAGE_WRONG);
  Bytes rest(in.size());
  sibyl_out_buffer ob2{rest.data(), rest.size(), 0};
  ASSERT_EQ(sibyl_decompress_stream(ds, &ob2, &ib, nullptr), SIBYL_OK);
  EXPECT_EQ(ob2.pos, in.size() - 1);
  EXPECT_EQ(sibyl_decompress_stream_end(ds), SIBYL_OK);
  sibyl_dstream_free(ds);
}

TEST(Api, ProgressCountsTheCurrentStreamAndFailedContextsNeedReset) {
  sibyl::Compressor c(1);
  Bytes out;
  c.feed(sample(5000, 121), out);
  c.finish(out);
  c.feed(sample(700, 122), out);
  c.finish(out);
  uint64_t bin = 0, bout = 0;
  sibyl_cstream_progress(c.get(), &bin, &bout);
  EXPECT_EQ(bin, 700u);

  sibyl_cstream* cs = sibyl_cstream_create();
  ASSERT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, 9), SIBYL_OK);
  ASSERT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_MEMORY_LIMIT_MIB, 8), SIBYL_OK);
  uint8_t buf[64];
  sibyl_in_buffer ib{buf, 0, 0};
  sibyl_out_buffer ob{buf, sizeof buf, 0};
  EXPECT_EQ(sibyl_compress_stream(cs, &ob, &ib, SIBYL_END, nullptr), SIBYL_ERROR_MEMORY_LIMIT);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, 1), SIBYL_ERROR_STAGE_WRONG);
  EXPECT_NE(std::string(sibyl_cstream_message(cs)).find("reset"), std::string::npos);
  ASSERT_EQ(sibyl_cstream_reset(cs), SIBYL_OK);
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, 1), SIBYL_OK);
  // Level 1 with 1 GiB blocks does not fit in 8 MiB either.
  ASSERT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_BLOCK_LOG, 30), SIBYL_OK);
  ASSERT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_MEMORY_LIMIT_MIB, 100), SIBYL_OK);
  EXPECT_EQ(sibyl_compress_stream(cs, &ob, &ib, SIBYL_END, nullptr), SIBYL_ERROR_MEMORY_LIMIT);
  sibyl_cstream_free(cs);
}

// The PNG-pixels mark (SIBYL_PARAM_X_PNG_PIXELS): frame flag 1 in every
// frame, the content decoded as any other; only 0 and 1 are taken.
TEST(Api, PngPixelsMarksTheFrameOnly) {
  const Bytes in = sample(3000, 17);
  sibyl_cstream* cs = sibyl_cstream_create();
  EXPECT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_PNG_PIXELS, 2), SIBYL_ERROR_INVALID_ARGUMENT);
  sibyl_cstream_free(cs);
  StreamSetup setup;
  setup.level = 6;
  setup.png_pixels = true;
  const Bytes packed = stream_compress(in, setup, Chunks::kRandom, Chunks::kRandom);
  ASSERT_GT(packed.size(), 16u);
  EXPECT_EQ(packed[5], 1);
  EXPECT_EQ(one_shot_decompress(packed), in);
  const Bytes plain = one_shot(in, 6);
  EXPECT_EQ(plain[5], 0);
  // The same blocks: only the frame header (flags, check) differs.
  ASSERT_EQ(plain.size(), packed.size());
  EXPECT_TRUE(std::equal(plain.begin() + 16, plain.end(), packed.begin() + 16));
}

// Vector quantisation through the API: a raw f32 array, the error report
// matches the decoded values, and a lossless stream reports no error.
TEST(Api, VectorQuantisationReportsItsError) {
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  std::vector<float> proto(8 * 32);
  for (auto& v : proto) v = noise(rng) * 10.0f;
  std::vector<float> values(8 * 4096);
  for (size_t i = 0; i < values.size(); ++i) values[i] = proto[(i / 8 % 32) * 8 + i % 8] + noise(rng);
  Bytes in(values.size() * 4);
  std::memcpy(in.data(), values.data(), in.size());
  sibyl_cstream* cs = sibyl_cstream_create();
  ASSERT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_TENSOR_DTYPE, SIBYL_X_DTYPE_F32), SIBYL_OK);
  ASSERT_EQ(sibyl_cstream_set_param(cs, SIBYL_PARAM_X_TENSOR_ROW, 64), SIBYL_OK);
  ASSERT_EQ(sibyl_cstream_set_vq(cs, 8, 1, 64), SIBYL_OK);
  Bytes z(sibyl_compress_bound(in.size()));
  sibyl_in_buffer ib{in.data(), in.size(), 0};
  sibyl_out_buffer ob{z.data(), z.size(), 0};
  size_t remaining = 1;
  while (remaining != 0) ASSERT_EQ(sibyl_compress_stream(cs, &ob, &ib, SIBYL_END, &remaining), SIBYL_OK);
  z.resize(ob.pos);
  uint64_t n = 0;
  double max_abs = 0, rms = 0, signal = 0;
  ASSERT_EQ(sibyl_cstream_lossy_error(cs, &n, &max_abs, &rms, &signal), SIBYL_OK);
  const Bytes back = one_shot_decompress(z);
  ASSERT_EQ(back.size(), in.size());
  std::vector<float> got(values.size());
  std::memcpy(got.data(), back.data(), back.size());
  double mx = 0, sq = 0, sig = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double e = std::fabs(static_cast<double>(got[i]) - values[i]);
    mx = std::max(mx, e);
    sq += e * e;
    sig += static_cast<double>(values[i]) * values[i];
  }
  EXPECT_EQ(n, values.size());
  EXPECT_DOUBLE_EQ(max_abs, mx);
  EXPECT_NEAR(rms, std::sqrt(sq / values.size()), 1e-9);
  EXPECT_NEAR(signal, std::sqrt(sig / values.size()), 1e-9);
  EXPECT_GT(mx, 0.0);
  EXPECT_LT(z.size() * 8, in.size());
  // A lossless stream next: nothing approximated.
  ASSERT_EQ(sibyl_cstream_reset(cs), SIBYL_OK);
  ASSERT_EQ(sibyl_cstream_set_vq(cs, 0, 0, 0), SIBYL_OK);
  ib = {in.data(), in.size(), 0};
  z.assign(sibyl_compress_bound(in.size()), 0);
  ob = {z.data(), z.size(), 0};
  remaining = 1;
  while (remaining != 0) ASSERT_EQ(sibyl_compress_stream(cs, &ob, &ib, SIBYL_END, &remaining), SIBYL_OK);
  ASSERT_EQ(sibyl_cstream_lossy_error(cs, &n, &max_abs, nullptr, nullptr), SIBYL_OK);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(max_abs, 0.0);
  z.resize(ob.pos);
  EXPECT_EQ(one_shot_decompress(z), in);
  sibyl_cstream_free(cs);
}

}  // namespace
