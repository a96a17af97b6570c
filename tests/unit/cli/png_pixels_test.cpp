// --png-pixels (tools/cli/png_pixels.cpp): PNG files written by libpng's
// own writer, of every colour type, bit depth and interlace, with
// ancillary chunks before and after the pixels, go to the PNG pixel layout
// and back to a PNG whose pixels (read by libpng) and other chunks are the
// same; the layout goes through the engine as an image; damaged PNGs and
// layouts are errors, never crashes.
#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/decoder.h"
#include "engine/encoder.h"
#include "format/container.h"
#include "png_pixels.h"

namespace sibyl::cli {
namespace {

struct PngSpec {
  uint32_t width = 37, height = 23;
  int colour = PNG_COLOR_TYPE_RGB;
  int depth = 8;
  bool interlace = false;
  bool text_chunks = true;  // tEXt before and after the pixels, gAMA before
  uint32_t seed = 1;
  bool smooth = false;
};

unsigned channels_of(int colour) {
  return colour == PNG_COLOR_TYPE_GRAY || colour == PNG_COLOR_TYPE_PALETTE ? 1
         : colour == PNG_COLOR_TYPE_RGB                                    ? 3
         : colour == PNG_COLOR_TYPE_GRAY_ALPHA                             ? 2
                                                                           : 4;
}

// Samples as the layout holds them: one byte each up to 8 bits, 16-bit
// big-endian; smooth with noise so the filters have work to do.
std::vector<uint8_t> make_samples(const PngSpec& s) {
  std::mt19937 rng(s.seed);
  const unsigned ch = channels_of(s.colour), sb = s.depth == 16 ? 2 : 1;
  const uint32_t maxval = (1u << s.depth) - 1;
  std::vector<uint8_t> px;
  for (uint32_t y = 0; y < s.height; ++y)
    for (uint32_t x = 0; x < s.width; ++x)
      for (unsigned c = 0; c < ch; ++c) {
        // A curved field (every filter wins somewhere) or a smooth slope, with noise.
        const uint32_t v = s.smooth ? std::min<uint32_t>(maxval, (x + 2 * y + c * 20) * (maxval / 255 + 1) + rng() % 5)
                                    : ((x * x + 3 * y * y + x * y + c * 40) / 5 * (maxval / 100 + 1) + rng() % 5) % (maxval + 1);
        if (sb == 2) px.push_back(static_cast<uint8_t>(v >> 8));
        px.push_back(static_cast<uint8_t>(v));
      }
  return px;
}

void write_to_vector(png_structp png, png_bytep data, size_t n) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + n);
}
void flush_nothing(png_structp) {}

// A PNG of `px` written by libpng (several IDAT chunks: a small buffer).
std::vector<uint8_t> libpng_write(const PngSpec& s, const std::vector<uint8_t>& px) {
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    ADD_FAILURE() << "libpng could not write the test image";
    return {};
  }
  png_set_write_fn(png, &out, write_to_vector, flush_nothing);
  png_set_compression_buffer_size(png, 512);
  png_set_IHDR(png, info, s.width, s.height, s.depth, s.colour, s.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_color palette[256];
  png_byte alpha[256];
  if (s.colour == PNG_COLOR_TYPE_PALETTE) {
    const int n = 1 << s.depth;
    for (int i = 0; i < n; ++i) {
      palette[i] = {static_cast<png_byte>(i * 7), static_cast<png_byte>(255 - i), static_cast<png_byte>(i * 3)};
      alpha[i] = static_cast<png_byte>(255 - i / 2);
    }
    png_set_PLTE(png, info, palette, n);
    png_set_tRNS(png, info, alpha, n, nullptr);
  }
  png_text before{}, after{};
  char key1[] = "Title", text1[] = "before the pixels", key2[] = "Comment", text2[] = "after the pixels";
  if (s.text_chunks) {
    png_set_gAMA(png, info, 0.45455);
    before.compression = PNG_TEXT_COMPRESSION_NONE;
    before.key = key1;
    before.text = text1;
    png_set_text(png, info, &before, 1);
  }
  png_write_info(png, info);
  const unsigned ch = channels_of(s.colour);
  const size_t stride = size_t(s.width) * ch * (s.depth == 16 ? 2 : 1);
  std::vector<png_bytep> rows(s.height);
  std::vector<uint8_t> copy = px;
  for (uint32_t y = 0; y < s.height; ++y) rows[y] = copy.data() + y * stride;
  if (s.depth < 8) png_set_packing(png);
  if (s.interlace) png_set_interlace_handling(png);
  png_write_image(png, rows.data());
  if (s.text_chunks) {
    after.compression = PNG_TEXT_COMPRESSION_zTXt;
    after.key = key2;
    after.text = text2;
    png_set_text(png, info, &after, 1);
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

// The chunks of a PNG other than IDAT, as bytes.
std::vector<uint8_t> other_chunks(const std::vector<uint8_t>& png) {
  std::vector<uint8_t> out;
  for (size_t pos = 8; pos + 12 <= png.size();) {
    const uint32_t len = uint32_t(png[pos]) << 24 | uint32_t(png[pos + 1]) << 16 | uint32_t(png[pos + 2]) << 8 | png[pos + 3];
    if (std::memcmp(&png[pos + 4], "IDAT", 4) != 0) out.insert(out.end(), png.begin() + pos, png.begin() + pos + 12 + len);
    pos += 12 + len;
  }
  return out;
}

size_t count_chunks(const std::vector<uint8_t>& png, const char* type) {
  size_t n = 0;
  for (size_t pos = 8; pos + 12 <= png.size();) {
    const uint32_t len = uint32_t(png[pos]) << 24 | uint32_t(png[pos + 1]) << 16 | uint32_t(png[pos + 2]) << 8 | png[pos + 3];
    n += std::memcmp(&png[pos + 4], type, 4) == 0;
    pos += 12 + len;
  }
  return n;
}

constexpr uint64_t kLimit = uint64_t(1) << 30;

// A libpng-written PNG of the spec's picture and its layout (checked).
std::vector<uint8_t> png_and_layout(const PngSpec& s, std::vector<uint8_t>* layout) {
  const std::vector<uint8_t> png = libpng_write(s, make_samples(s));
  EXPECT_TRUE(png_to_layout(png, kLimit, layout).ok());
  return png;
}

TEST(PngPixels, EveryColourTypeDepthAndInterlaceComesBackWithTheSamePixels) {
  struct Kind {
    int colour;
    std::vector<int> depths;
  } kinds[] = {
      {PNG_COLOR_TYPE_GRAY, {1, 2, 4, 8, 16}},  {PNG_COLOR_TYPE_RGB, {8, 16}},       {PNG_COLOR_TYPE_PALETTE, {1, 2, 4, 8}},
      {PNG_COLOR_TYPE_GRAY_ALPHA, {8, 16}},     {PNG_COLOR_TYPE_RGB_ALPHA, {8, 16}},
  };
  int cases = 0;
  for (const Kind& k : kinds)
    for (int depth : k.depths)
      for (bool interlace : {false, true}) {
        PngSpec s;
        s.colour = k.colour;
        s.depth = depth;
        s.interlace = interlace;
        // Odd sizes, and one image smaller than the Adam7 grid (empty passes).
        s.width = interlace && depth == 8 ? 4 : interlace && depth == 16 ? 3 : 37 + static_cast<uint32_t>(cases % 5);
        s.height = interlace && depth == 8 ? 4 : interlace && depth == 16 ? 2 : 23;
        s.seed = static_cast<uint32_t>(cases);
        const std::string what = "colour " + std::to_string(k.colour) + " depth " + std::to_string(depth) +
                                 (interlace ? " interlaced" : "");
        const std::vector<uint8_t> px = make_samples(s);
        const std::vector<uint8_t> png = libpng_write(s, px);
        ASSERT_TRUE(is_png(png)) << what;
        std::vector<uint8_t> layout;
        ASSERT_TRUE(png_to_layout(png, kLimit, &layout).ok()) << what;
        // The PAM header, then exactly the samples.
        const std::string head = "P7\nWIDTH " + std::to_string(s.width) + "\nHEIGHT " + std::to_string(s.height) +
                                 "\nDEPTH " + std::to_string(channels_of(k.colour)) + "\nMAXVAL " +
                                 std::to_string((1u << depth) - 1) + "\nTUPLTYPE ";
        ASSERT_EQ(std::string(layout.begin(), layout.begin() + static_cast<std::ptrdiff_t>(head.size())), head) << what;
        const auto end = std::search(layout.begin(), layout.end(), std::begin("ENDHDR\n"), std::end("ENDHDR\n") - 1);
        ASSERT_NE(end, layout.end());
        const auto raster = end + 7;
        ASSERT_GE(layout.end() - raster, static_cast<std::ptrdiff_t>(px.size()));
        EXPECT_TRUE(std::equal(px.begin(), px.end(), raster)) << what;
        // Back to a PNG: libpng reads the same pixels, the other chunks are
        // the same bytes in the same order.
        std::vector<uint8_t> back, again;
        ASSERT_TRUE(layout_to_png(layout, &back).ok()) << what;
        ASSERT_TRUE(png_to_layout(back, kLimit, &again).ok()) << what;
        EXPECT_EQ(again, layout) << what;
        EXPECT_EQ(other_chunks(back), other_chunks(png)) << what;
        EXPECT_GE(count_chunks(png, "IDAT"), 1u);
        EXPECT_EQ(count_chunks(back, "tEXt") + count_chunks(back, "zTXt"), 2u) << what;
        ++cases;
      }
  EXPECT_EQ(cases, 30);
}

TEST(PngPixels, LayoutGoesThroughTheEngineAsAnImage) {
  PngSpec s;
  s.width = 120;
  s.height = 80;
  s.smooth = true;
  std::vector<uint8_t> layout;
  png_and_layout(s, &layout);
  EncodeOptions o;
  o.frame_flags = format::kFlagPngPixels;
  std::vector<uint8_t> z, back;
  ASSERT_TRUE(compress_buffer(layout, o, z).ok());
  ASSERT_GE(z.size(), format::kFrameHeaderSize);
  EXPECT_EQ(z[5], format::kFlagPngPixels);
  ASSERT_TRUE(decompress_buffer(z, DecodeOptions{}, back).ok());
  EXPECT_EQ(back, layout);
  // The pixels went to the image codec: smaller than the byte model makes them.
  EncodeOptions bytes = o;
  bytes.kind = DataKind::kBytes;
  std::vector<uint8_t> zb;
  ASSERT_TRUE(compress_buffer(layout, bytes, zb).ok());
  EXPECT_LT(z.size(), zb.size());
}

TEST(PngPixels, DamagedPngsAreErrorsNotCrashes) {
  PngSpec s;
  s.width = 30;
  s.height = 20;
  s.interlace = true;
  std::vector<uint8_t> layout;
  const std::vector<uint8_t> png = png_and_layout(s, &layout);
  // Too many pixel bytes for the limit.
  EXPECT_FALSE(png_to_layout(png, 30 * 20 * 3 - 1, &layout).ok());
  // An IHDR claiming 16000 x 16000 pixels over a few hundred bytes of image
  // data: refused before the 256 MB raster would be allocated.
  {
    std::vector<uint8_t> big = png;
    for (int i = 0; i < 4; ++i) big[16 + i] = big[20 + i] = static_cast<uint8_t>(16000u >> (24 - 8 * i));
    const Status st = png_to_layout(big, kLimit, &layout);
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("more pixels than"), std::string::npos) << st.message();
  }
  // Not PNG at all, and every cut: an error or the same pixels, never a crash.
  EXPECT_FALSE(is_png(std::vector<uint8_t>(png.begin() + 1, png.end())));
  EXPECT_FALSE(png_to_layout(std::vector<uint8_t>(png.begin(), png.begin() + 7), kLimit, &layout).ok());
  int errors = 0;
  for (size_t cut = 0; cut < png.size(); cut += 13) {
    std::vector<uint8_t> l;
    errors += !png_to_layout(std::vector<uint8_t>(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(cut)), kLimit, &l).ok();
  }
  EXPECT_GT(errors, 0);
  for (size_t i = 8; i < png.size(); i += 5) {
    std::vector<uint8_t> t = png, l, back;
    t[i] ^= static_cast<uint8_t>(1u << (i % 8));
    if (png_to_layout(t, kLimit, &l).ok()) {
      ASSERT_TRUE(layout_to_png(l, &back).ok()) << i;  // what was read can be written back
    }
  }
}

TEST(PngPixels, DamagedLayoutsAreErrorsNotCrashes) {
  PngSpec s;
  s.colour = PNG_COLOR_TYPE_GRAY;
  s.depth = 4;
  s.width = 19;
  s.height = 11;
  std::vector<uint8_t> layout, back;
  png_and_layout(s, &layout);
  ASSERT_TRUE(layout_to_png(layout, &back).ok());
  for (size_t cut = 0; cut < layout.size(); ++cut) {
    const std::vector<uint8_t> t(layout.begin(), layout.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_EQ(layout_to_png(t, &back).code(), ErrorCode::kCorrupt) << cut;
  }
  std::vector<uint8_t> more = layout;
  more.push_back(0);
  EXPECT_EQ(layout_to_png(more, &back).code(), ErrorCode::kCorrupt);
  // A 4-bit sample above 15 would spill into its neighbour: refused.
  std::vector<uint8_t> high = layout;
  const auto end = std::search(high.begin(), high.end(), std::begin("ENDHDR\n"), std::end("ENDHDR\n") - 1);
  *(end + 7) = 16;
  EXPECT_EQ(layout_to_png(high, &back).code(), ErrorCode::kCorrupt);
  // Every byte flipped: an error or a PNG that libpng reads.
  for (size_t i = 0; i < layout.size(); ++i) {
    std::vector<uint8_t> t = layout, l;
    t[i] ^= 0x21;
    if (layout_to_png(t, &back).ok()) {
      (void)png_to_layout(back, kLimit, &l);
    }
  }
}

}  // namespace
}  // namespace sibyl::cli
