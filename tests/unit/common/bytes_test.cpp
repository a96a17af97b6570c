#include "common/bytes.h"

#include <gtest/gtest.h>

#include "common/checksum.h"

namespace sibyl {
namespace {

TEST(Bytes, WriterReaderRoundTrip) {
  std::vector<uint8_t> buf;
  ByteWriter w(buf);
  w.u8(0xab);
  w.u16(0x1234);
  w.u32(0xdeadbeef);
  w.u64(0x0102030405060708ull);
  ASSERT_EQ(buf.size(), 15u);
  EXPECT_EQ(buf[1], 0x34);  // little-endian
  EXPECT_EQ(buf[2], 0x12);
  ByteReader r(buf.data(), buf.size());
  EXPECT_EQ(r.u8(), 0xab);
  EXPECT_EQ(r.u16(), 0x1234);
  EXPECT_EQ(r.u32(), 0xdeadbeefu);
  EXPECT_EQ(r.u64(), 0x0102030405060708ull);
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.u8(), 0);
  EXPECT_TRUE(r.failed());
}

TEST(Checksum, Xxh64KnownValuesAndStreaming) {
  // XXH64 of the empty input with seed 0.
  EXPECT_EQ(xxh64("", 0), 0xEF46DB3751D8E999ull);
  std::vector<uint8_t> data(100000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + (i >> 7));
  Xxh64Stream s;
  s.update(data.data(), 1);
  s.update(data.data() + 1, 4095);
  s.update(data.data() + 4096, data.size() - 4096);
  EXPECT_EQ(s.digest(), xxh64(data.data(), data.size()));
}

}  // namespace
}  // namespace sibyl
