#include "codecs/bytes/cm.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "codecs/bytes/x86_filter.h"
#include "codecs/text/text_state.h"
#include "model/bit_history.h"
#include "x86_sample.h"

namespace sibyl {
namespace {

std::vector<uint8_t> sample_text(size_t n, uint32_t seed = 4) {
  static const char* words[] = {"The ", "model ", "predicts ", "next ", "bit, ", "and ", "coder ", "writes ", "it.\n", "of "};
  std::mt19937 rng(seed);
  std::vector<uint8_t> v;
  while (v.size() < n) {
    const char* w = words[rng() % 10];
    v.insert(v.end(), w, w + std::char_traits<char>::length(w));
  }
  v.resize(n);
  return v;
}

// Fixed-width records with a counter and a checksum-like field: the record
// contexts find the period.
std::vector<uint8_t> sample_records(size_t n) {
  std::vector<uint8_t> v;
  for (uint32_t i = 0; v.size() < n; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "%08u,%05u,%c%c,field\n", i * 7, (i * 2654435761u) % 99991, 'A' + i % 26, 'a' + i % 7);
    v.insert(v.end(), line, line + std::char_traits<char>::length(line));
  }
  v.resize(n);
  return v;
}

// Every kind but order 24 (a mask names at most kCmMaxKinds).
constexpr uint32_t kAllKinds = ((1u << kCmContextKinds) - 1) & ~(1u << kCmOrder24);
static_assert(__builtin_popcount(kAllKinds) == kCmMaxKinds);

CmConfig config(uint32_t contexts = kAllKinds) {
  CmConfig c;
  c.table_log = 14;
  c.match_log = 14;
  c.contexts = contexts;
  return c;
}

std::vector<uint8_t> round_trip(const CmConfig& c, const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out;
  EXPECT_TRUE(cm_encode(c, in, out).ok());
  std::vector<uint8_t> back(in.size());
  EXPECT_TRUE(cm_decode(c, out, back).ok());
  EXPECT_EQ(back, in);
  return out;
}

TEST(BitHistory, TablesAreClosedAndCountsBounded) {
  const auto& t = bit_history::kTables;
  EXPECT_EQ(t.count, 166);
  EXPECT_EQ(t.n0[0] + t.n1[0], 0);
  for (int s = 0; s < t.count; ++s) {
    EXPECT_TRUE(bit_history::allowed(t.n0[s], t.n1[s]));
    for (int bit = 0; bit < 2; ++bit) {
      const int n = bit_history::next(s, bit);
      ASSERT_LT(n, t.count);
      // The count of the seen bit grows, except at its cap; the other never grows.
      const int before = bit ? t.n1[s] : t.n0[s], after = bit ? t.n1[n] : t.n0[n];
      EXPECT_TRUE(after > before || before == bit_history::kCaps[0]) << s << " " << bit;
      EXPECT_LE(bit ? t.n0[n] : t.n1[n], bit ? t.n0[s] : t.n1[s]);
    }
  }
  // A long run of ones ends in the state (0, 40); one zero then keeps only part of it.
  int s = 0;
  for (int i = 0; i < 100; ++i) s = bit_history::next(s, 1);
  EXPECT_EQ(t.n0[s], 0);
  EXPECT_EQ(t.n1[s], 40);
  s = bit_history::next(s, 0);
  EXPECT_EQ(t.n0[s], 1);
  EXPECT_LT(t.n1[s], 40);
}

TEST(Cm, RoundTripTextCompressesWell) {
  const auto in = sample_text(200000);
  const auto out = round_trip(config(), in);
  // 10 words drawn at random: about 3.3 bits per word of 5.5 bytes.
  EXPECT_LT(out.size(), in.size() / 12);
}

TEST(Cm, EveryContextKindAloneRoundTrips) {
  const auto text = sample_text(30000, 9);
  const auto recs = sample_records(30000);
  for (int k = 0; k < kCmContextKinds; ++k) {
    SCOPED_TRACE(k);
    round_trip(config(1u << k), text);
    round_trip(config(1u << k), recs);
  }
  round_trip(config(0), text);  // orders 0 and 1 and the match model only
}

TEST(Cm, ContextsChangeTheModel) {
  const auto recs = sample_records(60000);
  const auto all = round_trip(config(), recs);
  const auto no_record =
      round_trip(config(((1u << kCmContextKinds) - 1) & ~(1u << kCmRecord) & ~(1u << kCmRecordLast)), recs);
  EXPECT_NE(all, no_record);
  const auto low = round_trip(config(1u << kCmOrder2), recs);
  EXPECT_LT(all.size(), low.size());
}

TEST(Cm, RoundTripRandomAndTiny) {
  std::mt19937 rng(5);
  for (size_t n : {size_t(0), size_t(1), size_t(2), size_t(7), size_t(100), size_t(65536)}) {
    std::vector<uint8_t> in(n);
    for (auto& b : in) b = static_cast<uint8_t>(rng());
    round_trip(config(), in);
  }
  // Long runs and a binary pattern (state counts at their caps).
  std::vector<uint8_t> runs(100000, 0);
  for (size_t i = 50000; i < runs.size(); ++i) runs[i] = static_cast<uint8_t>((i % 3) * 85);
  round_trip(config(), runs);
}

TEST(Cm, ConfigSerializeParseFit) {
  CmConfig c = config(0x12345);
  c.table_log = 20;
  c.match_log = 21;
  CmConfig r;
  ASSERT_TRUE(CmConfig::parse(c.serialize(), &r).ok());
  EXPECT_EQ(r.table_log, 20);
  EXPECT_EQ(r.match_log, 21);
  EXPECT_EQ(r.contexts, 0x12345u);
  EXPECT_EQ(r.serialize(), c.serialize());
  const CmConfig f = c.fitted(10);
  EXPECT_EQ(f.table_log, CmConfig::kMinTableLog);
  EXPECT_LT(f.memory_bytes(), c.memory_bytes());
  EXPECT_EQ(c.fitted(size_t(1) << 30).table_log, 20);
  std::vector<uint8_t> bad = {1, 30, 20, 0, 0, 0};
  EXPECT_EQ(CmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  bad = {2, 20, 20, 0, 0, 0};  // version 2 needs its fourth mask byte and its mixer byte
  EXPECT_EQ(CmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  bad = {1, 20, 20, 0, 0, 0xff};  // unknown context bits
  EXPECT_EQ(CmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  bad = {1, 20, 20};
  EXPECT_EQ(CmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
}

// Version 2: every mixer mask round-trips; each extra weight set and each
// new kind changes the output, and together they make text smaller.
TEST(Cm, Version2MixerSetsAndKinds) {
  const auto text = sample_text(40000, 11);
  const auto recs = sample_records(20000);
  const uint32_t v1_kinds = (1u << kCmV1ContextKinds) - 1;
  CmConfig base = config(v1_kinds);
  const auto plain = round_trip(base, text);
  for (int bit = 0; bit <= kCmMixerBits; ++bit) {
    SCOPED_TRACE(bit);
    CmConfig c = base;
    c.mixer = static_cast<uint8_t>(bit < kCmMixerBits ? 1 << bit : (1 << kCmMixerBits) - 1);
    const auto out = round_trip(c, text);
    EXPECT_NE(out, plain);
    round_trip(c, recs);
  }
  for (int k : {kCmIndirect1, kCmIndirect2, kCmMatchByte, kCmWordSkip, kCmLineStart, kCmIndent, kCmX86Op, kCmX86Hist,
                kCmNest}) {
    SCOPED_TRACE(k);
    EXPECT_NE(round_trip(config(v1_kinds | 1u << k), text), plain);
  }
  CmConfig all = config((1u << (kCmMatchByte + 1)) - 1);  // (the line kinds do not pay on random words)
  all.mixer = (1 << kCmSetOrder2) | (1 << kCmSetText) | (1 << kCmSetSparse3);
  EXPECT_LT(round_trip(all, text).size(), plain.size());
  round_trip(all, recs);  // (on these tiny synthetic records the extra weights do not pay)
  // More weight sets need more memory; version 1 declares what it always did.
  EXPECT_GT(all.memory_bytes(), base.memory_bytes());
  CmConfig v1 = base;
  v1.version = 1;
  EXPECT_EQ(v1.memory_bytes(), (uint64_t(16) << 14) + (uint64_t(4) << 14) + 4547856);  // doc/format.md, codec 6
  EXPECT_EQ(all.memory_bytes(), (uint64_t(16) << 14) + (uint64_t(4) << 14) + 4706576 + 2 * (65536 * 64 + 64) + 8192 * 64 + 64);
  EXPECT_EQ(v1.serialize().size(), 6u);
  // The kinds from 26 on add a state map each (1,024 bytes), the x86 set
  // its vectors.
  CmConfig x = all;
  x.contexts |= 1u << kCmX86Op;
  x.mixer |= 1 << kCmSetX86;
  EXPECT_EQ(x.memory_bytes(), all.memory_bytes() + 1024 + 65536 * 64 + 64);
  x.contexts |= (1u << kCmX86Hist) | (1u << kCmNest);
  EXPECT_EQ(x.memory_bytes(), all.memory_bytes() + 3072 + 65536 * 64 + 64);
}

// The x86 kinds and weight set: on machine code they make the output
// smaller; the parser follows the bytes of the block the same way on both
// sides whatever they are (text, records).
TEST(Cm, X86KindsAndSet) {
  const auto code = test::x86_sample(60000, 7);
  const auto text = sample_text(20000, 13);
  CmConfig base = config((1u << kCmOrder2) | (1u << kCmOrder3) | (1u << kCmOrder4) | (1u << kCmSparse23));
  base.mixer = (1 << kCmSetOrder2) | (1 << kCmSetDropFound) | (1 << kCmSetWideFirst);
  CmConfig x = base;
  x.contexts |= (1u << kCmX86Op) | (1u << kCmX86Hist);
  x.mixer = (1 << kCmSetX86) | (1 << kCmSetDropFound) | (1 << kCmSetWideFirst);
  const size_t plain = round_trip(base, code).size(), with = round_trip(x, code).size();
  EXPECT_LT(with * 100, plain * 97) << plain << " " << with;
  for (uint8_t mixer : {uint8_t(1 << kCmSetX86), uint8_t((1 << kCmMixerBits) - 1)}) {
    CmConfig c = base;
    c.mixer = mixer;
    EXPECT_NE(round_trip(c, code).size(), plain);
    round_trip(c, text);
  }
  round_trip(x, text);
  round_trip(x, sample_records(20000));
}

// Version 1 parameters code exactly as version 2 with no extra sets or
// kinds: archives written before version 2 decode with the same model.
TEST(Cm, Version1IsVersion2WithoutTheNewParts) {
  const auto text = sample_text(40000, 12);
  CmConfig v2 = config((1u << kCmV1ContextKinds) - 1);
  CmConfig v1 = v2;
  v1.version = 1;
  std::vector<uint8_t> a, b;
  ASSERT_TRUE(cm_encode(v1, text, a).ok());
  ASSERT_TRUE(cm_encode(v2, text, b).ok());
  EXPECT_EQ(a, b);
  CmConfig r;
  ASSERT_TRUE(CmConfig::parse(v1.serialize(), &r).ok());
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(r.mixer, 0);
  // Version 1 cannot name the new kinds nor carry a mixer byte.
  std::vector<uint8_t> bad = {1, 20, 20, 0, 0, 0x10};  // kind 20
  EXPECT_EQ(CmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  bad = {1, 20, 20, 0, 0, 0, 0, 0};
  EXPECT_EQ(CmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  bad = {2, 20, 20, 0, 0, 0xf0, 0x03, 0x1f};  // kinds 20-25, every mixer bit: fine
  EXPECT_TRUE(CmConfig::parse(bad, &r).ok());
  EXPECT_EQ(r.contexts, 0x3f00000u);
  EXPECT_EQ(r.mixer, 0x1f);
  EXPECT_EQ(r.serialize(), bad);
  bad = {2, 20, 20, 0, 0, 0, 0x0c, 0x20};  // the x86 kinds 26-27 and mixer bit 5: fine
  EXPECT_TRUE(CmConfig::parse(bad, &r).ok());
  bad = {2, 20, 20, 0, 0, 0, 0x1c, 0x20};  // ... and nesting (kind 28)
  EXPECT_TRUE(CmConfig::parse(bad, &r).ok());
  bad = {2, 20, 20, 0, 0, 0, 0x20, 0};  // kind 29
  EXPECT_EQ(CmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  bad = {2, 20, 20, 0xff, 0xff, 0xff, 0x1f, 0};  // 29 kinds: one too many
  EXPECT_EQ(CmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  CmConfig too_many = v2;
  too_many.contexts = (1u << kCmContextKinds) - 1;
  std::vector<uint8_t> z;
  EXPECT_EQ(cm_encode(too_many, text, z).code(), ErrorCode::kBadParameters);
  bad = {2, 20, 20, 0, 0, 0, 0, 0x40};  // mixer bit 6
  EXPECT_EQ(CmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  bad = {2, 20, 20, 0, 0, 0, 0};  // 7 bytes
  EXPECT_EQ(CmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  bad = {3, 20, 20, 0, 0, 0, 0, 0};
  EXPECT_EQ(CmConfig::parse(bad, &r).code(), ErrorCode::kBadParameters);
  EXPECT_EQ(CmConfig::parse({}, &r).code(), ErrorCode::kBadParameters);
}

TEST(Cm, CorruptPayloadFailsOrDiffersButNeverCrashes) {
  const auto in = sample_text(20000);
  std::vector<uint8_t> out;
  ASSERT_TRUE(cm_encode(config(), in, out).ok());
  std::mt19937 rng(6);
  for (int t = 0; t < 30; ++t) {
    auto bad = out;
    bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    std::vector<uint8_t> back(in.size());
    Status s = cm_decode(config(), bad, back);
    (void)s;  // the block checksum catches what the coder cannot
  }
  std::vector<uint8_t> back(in.size());
  EXPECT_FALSE(cm_decode(config(), {out.data(), out.size() / 2}, back).ok());
  auto longer = out;
  for (int i = 0; i < 5; ++i) longer.push_back(1);
  EXPECT_FALSE(cm_decode(config(), longer, back).ok());
}

// Code-like bytes: calls (E8) and jumps (E9) to a few targets from many
// places, with filler between, and opcodes overlapping displacements.
std::vector<uint8_t> sample_code(size_t n, uint32_t seed, bool overlaps = true) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v;
  const uint32_t targets[] = {0x1000, 0x2345, 0x80000, 0x1ffffff0, 0xfff00000};
  while (v.size() + 16 < n) {
    const uint32_t r = rng();
    if (r % 4 == 0) {
      v.push_back(r & 8 ? 0xe8 : 0xe9);
      const uint32_t d = targets[r / 4 % 5] - static_cast<uint32_t>(v.size() + 4);
      for (int k = 0; k < 4; ++k) v.push_back(static_cast<uint8_t>(d >> (8 * k)));
    } else if (r % 4 == 1 && overlaps) {
      v.insert(v.end(), {0xe8, 0xe8, 0xe9, 0x00, 0xff, 0xe8, 0xff});  // overlapping opcodes
    } else {
      for (int k = 0; k < 3; ++k) v.push_back(static_cast<uint8_t>(rng() % 8 ? 0x48 + k : rng()));
    }
  }
  v.resize(n);
  return v;
}

TEST(X86Filter, InverseRestoresEveryByte) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::vector<uint8_t> in = sample_code(5000 + seed * 37, seed);
    if (seed % 3 == 0) {
      std::mt19937 rng(seed);
      for (auto& b : in) b = static_cast<uint8_t>(rng() % 4 ? 0xe8 + rng() % 2 : rng() % 2 * 0xff);  // hostile
    }
    std::vector<uint8_t> t = in;
    x86::transform(t, true);
    if (seed % 3 != 0) {
      EXPECT_NE(t, in);
    }
    x86::transform(t, false);
    EXPECT_EQ(t, in) << seed;
  }
  for (size_t n = 0; n < 12; ++n) {  // shorter than a displacement at the end
    std::vector<uint8_t> in(n, 0xe8), t = in;
    x86::transform(t, true);
    x86::transform(t, false);
    EXPECT_EQ(t, in);
  }
}

TEST(X86Filter, DetectionAndCodecUse) {
  const auto code = sample_code(100000, 7, false);
  EXPECT_TRUE(x86::looks_like_x86(code));
  EXPECT_FALSE(x86::looks_like_x86(sample_text(100000)));
  std::mt19937 rng(8);
  std::vector<uint8_t> noise(100000);
  for (auto& b : noise) b = static_cast<uint8_t>(rng());
  EXPECT_FALSE(x86::looks_like_x86(noise));
  // The codec applies it (payload flag) and the round trip is exact; it
  // makes the payload smaller.
  const auto with = round_trip(config(), code);
  ASSERT_FALSE(with.empty());
  EXPECT_EQ(with[0], 1);
  cm_tuning().x86 = 0;
  const auto without = round_trip(config(), code);
  cm_tuning().x86 = 1;
  EXPECT_EQ(without[0], 0);
  EXPECT_LT(with.size(), without.size());
  // Unknown flags are refused.
  auto bad = with;
  bad[0] = 2;
  std::vector<uint8_t> back(code.size());
  EXPECT_EQ(cm_decode(config(), bad, back).code(), ErrorCode::kCorrupt);
  EXPECT_EQ(cm_decode(config(), {}, back).code(), ErrorCode::kCorrupt);
}

// The nesting that kind 28 sees: braces and parentheses outside comments
// and strings, the comment and string states.
TEST(TextNesting, FollowsBracesCommentsAndStrings) {
  text::Nesting n;
  auto feed = [&](const char* s) {
    for (; *s; ++s) n.push(static_cast<uint8_t>(*s));
  };
  feed("int f(int a) {");
  EXPECT_EQ(n.brace, 1u);
  EXPECT_EQ(n.paren, 0u);
  feed(" /* { ( */ if (a");
  EXPECT_EQ(n.brace, 1u);
  EXPECT_EQ(n.paren, 1u);
  EXPECT_EQ(n.comment, 0);
  feed(") { s = \"{ (\\\" }\"; c = '}';");
  EXPECT_EQ(n.brace, 2u);
  EXPECT_EQ(n.paren, 0u);
  EXPECT_EQ(n.quote, 0);
  feed(" // } {");
  EXPECT_EQ(n.comment, 1);
  EXPECT_EQ(n.state(), 2u | 1u << 6);
  feed("\n  x = \"");
  EXPECT_EQ(n.comment, 0);
  EXPECT_EQ(n.quote, '"');
  EXPECT_EQ(n.state(), 2u | 1u << 8);
  feed("\n}}}}");  // a string ends at the line's end; depth never goes below 0
  EXPECT_EQ(n.brace, 0u);
  feed("/* a");
  EXPECT_EQ(n.comment, 2);
  feed(" */(((((");
  EXPECT_EQ(n.state(), 3u << 4);
  feed("\n");
  EXPECT_EQ(n.state(), 0u);
}

}  // namespace
}  // namespace sibyl
