#include "coder/range_coder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "coder/adaptive_frequencies.h"
#include "coder/quantize.h"

namespace sibyl {
namespace {

TEST(Quantize, SumsToTotalAndKeepsEverySymbol) {
  std::mt19937 rng(5);
  for (int t = 0; t < 200; ++t) {
    const size_t n = 1 + rng() % 300;
    std::vector<uint32_t> w(n), f(n);
    for (auto& x : w) x = rng() % 4 == 0 ? 0 : rng() % 100000;
    quantize_frequencies(w.data(), n, 16, f.data());
    uint64_t sum = 0;
    for (size_t i = 0; i < n; ++i) {
      EXPECT_GE(f[i], 1u);
      sum += f[i];
    }
    EXPECT_EQ(sum, 65536u);
  }
  std::vector<uint32_t> zero(10, 0), f(10);
  quantize_frequencies(zero.data(), 10, 12, f.data());
  uint64_t sum = 0;
  for (auto x : f) sum += x;
  EXPECT_EQ(sum, 4096u);
}

TEST(Quantize, ProportionalToWeights) {
  const uint32_t w[4] = {1, 1, 2, 4};
  uint32_t f[4];
  quantize_frequencies(w, 4, 16, f);
  EXPECT_NEAR(f[3], 32768, 2);
  EXPECT_NEAR(f[2], 16384, 2);
}

TEST(RangeCoder, RoundTripStaticSkewed) {
  std::mt19937 rng(11);
  const uint32_t w[8] = {1000, 300, 100, 50, 20, 5, 2, 1};
  uint32_t f[8], cum[9] = {0};
  quantize_frequencies(w, 8, 16, f);
  for (int i = 0; i < 8; ++i) cum[i + 1] = cum[i] + f[i];
  std::vector<int> syms(300000);
  for (auto& s : syms) {
    const uint32_t r = rng() & 0xffff;
    int k = 0;
    while (cum[k + 1] <= r) ++k;
    s = k;
  }
  std::vector<uint8_t> out;
  RangeEncoder enc(out);
  double ideal = 0;
  for (int s : syms) {
    enc.encode(cum[s], f[s], 65536);
    ideal += -std::log2(f[s] / 65536.0);
  }
  enc.flush();
  RangeDecoder dec(out.data(), out.size());
  for (size_t i = 0; i < syms.size(); ++i) {
    const uint32_t t = dec.decode_target(65536);
    int k = 0;
    while (cum[k + 1] <= t) ++k;
    dec.consume(cum[k], f[k]);
    ASSERT_EQ(k, syms[i]) << i;
  }
  EXPECT_FALSE(dec.corrupt());
  // Cost within 0.1% of the ideal -log2 p of the coded frequencies.
  EXPECT_LT(8.0 * out.size(), ideal * 1.001) << ideal;
}

TEST(RangeCoder, AdaptiveRoundTripRandomAndSkewed) {
  for (int skew = 0; skew < 2; ++skew) {
    std::mt19937 rng(21 + skew);
    std::vector<int> syms(200000);
    for (auto& s : syms) s = skew ? (rng() % 10 ? 0 : static_cast<int>(rng() % 256)) : static_cast<int>(rng() % 256);
    std::vector<uint8_t> out;
    RangeEncoder enc(out);
    AdaptiveFrequencies m(256);
    for (int s : syms) m.code(enc, s);
    enc.flush();
    RangeDecoder dec(out.data(), out.size());
    AdaptiveFrequencies d(256);
    for (size_t i = 0; i < syms.size(); ++i) ASSERT_EQ(d.code(dec), syms[i]) << i;
    EXPECT_FALSE(dec.corrupt());
    if (skew) {
      EXPECT_LT(out.size(), syms.size() * 8 / 10);
    } else {
      EXPECT_LT(out.size(), syms.size() * 101 / 100);  // adaptation noise on a flat source
    }
  }
}

TEST(RangeCoder, RawBitsAndEmpty) {
  std::vector<uint8_t> out;
  RangeEncoder enc(out);
  enc.flush();
  EXPECT_TRUE(out.empty());
  RangeEncoder enc2(out);
  for (uint32_t i = 0; i < 1000; ++i) enc2.encode_bits(i * 37 & 0xfff, 12);
  enc2.flush();
  RangeDecoder dec(out.data(), out.size());
  for (uint32_t i = 0; i < 1000; ++i) ASSERT_EQ(dec.decode_bits(12), i * 37 & 0xfff);
  EXPECT_FALSE(dec.corrupt());
}

TEST(RangeCoder, GarbageIsBounded) {
  std::mt19937 rng(9);
  for (int t = 0; t < 100; ++t) {
    std::vector<uint8_t> junk(rng() % 32);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    RangeDecoder dec(junk.data(), junk.size());
    AdaptiveFrequencies m(256);
    for (int i = 0; i < 10000 && !dec.corrupt(); ++i) {
      const int s = m.code(dec);
      ASSERT_GE(s, 0);
      ASSERT_LT(s, 256);
    }
  }
}

}  // namespace
}  // namespace sibyl
