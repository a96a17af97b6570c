#include "format/container.h"

#include <gtest/gtest.h>

#include "common/checksum.h"

namespace sibyl::format {
namespace {

TEST(Container, FrameHeaderRoundTrip) {
  FrameHeader h;
  h.block_log = 20;
  h.level = 7;
  h.memory_kib = 123456;
  std::vector<uint8_t> buf;
  write_frame_header(h, buf);
  ASSERT_EQ(buf.size(), kFrameHeaderSize);
  EXPECT_EQ(buf[0], 0x8E);
  EXPECT_EQ(buf[1], 'S');
  FrameHeader r;
  ASSERT_TRUE(parse_frame_header(buf, &r).ok());
  EXPECT_EQ(r.block_log, 20);
  EXPECT_EQ(r.level, 7);
  EXPECT_EQ(r.memory_kib, 123456u);
}

TEST(Container, FrameHeaderRejections) {
  FrameHeader h;
  std::vector<uint8_t> good;
  write_frame_header(h, good);
  FrameHeader r;
  auto v = good;
  v[0] ^= 1;
  EXPECT_EQ(parse_frame_header(v, &r).code(), ErrorCode::kNotSibyl);
  v = good;
  v[4] = 2;  // newer version: named in the error, checked before the check field
  Status s = parse_frame_header(v, &r);
  EXPECT_EQ(s.code(), ErrorCode::kUnsupportedVersion);
  EXPECT_NE(s.message().find("version 2"), std::string::npos) << s.message();
  for (size_t i = 5; i < kFrameHeaderSize; ++i) {
    v = good;
    v[i] ^= 0x10;
    EXPECT_EQ(parse_frame_header(v, &r).code(), ErrorCode::kCorrupt) << i;
  }
  EXPECT_EQ(parse_frame_header({good.data(), 10}, &r).code(), ErrorCode::kTruncated);
  // Valid check: flag bit 0 (PNG pixels) is known, the others are not.
  for (uint8_t flags = 1; flags != 0; flags = static_cast<uint8_t>(flags << 1)) {
    FrameHeader f;
    f.flags = flags;
    std::vector<uint8_t> w;
    write_frame_header(f, w);
    const Status fs = parse_frame_header(w, &r);
    if (flags == kFlagPngPixels) {
      ASSERT_TRUE(fs.ok()) << fs.message();
      EXPECT_EQ(r.flags, kFlagPngPixels);
    } else {
      EXPECT_EQ(fs.code(), ErrorCode::kCorrupt) << int(flags);
    }
  }
  // Valid check but bad values.
  for (uint8_t bl : {uint8_t(9), uint8_t(31)}) {
    FrameHeader b;
    b.block_log = bl;
    std::vector<uint8_t> w;
    write_frame_header(b, w);
    EXPECT_EQ(parse_frame_header(w, &r).code(), ErrorCode::kCorrupt);
  }
}

TEST(Container, BlockHeaderRoundTripAndLimits) {
  BlockHeader h;
  h.codec = 1;
  h.params = {1, 2, 3};
  h.original_size = 1000;
  h.coded_size = 900;
  h.original_hash = 0x1122334455667788ull;
  std::vector<uint8_t> buf;
  write_block_header(h, buf);
  ASSERT_EQ(buf.size(), h.encoded_size());
  ASSERT_EQ(block_header_size(buf), buf.size());
  BlockHeader r;
  ASSERT_TRUE(parse_block_header(buf, 10, &r).ok());
  EXPECT_EQ(r.codec, 1);
  EXPECT_EQ(r.params, h.params);
  EXPECT_EQ(r.original_hash, h.original_hash);
  EXPECT_EQ(parse_block_header(buf, 9, &r).code(), ErrorCode::kCorrupt);  // 1000 > 2^9
  for (size_t i = 1; i < buf.size(); ++i) {
    if (i == 3) continue;  // the params length changes the header size itself
    auto v = buf;
    v[i] ^= 4;
    EXPECT_EQ(parse_block_header(v, 24, &r).code(), ErrorCode::kCorrupt) << i;
  }
  h.coded_size = 1001;
  buf.clear();
  write_block_header(h, buf);
  EXPECT_EQ(parse_block_header(buf, 24, &r).code(), ErrorCode::kCorrupt);
  h.coded_size = 0;
  h.original_size = 0;
  buf.clear();
  write_block_header(h, buf);
  EXPECT_EQ(parse_block_header(buf, 24, &r).code(), ErrorCode::kCorrupt);
}

TEST(Container, EndRecordAndFooter) {
  EndRecord e;
  e.content_hash = 42;
  e.content_size = 7;
  e.index = {{1, 5, 3}, {0, 2, 2}};
  std::vector<uint8_t> buf;
  write_end_record(e, buf);
  ASSERT_EQ(buf.size(), e.encoded_size());
  EXPECT_EQ(end_record_count(buf), 2u);
  EndRecord r;
  ASSERT_TRUE(parse_end_record(buf, &r).ok());
  ASSERT_EQ(r.index.size(), 2u);
  EXPECT_EQ(r.index[0].original_size, 5u);
  buf[10] ^= 1;
  EXPECT_EQ(parse_end_record(buf, &r).code(), ErrorCode::kCorrupt);

  std::vector<uint8_t> f;
  write_footer({1234, 45}, f);
  ASSERT_EQ(f.size(), kFooterSize);
  Footer rf;
  ASSERT_TRUE(parse_footer(f, &rf).ok());
  EXPECT_EQ(rf.frame_size, 1234u);
  EXPECT_EQ(rf.end_size, 45u);
  f[15] ^= 1;
  EXPECT_EQ(parse_footer(f, &rf).code(), ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace sibyl::format
