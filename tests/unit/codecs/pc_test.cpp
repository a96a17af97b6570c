// The probabilistic-circuit prior and codec: training determinism, the
// prior file, the incremental conditionals against a full circuit pass,
// round trips through the engine (records cut by blocks, escaped records,
// headers and trailing bytes), single-record decoding and hostile input.
#include "codecs/pc/pc_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "codecs/codec.h"
#include "codecs/pc/collection.h"
#include "codecs/pc/pc_adapt.h"
#include "coder/quantize.h"
#include "coder/range_coder.h"
#include "engine/decoder.h"
#include "engine/encoder.h"
#include "format/container.h"
#include "model/pc/hclt.h"

namespace sibyl {
namespace {

// side x side records with `levels` values: a bright blob on a noisy field.
std::vector<uint8_t> blobs(size_t n, uint32_t side, uint32_t levels, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v;
  for (size_t i = 0; i < n; ++i) {
    const int cx = static_cast<int>(rng() % side), cy = static_cast<int>(rng() % side), r = 1 + static_cast<int>(rng() % 3);
    for (uint32_t y = 0; y < side; ++y)
      for (uint32_t x = 0; x < side; ++x) {
        const int d = (int(x) - cx) * (int(x) - cx) + (int(y) - cy) * (int(y) - cy);
        const int top = static_cast<int>(levels) - 1;
        const int val = d <= 3 * r ? std::max(0, top - 3 * d / r) : static_cast<int>(rng() % 2);
        v.push_back(static_cast<uint8_t>(std::min(top, val)));
      }
  }
  return v;
}

std::vector<uint8_t> idx_file(const std::vector<uint8_t>& recs, uint32_t side) {
  const uint32_t n = static_cast<uint32_t>(recs.size() / (side * side));
  std::vector<uint8_t> f = {0, 0, 8, 3};
  for (uint32_t d : {n, side, side})
    for (int i = 3; i >= 0; --i) f.push_back(static_cast<uint8_t>(d >> (8 * i)));
  f.insert(f.end(), recs.begin(), recs.end());
  return f;
}

pc::Hclt train(const std::vector<uint8_t>& recs, uint32_t vars, uint32_t values, uint32_t latent, int threads) {
  pc::TrainOptions o;
  o.latent = latent;
  o.epochs = 3;
  o.batch = 256;
  o.threads = threads;
  pc::Hclt m;
  const Status s = pc::train_hclt(recs.data(), recs.size() / vars, vars, values, o, &m);
  EXPECT_TRUE(s.ok()) << s.message();
  return m;
}

uint64_t registered(const pc::Hclt& m) {
  uint64_t hash = 0;
  const std::vector<uint8_t> file = pc::write_prior(m);
  EXPECT_TRUE(pc::register_prior(file, &hash).ok());
  return hash;
}

TEST(PcPrior, TrainingIsTheSameForAnyThreadCountAndTheFileRoundTrips) {
  const auto recs = blobs(700, 8, 17, 1);  // 700 records: batches and jobs of uneven size
  const pc::Hclt a = train(recs, 64, 17, 5, 1), b = train(recs, 64, 17, 5, 3);
  const auto fa = pc::write_prior(a), fb = pc::write_prior(b);
  EXPECT_EQ(fa, fb);
  pc::Hclt back;
  uint64_t hash = 0;
  ASSERT_TRUE(pc::read_prior(fa, &back, &hash).ok());
  EXPECT_EQ(pc::write_prior(back), fa);
  // Any damage is refused: bad magic, a flipped parameter, truncation, a cycle.
  for (size_t at : {size_t(0), size_t(30), fa.size() / 2, fa.size() - 1}) {
    auto bad = fa;
    bad[at] ^= 0x10;
    EXPECT_FALSE(pc::read_prior(bad, &back, &hash).ok()) << at;
  }
  EXPECT_FALSE(pc::read_prior(std::span<const uint8_t>(fa).first(fa.size() - 9), &back, &hash).ok());
  pc::Hclt cyc = a;
  const uint32_t r = cyc.root();
  for (uint32_t v = 0; v < 64; ++v)
    if (cyc.parent[v] == r) cyc.parent[r] = v;  // root <-> a child: a cycle and no root
  EXPECT_FALSE(pc::read_prior(pc::write_prior(cyc), &back, &hash).ok());
}

// A small trained circuit (8x8 records of 17 levels, latent 6), its tree and
// records it was not trained on, for the chain-rule tests.
class PcChain : public ::testing::Test {
 protected:
  void SetUp() override {
    m = train(blobs(300, 8, 17, 2), 64, 17, 6, 2);
    ASSERT_TRUE(tree.build(m.parent).ok());
    tt = pc::transpose_transitions(m);
  }
  pc::Hclt m;
  pc::TreeOrder tree;
  std::vector<float> tt;
};

TEST_F(PcChain, IncrementalConditionalsMatchAFullCircuitPass) {
  pc::HcltCoder coder(m, tree, tt.data());
  std::vector<float> dist(17), scratch;
  const auto test = blobs(20, 8, 17, 99);
  // -log2 of the chain of conditionals, coding position `skip` left out.
  auto chain_bits = [&](const uint8_t* x, uint32_t skip) {
    double bits = 0;
    coder.reset();
    for (uint32_t i = 0; i < 64; ++i) {
      if (i == skip) {
        coder.observe(i, -1);
        continue;
      }
      coder.predict(i, dist.data());
      double sum = 0;
      for (float f : dist) sum += f;
      bits -= std::log2(dist[x[tree.order[i]]] / sum);
      coder.observe(i, x[tree.order[i]]);
    }
    return bits;
  };
  for (size_t r = 0; r < 20; ++r) {
    const double chain = chain_bits(&test[r * 64], 64), full = pc::record_bits(m, tree, &test[r * 64], scratch);
    EXPECT_NEAR(chain, full, 1e-3 * full) << "record " << r;
  }
  // A marginalised variable is the same as one never looked at: leaving
  // out variable order[1] gives the chain rule of the other variables.
  const double with_missing = chain_bits(&test[0], 1), total = chain_bits(&test[0], 64);
  EXPECT_LT(with_missing, total);  // one variable less to pay for
  EXPECT_GT(with_missing, total - 20);
}

TEST_F(PcChain, TheFocusCoderGivesTheChainRuleInAnyOrder) {
  pc::HcltFocusCoder coder(m, tree, tt.data());
  std::vector<float> dist(17), scratch;
  const auto test = blobs(20, 8, 17, 99);
  std::vector<uint32_t> raster(64), shuffled(64);
  for (uint32_t v = 0; v < 64; ++v) raster[v] = shuffled[v] = v;
  std::mt19937 rng(4);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  auto chain_bits = [&](const uint8_t* x, const std::vector<uint32_t>& order, uint32_t skip) {
    double bits = 0;
    coder.reset();
    for (uint32_t v : order) {
      if (v == skip) {
        coder.observe(v, -1);
        continue;
      }
      coder.predict(v, dist.data());
      double sum = 0;
      for (float f : dist) sum += f;
      bits -= std::log2(dist[x[v]] / sum);
      coder.observe(v, x[v]);
    }
    return bits;
  };
  for (size_t r = 0; r < 20; ++r) {
    const double full = pc::record_bits(m, tree, &test[r * 64], scratch);
    EXPECT_NEAR(chain_bits(&test[r * 64], raster, 64), full, 1e-3 * full) << "record " << r;
    EXPECT_NEAR(chain_bits(&test[r * 64], shuffled, 64), full, 1e-3 * full) << "record " << r;
  }
  // Marginalising a variable is the same in either order.
  EXPECT_NEAR(chain_bits(&test[0], raster, 9), chain_bits(&test[0], shuffled, 9), 1e-2);
  EXPECT_LT(chain_bits(&test[0], raster, 9), chain_bits(&test[0], raster, 64));
  EXPECT_GT(coder.steps(), 0u);
}

TEST(PcPrior, KernelsOfEverySimdLevelAgreeToTheBit) {
  std::mt19937 rng(12);
  const pc::WeightedRows ref = pc::weighted_rows_kernel(SimdLevel::kScalar);
  for (uint32_t k : {1u, 3u, 32u, 64u}) {
    for (uint32_t n : {1u, 17u, 32u, 64u, 100u, 256u}) {
      std::vector<float> w(k), rows(size_t(k) * n), a(n), b(n);
      for (auto& x : w) x = static_cast<float>(rng() % 100000) / 77777.0f;
      for (auto& x : rows) x = static_cast<float>(rng() % 100000) / 33333.0f;
      ref(w.data(), rows.data(), k, n, a.data());
      for (SimdLevel l : {SimdLevel::kSse2, SimdLevel::kAvx2}) {
        if (l > simd_cpu_level()) continue;
        pc::weighted_rows_kernel(l)(w.data(), rows.data(), k, n, b.data());
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), n * sizeof(float))) << "k " << k << " n " << n;
      }
    }
  }
}

TEST(PcCodec, QuantisedDistributionsSumToTheTotalAndKeepEverySymbol) {
  std::mt19937 rng(3);
  std::vector<float> w(256);
  std::vector<uint32_t> f(256);
  for (int t = 0; t < 200; ++t) {
    for (auto& x : w) x = (rng() % 4 == 0) ? 0.0f : static_cast<float>(rng() % 100000) * 1e-9f * static_cast<float>(1 + t);
    if (t % 7 == 0) w[rng() % 256] = 1e6f;
    quantize_distribution(w.data(), 256, 16, f.data());
    uint64_t sum = 0;
    for (uint32_t x : f) {
      EXPECT_GE(x, 1u);
      sum += x;
    }
    EXPECT_EQ(sum, 65536u);
  }
}

TEST(PcCodec, ShortFlushStreamsDecodeFromExactlyTheirBytes) {
  std::mt19937 rng(4);
  for (int t = 0; t < 300; ++t) {
    std::vector<uint8_t> out;
    RangeEncoder enc(out);
    std::vector<uint32_t> syms(1 + rng() % 40);
    for (auto& s : syms) {
      s = rng() % 16;
      enc.encode(s * 4096, 4096, 65536);
    }
    enc.flush_short();
    RangeDecoder dec(out.data(), out.size());
    for (uint32_t s : syms) {
      const uint32_t v = dec.decode_target(65536);
      ASSERT_EQ(v / 4096, s);
      dec.consume(s * 4096, 4096);
    }
    EXPECT_FALSE(dec.corrupt());
  }
}

TEST(PcCodec, CollectionsRoundTripThroughTheEngineWithRecordsCutByBlocks) {
  const auto train_set = blobs(500, 8, 17, 5);
  const pc::Hclt m = train(train_set, 64, 17, 6, 2);
  const uint64_t hash = registered(m);
  auto recs = blobs(90, 8, 17, 6);
  recs[64 * 10 + 5] = 200;  // a value the prior does not know: that record is stored
  std::vector<uint8_t> file = idx_file(recs, 8);
  for (char c : std::string("trailing bytes")) file.push_back(static_cast<uint8_t>(c));
  for (int block_log : {0, 10}) {
    EncodeOptions o;
    o.prior_hash = hash;
    o.block_log = block_log;
    std::vector<uint8_t> archive, back;
    ASSERT_TRUE(compress_buffer(file, o, archive).ok());
    ASSERT_TRUE(decompress_buffer(archive, DecodeOptions{}, back).ok());
    EXPECT_EQ(back, file) << block_log;
    if (block_log == 0) {
      EXPECT_LT(archive.size(), recs.size() * 6 / 10);
    }
    // Every record again, from the blocks that hold it alone.
    size_t pos = format::kFrameHeaderSize;
    std::vector<std::vector<uint8_t>> payloads;
    std::vector<format::BlockHeader> heads;
    while (pos < archive.size() && archive[pos] == 1) {  // block kind
      const size_t hs = format::block_header_size(std::span<const uint8_t>(archive).subspan(pos, 4));
      format::BlockHeader h;
      ASSERT_TRUE(format::parse_block_header(std::span<const uint8_t>(archive).subspan(pos, hs), 30, &h).ok());
      payloads.emplace_back(archive.begin() + static_cast<std::ptrdiff_t>(pos + hs),
                            archive.begin() + static_cast<std::ptrdiff_t>(pos + hs + h.coded_size));
      heads.push_back(h);
      pos += hs + h.coded_size;
    }
    ASSERT_GT(heads.size(), block_log == 10 ? 5u : 1u);
    for (uint64_t r = 0; r < 90; ++r) {
      std::vector<uint8_t> one;
      uint64_t covered = 0;
      for (size_t b = 0; b < heads.size(); ++b) {
        if (heads[b].codec != kCodecPc) continue;
        pc::PcConfig c;
        ASSERT_TRUE(pc::PcConfig::parse(heads[b].params, &c).ok());
        ASSERT_TRUE(pc::pc_decode_record(c, payloads[b], r, &one, &covered).ok());
      }
      ASSERT_EQ(covered, 64u) << "record " << r;
      EXPECT_TRUE(std::equal(one.begin(), one.end(), recs.begin() + static_cast<std::ptrdiff_t>(r * 64))) << r;
    }
  }
}

TEST(PcCodec, TheCollectionRegimeRoundTripsAndDecodesSingleRecords) {
  const auto train_set = blobs(500, 8, 17, 13);
  const pc::Hclt m = train(train_set, 64, 17, 6, 2);
  const uint64_t hash = registered(m);
  auto recs = blobs(120, 8, 17, 14);
  recs[64 * 3 + 9] = 250;  // a value the prior does not know
  const std::vector<uint8_t> file = idx_file(recs, 8);
  for (int block_log : {0, 11}) {
    EncodeOptions o;
    o.prior_hash = hash;
    o.prior_adapt = true;
    o.block_log = block_log;
    std::vector<uint8_t> archive, back, single;
    ASSERT_TRUE(compress_buffer(file, o, archive).ok());
    ASSERT_TRUE(decompress_buffer(archive, DecodeOptions{}, back).ok());
    EXPECT_EQ(back, file) << block_log;
    o.prior_adapt = false;
    ASSERT_TRUE(compress_buffer(file, o, single).ok());
    if (block_log == 0) {
      EXPECT_LT(archive.size(), single.size());  // learning across records pays
    }
  }
  // The same through the payload: record 77 from one adaptive block, in
  // every order (flags 1, the circuit's, 2 rows and 3 columns with hashed
  // contexts are still decoded; 4 rows, 5 columns with predictor maps).
  for (int flags : {1, 2, 3, 4, 5}) {
    pc::PcConfig c;
    c.prior_hash = hash;
    c.adapt = true;
    c.raster = flags >= 2;
    c.columns = flags == 3 || flags == 5;
    c.maps = flags >= 4;
    c.width = 8;
    std::vector<uint8_t> payload, one, all(recs.size());
    const tensor::Layout layout = pc::record_layout(recs, 64);
    ASSERT_TRUE(pc::pc_encode(c, tensor::block_segments(layout, 0, recs.size()), recs, payload).ok());
    ASSERT_TRUE(pc::pc_decode(c, payload, all).ok());
    EXPECT_EQ(all, recs) << flags;
    if (flags == 4) {
      // Records without a row length: the predictors see only the values before.
      pc::PcConfig flat = c;
      flat.width = 0;
      std::vector<uint8_t> p0, a0(recs.size());
      ASSERT_TRUE(pc::pc_encode(flat, tensor::block_segments(layout, 0, recs.size()), recs, p0).ok());
      ASSERT_TRUE(pc::pc_decode(flat, p0, a0).ok());
      EXPECT_EQ(a0, recs);
    }
    uint64_t covered = 0;
    ASSERT_TRUE(pc::pc_decode_record(c, payload, 77, &one, &covered).ok());
    EXPECT_EQ(covered, 64u);
    EXPECT_TRUE(std::equal(one.begin(), one.end(), recs.begin() + 77 * 64));
    std::mt19937 rng(15);
    std::vector<uint8_t> out(recs.size());
    for (int t = 0; t < 100; ++t) {
      auto bad = payload;
      bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
      (void)pc::pc_decode(c, bad, out);
      (void)pc::pc_decode(c, std::span<const uint8_t>(bad).first(rng() % bad.size()), out);
    }
  }
}

TEST(PcCodec, TheScanFollowsTheTreesDirection) {
  // A 4 x 4 record whose tree runs down the columns (joined along the top
  // row), and one whose tree runs along the rows (joined down the left column).
  for (bool vertical : {true, false}) {
    pc::Prior p;
    p.model.vars = 16;
    p.model.parent.resize(16);
    for (uint32_t v = 0; v < 16; ++v) {
      const uint32_t x = v % 4, y = v / 4;
      if (vertical)
        p.model.parent[v] = y > 0 ? v - 4 : (x > 0 ? v - 1 : pc::kNoParent);
      else
        p.model.parent[v] = x > 0 ? v - 1 : (y > 0 ? v - 4 : pc::kNoParent);
    }
    ASSERT_TRUE(p.tree.build(p.model.parent).ok());
    EXPECT_EQ(pc::adapt_columns(p, 4), vertical);
    EXPECT_FALSE(pc::adapt_columns(p, 0));   // no width: no columns
    EXPECT_FALSE(pc::adapt_columns(p, 5));   // not a divisor
    EXPECT_FALSE(pc::adapt_columns(p, 16));  // one row
  }
  pc::PcConfig c;
  std::vector<uint8_t> params = pc::pc_params(1, true, 4);
  // The encoder writes predictor maps (4 or 5); with no prior registered
  // under the hash it cannot look at the tree and takes rows.
  EXPECT_EQ(params[9], 4);
  for (uint8_t flags : {1, 2, 3, 4, 5}) {
    params[9] = flags;
    ASSERT_TRUE(pc::PcConfig::parse(params, &c).ok());
    EXPECT_TRUE(c.adapt);
    EXPECT_EQ(c.raster, flags >= 2);
    EXPECT_EQ(c.columns, flags == 3 || flags == 5);
    EXPECT_EQ(c.maps, flags >= 4);
    EXPECT_FALSE(c.mixing);
  }
  params[9] = 6;  // the independent regime with the prior's mixing model
  ASSERT_TRUE(pc::PcConfig::parse(params, &c).ok());
  EXPECT_TRUE(c.mixing);
  EXPECT_FALSE(c.adapt);
  EXPECT_EQ(c.width, 4u);
  params[9] = 7;
  EXPECT_FALSE(pc::PcConfig::parse(params, &c).ok());
}

TEST(PcCodec, AnotherShapeAndARawStreamWork) {
  // 5x5 records of 4 levels given as a raw stream (no header).
  const auto recs = blobs(400, 5, 4, 7);
  const pc::Hclt m = train(recs, 25, 4, 3, 1);
  const uint64_t hash = registered(m);
  std::vector<uint8_t> stream = blobs(50, 5, 4, 8);
  stream.push_back(3);  // a partial record at the end
  EncodeOptions o;
  o.prior_hash = hash;
  std::vector<uint8_t> archive, back;
  ASSERT_TRUE(compress_buffer(stream, o, archive).ok());
  ASSERT_TRUE(decompress_buffer(archive, DecodeOptions{}, back).ok());
  EXPECT_EQ(back, stream);
}

TEST(PcCodec, MissingPriorAndHostilePayloadsFailCleanly) {
  const auto train_set = blobs(300, 8, 17, 9);
  const pc::Hclt m = train(train_set, 64, 17, 4, 1);
  const uint64_t hash = registered(m);
  const auto recs = blobs(40, 8, 17, 10);
  pc::PcConfig c;
  c.prior_hash = hash;
  tensor::Layout layout = pc::record_layout(recs, 64);
  std::vector<uint8_t> payload;
  ASSERT_TRUE(pc::pc_encode(c, tensor::block_segments(layout, 0, recs.size()), recs, payload).ok());
  std::vector<uint8_t> out(recs.size());
  ASSERT_TRUE(pc::pc_decode(c, payload, out).ok());
  EXPECT_EQ(out, recs);
  pc::PcConfig other;
  other.prior_hash = hash ^ 1;
  const Status missing = pc::pc_decode(other, payload, out);
  EXPECT_EQ(missing.code(), ErrorCode::kBadParameters);
  EXPECT_NE(missing.message().find("prior"), std::string::npos);
  // Every truncation and many byte flips: an error or other bytes, never a crash.
  for (size_t n = 0; n < payload.size(); n += 7) {
    const Status s = pc::pc_decode(c, std::span<const uint8_t>(payload).first(n), out);
    EXPECT_FALSE(s.ok()) << n;
  }
  std::mt19937 rng(11);
  for (int t = 0; t < 300; ++t) {
    auto bad = payload;
    bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    (void)pc::pc_decode(c, bad, out);
    std::vector<uint8_t> one;
    uint64_t covered = 0;
    (void)pc::pc_decode_record(c, bad, rng() % 40, &one, &covered);
  }
}

// A prior with the collection regime's model learned over its training
// records (prior file version 2): the independent regime codes every record
// from it alone (flags 6).
TEST(PcMixing, TheTrainedMixingModelCodesEveryRecordAlone) {
  const auto train_set = blobs(600, 8, 17, 21);
  pc::Hclt m = train(train_set, 64, 17, 6, 2);
  const uint64_t plain_hash = registered(m);
  m.mixing = pc::train_mixing(*pc::find_prior(plain_hash), train_set.data(), 600, 8);
  ASSERT_FALSE(m.mixing.empty());
  // The prior file keeps the bytes (version 2) and its own hash.
  const std::vector<uint8_t> file = pc::write_prior(m);
  EXPECT_EQ(file[8], 2);
  pc::Hclt back;
  uint64_t hash = 0;
  ASSERT_TRUE(pc::read_prior(file, &back, &hash).ok());
  EXPECT_EQ(back.mixing, m.mixing);
  ASSERT_TRUE(pc::register_prior(file, &hash).ok());
  ASSERT_NE(hash, plain_hash);
  ASSERT_TRUE(pc::find_prior(hash)->mixing != nullptr);
  EXPECT_EQ(pc::pc_params(hash)[9], 6);
  EXPECT_EQ(pc::pc_params(plain_hash)[9], 0);

  auto recs = blobs(150, 8, 17, 22);
  recs[64 * 5 + 3] = 200;  // a value the prior does not know: stored
  const std::vector<uint8_t> idx = idx_file(recs, 8);
  std::vector<uint8_t> with, without, out;
  for (int block_log : {0, 11}) {  // one block; records cut by 2 KiB blocks
    EncodeOptions o;
    o.prior_hash = hash;
    o.block_log = block_log;
    ASSERT_TRUE(compress_buffer(idx, o, with).ok());
    ASSERT_TRUE(decompress_buffer(with, DecodeOptions{}, out).ok());
    EXPECT_EQ(out, idx) << block_log;
  }
  {
    EncodeOptions o;
    o.prior_hash = plain_hash;
    ASSERT_TRUE(compress_buffer(idx, o, without).ok());
    o.prior_hash = hash;
    ASSERT_TRUE(compress_buffer(idx, o, with).ok());
    // The mixing model knows the blobs' edges better than the circuit alone.
    EXPECT_LT(with.size(), without.size());
  }
  // Through the payload: any record alone, damaged payloads fail cleanly.
  pc::PcConfig c;
  ASSERT_TRUE(pc::PcConfig::parse(pc::pc_params(hash), &c).ok());
  EXPECT_TRUE(c.mixing);
  EXPECT_FALSE(c.adapt);
  EXPECT_EQ(c.width, 8u);
  const tensor::Layout layout = pc::record_layout(recs, 64);
  std::vector<uint8_t> payload, all(recs.size()), one;
  ASSERT_TRUE(pc::pc_encode(c, tensor::block_segments(layout, 0, recs.size()), recs, payload).ok());
  ASSERT_TRUE(pc::pc_decode(c, payload, all).ok());
  EXPECT_EQ(all, recs);
  for (uint64_t r : {0, 5, 77, 149}) {
    uint64_t covered = 0;
    ASSERT_TRUE(pc::pc_decode_record(c, payload, r, &one, &covered).ok());
    EXPECT_EQ(covered, 64u);
    EXPECT_TRUE(std::equal(one.begin(), one.end(), recs.begin() + static_cast<std::ptrdiff_t>(r * 64))) << r;
  }
  std::mt19937 rng(23);
  for (int t = 0; t < 200; ++t) {
    auto bad = payload;
    bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    (void)pc::pc_decode(c, bad, all);
    (void)pc::pc_decode(c, std::span<const uint8_t>(bad).first(rng() % bad.size()), all);
  }
  // Flags 6 needs the mixing model of the prior it names.
  pc::PcConfig other = c;
  other.prior_hash = plain_hash;
  EXPECT_EQ(pc::pc_decode(other, payload, all).code(), ErrorCode::kBadParameters);
  other = c;
  other.width = 4;
  EXPECT_EQ(pc::pc_decode(other, payload, all).code(), ErrorCode::kBadParameters);
}

TEST(PcMixing, DamagedMixingModelsAreRefused) {
  const auto train_set = blobs(200, 4, 5, 31);
  pc::Hclt m = train(train_set, 16, 5, 3, 1);
  const uint64_t plain_hash = registered(m);
  const pc::Prior& prior = *pc::find_prior(plain_hash);
  const std::vector<uint8_t> mix = pc::train_mixing(prior, train_set.data(), 200, 4);
  std::shared_ptr<const pc::MixingModel> parsed;
  ASSERT_TRUE(pc::parse_mixing(prior, mix, &parsed).ok());
  EXPECT_EQ(pc::mixing_width(*parsed), 4u);
  // Cuts (every one in the header, then a sample), and flipped bytes in the
  // header, the run list and the weights.
  std::mt19937 rng(32);
  for (size_t n = 0; n < mix.size(); n += n < 40 ? 1 : 1 + rng() % (mix.size() / 40))
    EXPECT_EQ(pc::parse_mixing(prior, std::span<const uint8_t>(mix).first(n), &parsed).code(), ErrorCode::kCorrupt) << n;
  EXPECT_EQ(pc::parse_mixing(prior, std::span<const uint8_t>(mix).first(mix.size() - 1), &parsed).code(), ErrorCode::kCorrupt);
  for (int t = 0; t < 120; ++t) {
    auto bad = mix;
    const size_t at = t < 17 ? size_t(t) : (t % 2 ? bad.size() - 1 - rng() % 176 : rng() % bad.size());
    bad[at] ^= static_cast<uint8_t>(1 + rng() % 255);
    const Status s = pc::parse_mixing(prior, bad, &parsed);
    EXPECT_TRUE(s.ok() || s.code() == ErrorCode::kCorrupt);
  }
  // A non-finite least-squares weight.
  auto bad = mix;
  for (size_t i = bad.size() - 8; i < bad.size(); ++i) bad[i] = 0xff;
  EXPECT_EQ(pc::parse_mixing(prior, bad, &parsed).code(), ErrorCode::kCorrupt);
  // The prior file's size field for the mixing model.
  m.mixing = mix;
  std::vector<uint8_t> file = pc::write_prior(m);
  pc::Hclt back;
  uint64_t hash = 0;
  const size_t at = file.size() - 8 - mix.size() - 8;
  file[at] ^= 1;
  EXPECT_FALSE(pc::read_prior(file, &back, &hash).ok());
}

TEST(PcCollection, HeadersAreRecognised) {
  pc::Collection c;
  const auto idx = idx_file(blobs(3, 4, 2, 1), 4);
  ASSERT_TRUE(pc::parse_collection(idx, &c));
  EXPECT_STREQ(c.container, "idx");
  EXPECT_EQ(c.header_bytes, 16u);
  EXPECT_EQ(c.count, 3u);
  EXPECT_EQ(c.record, 16u);
  const std::string pgm = "P5\n# c\n4 2\n15\n";
  ASSERT_TRUE(pc::parse_collection({reinterpret_cast<const uint8_t*>(pgm.data()), pgm.size()}, &c));
  EXPECT_STREQ(c.container, "pgm");
  EXPECT_EQ(c.record, 8u);
  EXPECT_EQ(c.max_value, 15u);
  std::string npy = "\x93NUMPY\x01";
  npy.push_back('\0');
  const std::string h = "{'descr': '|u1', 'fortran_order': False, 'shape': (7, 3, 2), }\n";
  npy.push_back(static_cast<char>(h.size()));
  npy.push_back('\0');
  npy += h;
  ASSERT_TRUE(pc::parse_collection({reinterpret_cast<const uint8_t*>(npy.data()), npy.size()}, &c));
  EXPECT_STREQ(c.container, "npy");
  EXPECT_EQ(c.count, 7u);
  EXPECT_EQ(c.record, 6u);
  EXPECT_EQ(c.header_bytes, npy.size());
  const std::string f32 = npy.substr(0, 10) + "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 3, 2), }\n";
  EXPECT_FALSE(pc::parse_collection({reinterpret_cast<const uint8_t*>(f32.data()), f32.size()}, &c));
}

}  // namespace
}  // namespace sibyl
