#include "codecs/bytes/fast_cm.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sibyl {
namespace {

std::vector<uint8_t> sample_text(size_t n) {
  static const char* words[] = {"the ", "model ", "predicts ", "next ", "bit ", "and ", "coder ", "writes ", "it.\n", "of "};
  std::mt19937 rng(4);
  std::vector<uint8_t> v;
  while (v.size() < n) {
    const char* w = words[rng() % 10];
    v.insert(v.end(), w, w + std::char_traits<char>::length(w));
  }
  v.resize(n);
  return v;
}

FastCmConfig small_config() {
  FastCmConfig c;
  c.table_log = 12;
  c.match_log = 14;
  return c;
}

TEST(FastCm, RoundTripTextCompresses) {
  const auto in = sample_text(200000);
  std::vector<uint8_t> out;
  ASSERT_TRUE(fast_cm_encode(small_config(), in, out).ok());
  EXPECT_LT(out.size(), in.size() / 4);
  std::vector<uint8_t> back(in.size());
  ASSERT_TRUE(fast_cm_decode(small_config(), out, back).ok());
  EXPECT_EQ(back, in);
}

class FastCmLeanVariant : public ::testing::TestWithParam<uint8_t> {};

TEST_P(FastCmLeanVariant, RoundTrip) {
  const auto in = sample_text(100000);
  FastCmConfig c = small_config();
  c.variant = GetParam();
  std::vector<uint8_t> out, full;
  ASSERT_TRUE(fast_cm_encode(c, in, out).ok());
  ASSERT_TRUE(fast_cm_encode(small_config(), in, full).ok());
  EXPECT_NE(out, full);  // a different model, not an alias
  EXPECT_LT(out.size(), in.size() / 4);
  std::vector<uint8_t> back(in.size());
  ASSERT_TRUE(fast_cm_decode(c, out, back).ok());
  EXPECT_EQ(back, in);
  FastCmConfig r;
  ASSERT_TRUE(FastCmConfig::parse(c.serialize(), &r).ok());
  EXPECT_EQ(r.variant, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Variants, FastCmLeanVariant,
                         ::testing::Values(FastCmConfig::kVariantLean, FastCmConfig::kVariantLean124));

TEST(FastCm, LeanVariantsAreDifferentModels) {
  const auto in = sample_text(50000);
  FastCmConfig a = small_config(), b = small_config();
  a.variant = FastCmConfig::kVariantLean;
  b.variant = FastCmConfig::kVariantLean124;
  std::vector<uint8_t> za, zb;
  ASSERT_TRUE(fast_cm_encode(a, in, za).ok());
  ASSERT_TRUE(fast_cm_encode(b, in, zb).ok());
  EXPECT_NE(za, zb);
  EXPECT_LT(b.memory_bytes(), a.memory_bytes());  // one hashed order fewer
}

TEST(FastCm, RoundTripRandomAndTiny) {
  std::mt19937 rng(5);
  for (size_t n : {size_t(1), size_t(2), size_t(7), size_t(100), size_t(65536)}) {
    std::vector<uint8_t> in(n);
    for (auto& b : in) b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> out;
    ASSERT_TRUE(fast_cm_encode(small_config(), in, out).ok());
    std::vector<uint8_t> back(n);
    ASSERT_TRUE(fast_cm_decode(small_config(), out, back).ok());
    EXPECT_EQ(back, in) << n;
  }
}

TEST(FastCm, ConfigSerializeParse) {
  FastCmConfig c;
  c.table_log = 17;
  c.match_log = 21;
  FastCmConfig r;
  ASSERT_TRUE(FastCmConfig::parse(c.serialize(), &r).ok());
  EXPECT_EQ(r.table_log, 17);
  EXPECT_EQ(r.match_log, 21);
  std::vector<uint8_t> bad = {1, 30, 20};
  EXPECT_EQ(FastCmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  bad = {4, 17, 20};
  EXPECT_EQ(FastCmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  bad = {1, 17};
  EXPECT_EQ(FastCmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
}

TEST(FastCm, CorruptPayloadFailsOrDiffersButNeverCrashes) {
  const auto in = sample_text(20000);
  std::vector<uint8_t> out;
  ASSERT_TRUE(fast_cm_encode(small_config(), in, out).ok());
  std::mt19937 rng(6);
  for (int t = 0; t < 30; ++t) {
    auto bad = out;
    bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    std::vector<uint8_t> back(in.size());
    Status s = fast_cm_decode(small_config(), bad, back);
    (void)s;  // the block checksum catches what the coder cannot
  }
  // Truncated payloads are detected by the coder itself.
  std::vector<uint8_t> back(in.size());
  EXPECT_FALSE(fast_cm_decode(small_config(), {out.data(), out.size() / 2}, back).ok());
  // Bytes past the decoder's 4-byte look-ahead are rejected.
  auto longer = out;
  for (int i = 0; i < 5; ++i) longer.push_back(1);
  EXPECT_FALSE(fast_cm_decode(small_config(), longer, back).ok());
}

}  // namespace
}  // namespace sibyl
