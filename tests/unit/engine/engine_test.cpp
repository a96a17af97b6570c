#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "common/bytes.h"
#include "common/checksum.h"
#include "engine/decoder.h"
#include "engine/encoder.h"
#include "engine/listing.h"
#include "format/container.h"

namespace sibyl {
namespace {

std::vector<uint8_t> mixed_data(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v;
  while (v.size() < n) {
    if (rng() % 3 == 0) {
      for (int i = 0; i < 50; ++i) v.push_back(static_cast<uint8_t>(rng()));
    } else {
      const char* s = "context mixing predicts the next bit; ";
      v.insert(v.end(), s, s + std::strlen(s));
    }
  }
  v.resize(n);
  return v;
}

std::vector<uint8_t> compress(const std::vector<uint8_t>& in, int level, int threads, int block_log = 0) {
  EncodeOptions o;
  o.level = level;
  o.threads = threads;
  o.block_log = block_log;
  std::vector<uint8_t> out;
  Status s = compress_buffer(in, o, out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

Status decompress(const std::vector<uint8_t>& in, std::vector<uint8_t>& out, int threads = 1, uint64_t limit = kDefaultMemoryLimit) {
  DecodeOptions o;
  o.threads = threads;
  o.memory_limit = limit;
  return decompress_buffer(in, o, out);
}

TEST(Engine, RoundTripSizes) {
  for (size_t n : {size_t(0), size_t(1), size_t(1000), size_t(100000)}) {
    const auto in = mixed_data(n, 1);
    const auto z = compress(in, 1, 1);
    std::vector<uint8_t> back;
    ASSERT_TRUE(decompress(z, back).ok()) << n;
    EXPECT_EQ(back, in);
  }
}

TEST(Engine, SameBytesForEveryThreadCount) {
  const auto in = mixed_data(50000, 2);
  const auto z1 = compress(in, 2, 1, 12);  // 4 KiB blocks: 13 of them
  for (int t : {2, 3, 8}) EXPECT_EQ(compress(in, 2, t, 12), z1) << t;
  EXPECT_EQ(compress(in, 2, 1, 12), z1);  // and twice the same
  for (int t : {1, 2, 5}) {
    std::vector<uint8_t> back;
    ASSERT_TRUE(decompress(z1, back, t).ok());
    EXPECT_EQ(back, in);
  }
}

TEST(Engine, IncompressibleDataIsStoredWithBoundedGrowth) {
  std::mt19937 rng(3);
  std::vector<uint8_t> in(100000);
  for (auto& b : in) b = static_cast<uint8_t>(rng());
  const auto z = compress(in, 1, 1, 14);  // 7 blocks
  const size_t blocks = (in.size() + (1 << 14) - 1) >> 14;
  const size_t overhead = format::kFrameHeaderSize + blocks * format::kBlockHeaderFixedSize + format::kEndFixedSize +
                          blocks * format::kIndexEntrySize + format::kFooterSize;
  EXPECT_LE(z.size(), in.size() + overhead);
  std::vector<uint8_t> back;
  ASSERT_TRUE(decompress(z, back).ok());
  EXPECT_EQ(back, in);
}

TEST(Engine, ConcatenatedFramesDecodeAsOneStream) {
  const auto a = mixed_data(3000, 4), b = mixed_data(5000, 5);
  auto z = compress(a, 1, 1);
  const auto zb = compress(b, 3, 1);
  z.insert(z.end(), zb.begin(), zb.end());
  std::vector<uint8_t> back;
  ASSERT_TRUE(decompress(z, back).ok());
  auto ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  EXPECT_EQ(back, ab);
  z.push_back(0);
  EXPECT_EQ(decompress(z, back).code(), ErrorCode::kCorrupt);  // trailing garbage
}

TEST(Engine, EveryTruncationFails) {
  const auto in = mixed_data(3000, 6);
  const auto z = compress(in, 1, 1, 10);
  for (size_t n = 0; n < z.size(); ++n) {
    std::vector<uint8_t> cut(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(n)), back;
    EXPECT_FALSE(decompress(cut, back).ok()) << n;
  }
}

TEST(Engine, EveryByteCorruptionFailsOrIsExact) {
  const auto in = mixed_data(2000, 7);
  const auto z = compress(in, 1, 1, 10);
  for (size_t i = 0; i < z.size(); ++i) {
    for (uint8_t flip : {uint8_t(0x01), uint8_t(0x80)}) {
      auto bad = z;
      bad[i] ^= flip;
      std::vector<uint8_t> back;
      Status s = decompress(bad, back);
      if (s.ok()) {
        EXPECT_EQ(back, in) << "silent wrong output, byte " << i;
      }
    }
  }
}

TEST(Engine, UnknownCodecAndVersionAreNamed) {
  const auto in = mixed_data(1000, 8);
  auto z = compress(in, 1, 1);
  // Patch the first block's codec id and fix its header check.
  const size_t b = format::kFrameHeaderSize;
  store_le16(&z[b + 1], 77);
  const size_t hsize = format::block_header_size({&z[b], 4});
  store_le32(&z[b + hsize - 4], header_check(&z[b], hsize - 4));
  std::vector<uint8_t> back;
  Status s = decompress(z, back);
  EXPECT_EQ(s.code(), ErrorCode::kUnknownCodec);
  EXPECT_NE(s.message().find("77"), std::string::npos) << s.message();

  auto v = compress(in, 1, 1);
  v[4] = 9;
  s = decompress(v, back);
  EXPECT_EQ(s.code(), ErrorCode::kUnsupportedVersion);
  EXPECT_NE(s.message().find("9"), std::string::npos);
}

TEST(Engine, MemoryLimitIsCheckedBeforeDecoding) {
  const auto z = compress(mixed_data(1000, 9), 9, 1);
  std::vector<uint8_t> back;
  Status s = decompress(z, back, 1, 1 << 20);
  EXPECT_EQ(s.code(), ErrorCode::kMemoryLimit);
  EXPECT_TRUE(back.empty());
}

TEST(Engine, NotAnArchive) {
  std::vector<uint8_t> back;
  EXPECT_EQ(decompress({}, back).code(), ErrorCode::kNotSibyl);
  EXPECT_EQ(decompress({'h', 'e', 'l', 'l', 'o'}, back).code(), ErrorCode::kNotSibyl);
}

class SpanRandomAccess : public RandomAccessSource {
 public:
  explicit SpanRandomAccess(const std::vector<uint8_t>& d) : d_(d) {}
  uint64_t size() const override { return d_.size(); }
  Status read_at(uint64_t off, uint8_t* buf, size_t n) override {
    if (off + n > d_.size()) return Error(ErrorCode::kTruncated, "past end");
    std::memcpy(buf, d_.data() + off, n);
    return Status::Ok();
  }

 private:
  const std::vector<uint8_t>& d_;
};

TEST(Listing, ReadsIndexOfEveryFrame) {
  const auto a = mixed_data(30000, 10);
  auto z = compress(a, 1, 1, 13);
  const auto z2 = compress(a, 4, 1);
  z.insert(z.end(), z2.begin(), z2.end());
  SpanRandomAccess src(z);
  std::vector<FrameListing> frames;
  ASSERT_TRUE(list_archive(src, &frames).ok());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].end.index.size(), 4u);
  EXPECT_EQ(frames[0].end.content_size, a.size());
  EXPECT_EQ(frames[1].header.level, 4);
  EXPECT_EQ(frames[1].offset + frames[1].frame_size, z.size());
  EXPECT_GT(frames[1].header.memory_kib, 0u);
  z.pop_back();
  SpanRandomAccess bad(z);
  EXPECT_FALSE(list_archive(bad, &frames).ok());
}

TEST(Listing, ContentSizeMustMatchTheIndex) {
  // A well-formed frame with no blocks whose end record claims 1 TiB: a
  // caller sizing its buffer by the listing must not be told 1 TiB.
  std::vector<uint8_t> z;
  format::FrameHeader fh;
  fh.block_log = 16;
  fh.level = 1;
  fh.memory_kib = 1024;
  format::write_frame_header(fh, z);
  format::EndRecord end;
  end.content_size = uint64_t(1) << 40;
  std::vector<uint8_t> tail;
  format::write_end_record(end, tail);
  const uint32_t end_size = static_cast<uint32_t>(tail.size());
  format::write_footer({z.size() + tail.size() + format::kFooterSize, end_size}, tail);
  z.insert(z.end(), tail.begin(), tail.end());
  SpanRandomAccess src(z);
  std::vector<FrameListing> frames;
  const Status s = list_archive(src, &frames);
  EXPECT_EQ(s.code(), ErrorCode::kCorrupt) << s.message();
  std::vector<uint8_t> out;
  EXPECT_EQ(decompress_buffer(z, DecodeOptions{}, out).code(), ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace sibyl
