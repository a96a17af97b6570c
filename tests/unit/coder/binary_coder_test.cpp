#include "coder/binary_coder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace sibyl {
namespace {

struct Stream {
  std::vector<int> bits;
  std::vector<uint32_t> probs;
};

Stream make_stream(size_t n, uint32_t seed, bool skewed) {
  std::mt19937 rng(seed);
  Stream s;
  for (size_t i = 0; i < n; ++i) {
    uint32_t p = skewed ? (rng() % 2 ? 1 + rng() % 200 : 65535 - rng() % 200) : 1 + rng() % 65535;
    s.probs.push_back(p);
    // Draw the bit from p so the stream matches its model.
    s.bits.push_back((rng() & 0xffff) < p ? 1 : 0);
  }
  return s;
}

void round_trip(const Stream& s) {
  std::vector<uint8_t> out;
  BinaryEncoder enc(out);
  for (size_t i = 0; i < s.bits.size(); ++i) enc.code(s.bits[i], s.probs[i]);
  enc.flush();
  BinaryDecoder dec(out.data(), out.size());
  for (size_t i = 0; i < s.bits.size(); ++i) ASSERT_EQ(dec.code(0, s.probs[i]), s.bits[i]) << "bit " << i;
  EXPECT_FALSE(dec.overrun());
  EXPECT_TRUE(dec.exhausted());
}

TEST(BinaryCoder, RoundTripRandom) { round_trip(make_stream(200000, 1, false)); }
TEST(BinaryCoder, RoundTripSkewed) { round_trip(make_stream(200000, 2, true)); }
TEST(BinaryCoder, RoundTripExtremeProbabilities) {
  Stream s;
  for (int i = 0; i < 50000; ++i) {
    s.probs.push_back(i % 3 ? 1 : 65535);
    s.bits.push_back(i % 7 == 0);  // often the unlikely bit
  }
  round_trip(s);
}
TEST(BinaryCoder, EmptyAndShortStreams) {
  for (size_t n = 0; n < 40; ++n) round_trip(make_stream(n, static_cast<uint32_t>(n), n % 2));
}

TEST(BinaryCoder, CostWithinTenthOfPercentOfIdeal) {
  // Stationary source: P(1) = 0.2, coded with its true probability.
  std::mt19937 rng(7);
  const uint32_t p1 = 13107;  // 0.2 * 65536
  const size_t n = 2000000;
  std::vector<uint8_t> out;
  BinaryEncoder enc(out);
  double ideal = 0;
  for (size_t i = 0; i < n; ++i) {
    const int bit = (rng() & 0xffff) < p1;
    ideal += -std::log2(bit ? p1 / 65536.0 : 1 - p1 / 65536.0);
    enc.code(bit, p1);
  }
  enc.flush();
  const double actual = 8.0 * out.size();
  EXPECT_LT(actual, ideal * 1.001) << "ideal " << ideal << " actual " << actual;
  EXPECT_GT(actual, ideal * 0.99);
}

TEST(BinaryCoder, GarbageNeverCrashes) {
  std::mt19937 rng(3);
  for (int t = 0; t < 100; ++t) {
    std::vector<uint8_t> junk(rng() % 64);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    BinaryDecoder dec(junk.data(), junk.size());
    for (int i = 0; i < 5000 && !dec.overrun(); ++i) dec.code(0, 1 + rng() % 65535);
    SUCCEED();
  }
}

}  // namespace
}  // namespace sibyl
