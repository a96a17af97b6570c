// Image codec (id 5): PNM/PAM detection, raw images, every channel count
// and depth, partial rows, values above maxval, histogram packing, the
// match model, hostile payloads, and the same bytes for any thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "codecs/codec.h"
#include "codecs/container/tar_layout.h"
#include "codecs/image/image_codec.h"
#include "codecs/image/pnm.h"
#include "engine/decoder.h"
#include "engine/encoder.h"
#include "engine/listing.h"
#include "vector_source.h"
#include "../../image/image_sample.h"

namespace sibyl::image {
namespace {

using test::ImageSpec;
using test::make_pixels;
using test::make_pnm;

using test::VectorSource;

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// Compresses, decompresses, compares bytes; returns the archive.
std::vector<uint8_t> roundtrip(const std::vector<uint8_t>& in, EncodeOptions o = {}) {
  std::vector<uint8_t> z;
  Status s = compress_buffer(in, o, z);
  EXPECT_TRUE(s.ok()) << s.message();
  std::vector<uint8_t> back;
  s = decompress_buffer(z, DecodeOptions{}, back);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(back == in);
  return z;
}

bool has_image_block(const std::vector<uint8_t>& z) {
  VectorSource src(z);
  std::vector<FrameListing> frames;
  EXPECT_TRUE(list_archive(src, &frames).ok());
  for (const auto& f : frames)
    for (const auto& e : f.end.index)
      if (e.codec == kCodecImage) return true;
  return false;
}

// A ustar archive of the given members (name, data), as tar writes it.
std::vector<uint8_t> make_tar(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& members) {
  std::vector<uint8_t> t;
  for (const auto& [name, data] : members) {
    uint8_t h[512] = {};
    std::memcpy(h, name.data(), std::min<size_t>(name.size(), 99));
    std::snprintf(reinterpret_cast<char*>(h + 100), 8, "%07o", 0644);
    std::snprintf(reinterpret_cast<char*>(h + 108), 8, "%07o", 0);
    std::snprintf(reinterpret_cast<char*>(h + 116), 8, "%07o", 0);
    std::snprintf(reinterpret_cast<char*>(h + 124), 12, "%011o", static_cast<unsigned>(data.size()));
    std::snprintf(reinterpret_cast<char*>(h + 136), 12, "%011o", 1700000000u);
    h[156] = '0';
    std::memcpy(h + 257, "ustar\0" "00", 8);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (uint8_t b : h) sum += b;
    std::snprintf(reinterpret_cast<char*>(h + 148), 8, "%06o", sum);
    t.insert(t.end(), h, h + 512);
    t.insert(t.end(), data.begin(), data.end());
    t.resize((t.size() + 511) / 512 * 512, 0);
  }
  t.resize(t.size() + 1024, 0);
  return t;
}

std::vector<uint8_t> text_bytes(size_t n) {
  static const char* words[] = {"image ", "rows ", "are ", "coded ", "by ", "the ", "model.\n"};
  std::vector<uint8_t> v;
  for (size_t i = 0; v.size() < n; ++i) {
    const char* w = words[(i * 7 + i / 5) % 7];
    v.insert(v.end(), w, w + std::strlen(w));
  }
  v.resize(n);
  return v;
}

TEST(ImageTar, ImagesInsideATarAreFound) {
  ImageSpec a, b;
  a.width = 120, a.height = 80;
  b.width = 64, b.height = 50, b.channels = 1, b.seed = 3;
  const auto pa = make_pnm(a), pb = make_pnm(b);
  const auto t = make_tar({{"README", text_bytes(700)}, {"a.ppm", pa}, {"b.pgm", pb}});
  const tensor::Layout l = tar::detect_tar(t);
  ASSERT_EQ(l.regions.size(), 2u);
  EXPECT_EQ(l.container, "tar");
  EXPECT_EQ(l.regions[0].width, 120u);
  EXPECT_EQ(l.regions[0].bytes, 120u * 80 * 3);
  EXPECT_EQ(l.regions[1].width, 64u);
  // The region starts right after the member's PNM header.
  EXPECT_EQ(0, std::memcmp(&t[l.regions[0].offset], &pa[pa.size() - 120 * 80 * 3], 64));
  const auto z = roundtrip(t);
  EXPECT_TRUE(has_image_block(z));
  EncodeOptions o;
  o.kind = DataKind::kBytes;
  EXPECT_LT(z.size(), roundtrip(t, o).size());
  // Blocks cut inside the images: the same archive for any thread count.
  std::vector<uint8_t> first;
  for (int threads : {1, 3}) {
    EncodeOptions ot;
    ot.threads = threads;
    ot.block_log = 14;
    const auto zt = roundtrip(t, ot);
    EXPECT_TRUE(has_image_block(zt));
    if (threads == 1) first = zt;
    else EXPECT_EQ(zt, first);
  }
}

TEST(ImageTar, MostlyTextTarsStayWithTheByteModelAndBadHeadersAreBytes) {
  ImageSpec a;
  a.width = 40, a.height = 30;
  const auto t = make_tar({{"a.ppm", make_pnm(a)}, {"notes.txt", text_bytes(200000)}});
  ASSERT_FALSE(tar::detect_tar(t).empty());
  const auto z = roundtrip(t);
  EXPECT_FALSE(has_image_block(z));  // the byte model codes the whole block smaller
  // A damaged checksum, a size that is not octal, a truncated archive:
  // no regions (or fewer), never a failure.
  auto bad = t;
  bad[148] = '9';
  EXPECT_TRUE(tar::detect_tar(bad).empty());
  roundtrip(bad);
  auto bad_size = t;
  bad_size[124] = 'x';
  EXPECT_TRUE(tar::detect_tar(bad_size).empty());
  for (size_t cut : {size_t(100), size_t(600), size_t(3000), t.size() - 700}) {
    const std::vector<uint8_t> part(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(cut));
    (void)tar::detect_tar(part);
    roundtrip(part);
  }
  EXPECT_TRUE(tar::detect_tar(text_bytes(5000)).empty());
}

// ---- detection ------------------------------------------------------------------

TEST(ImagePnm, FindsThePixelsOfEveryHeader) {
  struct Case {
    std::string header;
    uint32_t width, channels, maxval;
    uint64_t rows;
  } cases[] = {
      {"P5\n3 2\n255\n", 3, 1, 255, 2},
      {"P6 # c\n# more\n 10\t4\r\n65535\n", 10, 3, 65535, 4},
      {"P5\n7 1\n1\n", 7, 1, 1, 1},
      {"P7\nWIDTH 5\nHEIGHT 6\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", 5, 4, 255, 6},
      {"P7\n# c\nHEIGHT 2\nWIDTH 9\nMAXVAL 1023\nDEPTH 2\nENDHDR\n", 9, 2, 1023, 2},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> f = bytes_of(c.header);
    f.resize(f.size() + 100000, 7);
    const tensor::Layout l = detect_pnm(f);
    ASSERT_EQ(l.container, "pnm") << c.header;
    EXPECT_EQ(l.header_bytes, c.header.size());
    ASSERT_EQ(l.regions.size(), 1u);
    const tensor::Region& r = l.regions[0];
    EXPECT_EQ(r.offset, c.header.size());
    EXPECT_EQ(r.width, c.width);
    EXPECT_EQ(r.row, c.channels);
    EXPECT_EQ(r.maxval, c.maxval);
    EXPECT_EQ(r.image_bytes, c.maxval > 255 ? 2 : 1);
    EXPECT_TRUE(r.big_endian);
    EXPECT_EQ(r.bytes, c.rows * c.width * c.channels * r.image_bytes);
    // The generic detector finds it too.
    EXPECT_EQ(tensor::detect_layout(f, f.size()).container, "pnm");
  }
}

TEST(ImagePnm, RejectsWhatItCannotCode) {
  const char* bad[] = {
      "P4\n3 2\n",                    // bitmap
      "P3\n3 2\n255\n",               // plain text samples
      "P5\n3 2\n0\n",                 // maxval 0
      "P5\n3 2\n65536\n",             // maxval too big
      "P5\n0 2\n255\n",               // no width
      "P5\n3 0\n255\n",               // no rows
      "P5\n3 2\n25x\n",               // no whitespace after maxval
      "P5 3 2\n255",                  // no byte after maxval
      "P6\n70000 2\n255\n",           // a row longer than kMaxRowSamples
      "P5\n99999999999 2\n255\n",     // a number out of range
      "P7\nWIDTH 5\nHEIGHT 6\nDEPTH 5\nMAXVAL 255\nENDHDR\n",  // 5 channels
      "P7\nWIDTH 5\nHEIGHT 6\nMAXVAL 255\nENDHDR\n",           // no depth
      "P7\nWIDTH 5\nHEIGHT 6\nDEPTH 1\nMAXVAL 255\nCOLOR 1\nENDHDR\n",  // unknown key
      "P7\nWIDTH 5\nHEIGHT 6\nDEPTH 1\nMAXVAL 255\n",         // no ENDHDR
      "P5",                                                   // cut short
  };
  for (const char* h : bad) {
    const std::vector<uint8_t> f = bytes_of(h);
    EXPECT_TRUE(detect_pnm(f).empty()) << h;
  }
  EXPECT_TRUE(raw_image_layout(0, 3, 8).empty());
  EXPECT_TRUE(raw_image_layout(10, 5, 8).empty());
  EXPECT_TRUE(raw_image_layout(10, 3, 12).empty());
  EXPECT_FALSE(raw_image_layout(10, 3, 16).empty());
}

// ---- round trips ------------------------------------------------------------------

TEST(ImageCodec, EveryChannelCountAndDepthRoundTrips) {
  for (unsigned channels : {1u, 2u, 3u, 4u}) {
    for (uint32_t maxval : {255u, 1023u, 65535u}) {
      for (bool synthetic : {false, true}) {
        ImageSpec s;
        s.channels = channels;
        s.maxval = maxval;
        s.synthetic = synthetic;
        s.width = 53 + channels;
        s.height = 29;
        const std::vector<uint8_t> f = make_pnm(s);
        for (int level : {1, 6, 9}) {
          EncodeOptions o;
          o.level = level;
          const auto z = roundtrip(f, o);
          EXPECT_TRUE(has_image_block(z)) << channels << " " << maxval << " " << level;
        }
      }
    }
  }
}

TEST(ImageCodec, TinyTruncatedAndTrailingImages) {
  for (uint32_t w : {1u, 2u, 5u}) {
    for (uint32_t h : {1u, 2u, 9u}) {
      ImageSpec s;
      s.width = w;
      s.height = h;
      roundtrip(make_pnm(s));
    }
  }
  ImageSpec s;
  s.width = 40;
  s.height = 30;
  std::vector<uint8_t> f = make_pnm(s);
  for (size_t cut : {size_t(1), size_t(2), size_t(119), size_t(121), size_t(3000)}) {
    std::vector<uint8_t> t(f.begin(), f.end() - static_cast<std::ptrdiff_t>(cut));
    roundtrip(t);
  }
  std::vector<uint8_t> more = f;
  for (int i = 0; i < 1000; ++i) more.push_back(static_cast<uint8_t>(i * 31));
  more.insert(more.end(), f.begin(), f.end());  // a second image after the first
  // Most of this block is bytes to the image codec (the second image is not
  // detected): the engine also tries the byte model and keeps the smaller.
  EncodeOptions ob;
  ob.kind = DataKind::kBytes;
  EXPECT_LE(roundtrip(more).size(), roundtrip(more, ob).size());
}

TEST(ImageCodec, BeatsTheByteModelOnPhotosAndGraphics) {
  for (bool synthetic : {false, true}) {
    ImageSpec s;
    s.width = 320;
    s.height = 240;
    s.synthetic = synthetic;
    const std::vector<uint8_t> f = make_pnm(s);
    const auto z = roundtrip(f);
    EncodeOptions o;
    o.kind = DataKind::kBytes;
    const auto zb = roundtrip(f, o);
    EXPECT_TRUE(has_image_block(z));
    EXPECT_FALSE(has_image_block(zb));
    // 5 % below the strong byte model (level 6, codec 6) on both; on
    // these small generated images it is 5.7 % (photo) and more (graphic).
    EXPECT_LT(z.size() * 20, zb.size() * 19) << "synthetic " << synthetic << ": " << z.size() << " vs " << zb.size();
  }
}

TEST(ImageCodec, SparseHistogramsAreFolded) {
  // A 16-bit image whose samples are multiples of 97: coded as indices of
  // the values used, it costs about what the 8-bit image does.
  ImageSpec s;
  s.width = 200;
  s.height = 120;
  s.channels = 1;
  const std::vector<uint8_t> px8 = make_pixels(s);
  std::string h = "P5\n200 120\n65535\n";
  std::vector<uint8_t> f16 = bytes_of(h);
  for (uint8_t v : px8) {
    const int q = v * 97;
    f16.push_back(static_cast<uint8_t>(q >> 8));
    f16.push_back(static_cast<uint8_t>(q));
  }
  const auto z16 = roundtrip(f16);
  const auto z8 = roundtrip(make_pnm(s));
  EXPECT_TRUE(has_image_block(z16));
  EXPECT_LT(z16.size(), z8.size() + z8.size() / 10 + 64) << z16.size() << " vs " << z8.size();
}

TEST(ImageCodec, SamplesAboveMaxvalStayExact) {
  ImageSpec s;
  s.channels = 1;
  s.maxval = 100;
  std::vector<uint8_t> f = make_pnm(s);
  f[f.size() / 2] = 250;  // not a valid PGM sample: the rows go as bytes
  roundtrip(f);
  s.maxval = 1000;
  std::vector<uint8_t> g = make_pnm(s);
  g[g.size() - 2] = 0xff;
  roundtrip(g);
}

TEST(ImageCodec, RawImagesWithWidthHeightAndDepth) {
  ImageSpec s;
  s.width = 77;
  s.height = 40;
  s.channels = 3;
  std::vector<uint8_t> px = make_pixels(s);
  px.push_back(9);  // a partial pixel
  EncodeOptions o;
  o.kind = DataKind::kImage;
  o.image_width = 77;
  o.image_channels = 3;
  EXPECT_TRUE(has_image_block(roundtrip(px, o)));
  o.image_height = 10;  // rows after the 10th are bytes: the byte model is tried too
  EncodeOptions ob;
  ob.kind = DataKind::kBytes;
  EXPECT_LE(roundtrip(px, o).size(), roundtrip(px, ob).size());
  s.maxval = 65535;
  const std::vector<uint8_t> px16 = make_pixels(s, false);
  o.image_height = 0;
  o.image_depth = 16;
  EXPECT_TRUE(has_image_block(roundtrip(px16, o)));
}

TEST(ImageCodec, SameBytesForAnyThreadCountAcrossBlocks) {
  ImageSpec s;
  s.width = 300;
  s.height = 200;
  const std::vector<uint8_t> f = make_pnm(s);
  EncodeOptions o;
  o.block_log = 16;  // 64 KiB blocks: rows are cut between blocks
  o.threads = 1;
  const auto a = roundtrip(f, o);
  o.threads = 3;
  const auto b = roundtrip(f, o);
  EXPECT_EQ(a, b);
  EXPECT_TRUE(has_image_block(a));
}

// ---- hostile payloads ------------------------------------------------------------

TEST(ImageCodec, HostilePayloadsAreErrorsNotCrashes) {
  ImageSpec s;
  s.width = 60;
  s.height = 40;
  s.maxval = 4095;
  const std::vector<uint8_t> f = make_pnm(s);
  const tensor::Layout l = detect_pnm(f);
  const std::span<const uint8_t> body(f.data() + l.header_bytes, f.size() - l.header_bytes);
  const auto segs = tensor::block_segments(l, l.header_bytes, body.size());
  ImageConfig c;
  std::vector<uint8_t> z;
  ASSERT_TRUE(image_encode(c, segs, body, z).ok());
  std::vector<uint8_t> back(body.size());
  ASSERT_TRUE(image_decode(c, z, back).ok());
  EXPECT_TRUE(std::equal(back.begin(), back.end(), body.begin()));
  int errors = 0;
  for (size_t cut = 0; cut < z.size(); cut += z.size() / 16 + 1) {
    std::vector<uint8_t> t(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(cut));
    errors += !image_decode(c, t, back).ok();
  }
  EXPECT_GT(errors, 0);
  for (size_t i = 0; i < z.size(); i += z.size() / 40 + 1) {
    std::vector<uint8_t> t = z;
    t[i] ^= static_cast<uint8_t>(1u << (i % 8));
    (void)image_decode(c, t, back);
  }
  // Table fields out of range.
  const std::vector<std::vector<uint8_t>> tables = {
      {1, 2, 4},                   // unknown segment kind
      {1, 1, 2, 0, 1, 255, 1},     // width 0
      {1, 1, 2, 4, 5, 255, 1},     // 5 channels
      {1, 1, 2, 4, 0x41, 255, 1},  // unknown format bits
      {1, 1, 2, 4, 1, 0},          // maxval 0
      {1, 1, 2, 4, 1, 0x80, 0x80, 0x04},  // maxval 65536
      {1, 1, 2, 4, 1, 0xff, 0x03},  // maxval above 8-bit samples
      {1, 1, 0xff, 0xff, 0x0f, 4, 1, 0xff, 0x01},  // more rows than the block holds
      {2, 0, 5},                    // sizes do not add up
      {0xff, 0xff, 0x03},           // too many segments
  };
  std::vector<uint8_t> out(20);
  for (const auto& t : tables) EXPECT_EQ(image_decode(c, t, out).code(), ErrorCode::kCorrupt);
  uint64_t memory = 0;
  const Codec* codec = find_codec(kCodecImage);
  ASSERT_NE(codec, nullptr);
  EXPECT_TRUE(codec->check_params(c.serialize(), &memory).ok());
  EXPECT_GT(memory, kMaxRowSamples * 100);
  const std::vector<uint8_t> bad[] = {{}, {1, 16}, {2, 16, 1}, {1, 7, 1}, {1, 23, 1}, {1, 16, 3}, {1, 16, 1, 0}};
  for (const auto& p : bad) EXPECT_FALSE(codec->check_params(p, &memory).ok());
}

}  // namespace
}  // namespace sibyl::image
