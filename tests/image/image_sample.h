// Generated images for the image codec's tests: a photo-like picture
// (smooth shading, edges, sensor-like noise) or a synthetic one (flat
// areas, repeated patterns), as PNM (P5/P6/P7) or raw pixels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace sibyl::test {

struct ImageSpec {
  uint32_t width = 97, height = 61;
  unsigned channels = 3;    // 1..4
  uint32_t maxval = 255;    // > 255: 16-bit samples (big-endian in PNM)
  bool synthetic = false;   // flat areas and exact repeats
  bool pam = false;         // P7 header (else P5 for 1 channel, P6 for 3)
  uint32_t seed = 1;
};

// The samples, interleaved, row by row: 1 or 2 bytes each (big-endian
// when `big_endian`, as in PNM).
inline std::vector<uint8_t> make_pixels(const ImageSpec& s, bool big_endian = true) {
  std::vector<uint8_t> out;
  uint32_t rng = s.seed * 2654435761u + 12345;
  auto noise = [&]() {
    rng = rng * 1664525u + 1013904223u;
    return static_cast<int>((rng >> 24) % 7) - 3;
  };
  const int bytes = s.maxval > 255 ? 2 : 1;
  const double scale = s.maxval / 255.0;
  for (uint32_t y = 0; y < s.height; ++y) {
    for (uint32_t x = 0; x < s.width; ++x) {
      for (unsigned c = 0; c < s.channels; ++c) {
        double v;
        if (s.synthetic) {
          // Tiles of flat colour with a repeated glyph-like pattern.
          const uint32_t tile = (x / 16 + y / 12 * 7) % 5;
          const bool glyph = ((x % 16) * 3 + (y % 12) * 5) % 11 < 3 && tile != 2;
          v = glyph ? 20.0 + 10 * c : 60.0 + 40.0 * tile + 15.0 * c;
        } else {
          const double shade = 128 + 90 * ((x * 1.0 / s.width) - 0.5) + 40 * ((y * 1.0 / s.height) - 0.5) + 20.0 * c;
          const bool inside = (x - s.width / 2.0) * (x - s.width / 2.0) + (y - s.height / 2.0) * (y - s.height / 2.0) <
                              s.height * s.height / 9.0;
          v = (inside ? 255 - shade : shade) + noise();
          if (c == 3) v = x < s.width / 3 ? 255 : 128;  // alpha: mostly flat
        }
        int q = static_cast<int>(v * scale + 0.5);
        q = q < 0 ? 0 : (q > static_cast<int>(s.maxval) ? static_cast<int>(s.maxval) : q);
        if (bytes == 1) {
          out.push_back(static_cast<uint8_t>(q));
        } else if (big_endian) {
          out.push_back(static_cast<uint8_t>(q >> 8));
          out.push_back(static_cast<uint8_t>(q));
        } else {
          out.push_back(static_cast<uint8_t>(q));
          out.push_back(static_cast<uint8_t>(q >> 8));
        }
      }
    }
  }
  return out;
}

// make_pixels' photo (8-bit) as a decoded JPEG looks: 8 x 8 blocks that
// start at columns gx + 8k and rows gy + 8k, each with its detail damped
// towards its mean and its level moved by up to 3 (the blocks' own
// quantisation), so that their edges show.
inline std::vector<uint8_t> make_blocky_pixels(const ImageSpec& s, unsigned gx, unsigned gy) {
  std::vector<uint8_t> px = make_pixels(s);
  const unsigned c = s.channels;
  uint32_t rng = s.seed * 40503u + 7;
  for (uint32_t by = 0; by < s.height + 8; by += 8) {
    for (uint32_t bx = 0; bx < s.width + 8; bx += 8) {
      // The block covering columns x0..x0+7 and rows y0..y0+7 (clipped).
      const int x0 = static_cast<int>(bx) - static_cast<int>((8 - gx % 8) % 8);
      const int y0 = static_cast<int>(by) - static_cast<int>((8 - gy % 8) % 8);
      for (unsigned ch = 0; ch < c; ++ch) {
        rng = rng * 1664525u + 1013904223u;
        const int shift = static_cast<int>((rng >> 24) % 7) - 3;
        int sum = 0, n = 0;
        for (int y = std::max(y0, 0); y < std::min(y0 + 8, static_cast<int>(s.height)); ++y)
          for (int x = std::max(x0, 0); x < std::min(x0 + 8, static_cast<int>(s.width)); ++x, ++n)
            sum += px[(static_cast<size_t>(y) * s.width + static_cast<size_t>(x)) * c + ch];
        if (n == 0) continue;
        const int mean = sum / n;
        for (int y = std::max(y0, 0); y < std::min(y0 + 8, static_cast<int>(s.height)); ++y) {
          for (int x = std::max(x0, 0); x < std::min(x0 + 8, static_cast<int>(s.width)); ++x) {
            uint8_t& v = px[(static_cast<size_t>(y) * s.width + static_cast<size_t>(x)) * c + ch];
            v = static_cast<uint8_t>(std::clamp(mean + (v - mean) * 3 / 5 + shift, 0, 255));
          }
        }
      }
    }
  }
  return px;
}

// That picture as a PPM (3 channels) or PGM (1): 8-bit, or 16-bit when
// s.maxval is 65535 (each value times 257, as a decoded JPEG stored with
// 16 bits).
inline std::vector<uint8_t> make_blocky_pnm(const ImageSpec& s, unsigned gx, unsigned gy) {
  ImageSpec s8 = s;
  s8.maxval = 255;
  const std::vector<uint8_t> px = make_blocky_pixels(s8, gx, gy);
  const bool wide = s.maxval == 65535;
  const std::string h = std::string(s.channels == 1 ? "P5" : "P6") + "\n" + std::to_string(s.width) + " " +
                        std::to_string(s.height) + (wide ? "\n65535\n" : "\n255\n");
  std::vector<uint8_t> out(h.begin(), h.end());
  for (uint8_t v : px) {
    out.push_back(v);
    if (wide) out.push_back(v);
  }
  return out;
}

// JFIF's YCbCr -> RGB as libjpeg computes it (16 fraction bits, `>>`
// rounding down, clamped): written here apart from the codec's own.
inline void jpeg_ycc_to_rgb(int y, int cb, int cr, uint8_t* rgb) {
  const int r = y + ((91881 * (cr - 128) + 32768) >> 16);
  const int g = y + ((-22554 * (cb - 128) + 32768 - 46802 * (cr - 128)) >> 16);
  const int b = y + ((116130 * (cb - 128) + 32768) >> 16);
  rgb[0] = static_cast<uint8_t>(std::clamp(r, 0, 255));
  rgb[1] = static_cast<uint8_t>(std::clamp(g, 0, 255));
  rgb[2] = static_cast<uint8_t>(std::clamp(b, 0, 255));
}

// A decoded JPEG's colours: make_blocky_pixels' three channels taken as
// Y, Cb and Cr (the chroma at half resolution, 4:2:0, and nearer to 128),
// turned into R, G, B as a decoder does. `dark` pushes Y towards 0 in the
// top-left quarter, so that many samples are clamped there.
inline std::vector<uint8_t> make_decoded_jpeg_pixels(const ImageSpec& s, unsigned gx, unsigned gy, bool dark = true) {
  ImageSpec s3 = s;
  s3.channels = 3;
  s3.maxval = 255;
  const std::vector<uint8_t> ycc = make_blocky_pixels(s3, gx, gy);
  std::vector<uint8_t> out(static_cast<size_t>(s.width) * s.height * s.channels);
  for (uint32_t y = 0; y < s.height; ++y) {
    for (uint32_t x = 0; x < s.width; ++x) {
      const size_t i = static_cast<size_t>(y) * s.width + x;
      const size_t c = (static_cast<size_t>(y & ~1u) * s.width + (x & ~1u)) * 3;  // the 2 x 2 cell's chroma
      int lum = ycc[i * 3];
      if (dark && x < s.width / 4 && y < s.height / 4) lum = lum / 8;
      uint8_t rgb[3];
      jpeg_ycc_to_rgb(lum, 128 + (ycc[c + 1] - 128) / 2, 128 + (ycc[c + 2] - 128) / 2, rgb);
      for (unsigned k = 0; k < 3; ++k) out[i * s.channels + k] = rgb[k];
      if (s.channels == 4) out[i * 4 + 3] = x < s.width / 3 ? 255 : 128;
    }
  }
  return out;
}

// Those pixels as a PPM (3 channels) or PAM (4).
inline std::vector<uint8_t> make_decoded_jpeg_pnm(const ImageSpec& s, unsigned gx, unsigned gy, bool dark = true) {
  const std::string h = s.channels == 4 ? "P7\nWIDTH " + std::to_string(s.width) + "\nHEIGHT " + std::to_string(s.height) +
                                              "\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n"
                                        : "P6\n" + std::to_string(s.width) + " " + std::to_string(s.height) + "\n255\n";
  std::vector<uint8_t> out(h.begin(), h.end());
  const std::vector<uint8_t> px = make_decoded_jpeg_pixels(s, gx, gy, dark);
  out.insert(out.end(), px.begin(), px.end());
  return out;
}

inline std::vector<uint8_t> make_pnm(const ImageSpec& s) {
  std::string h;
  if (s.pam || (s.channels != 1 && s.channels != 3)) {
    h = "P7\nWIDTH " + std::to_string(s.width) + "\nHEIGHT " + std::to_string(s.height) + "\nDEPTH " +
        std::to_string(s.channels) + "\nMAXVAL " + std::to_string(s.maxval) + "\nTUPLTYPE RGB_ALPHA\nENDHDR\n";
  } else {
    h = std::string(s.channels == 1 ? "P5" : "P6") + "\n# generated\n" + std::to_string(s.width) + " " +
        std::to_string(s.height) + "\n" + std::to_string(s.maxval) + "\n";
  }
  std::vector<uint8_t> out(h.begin(), h.end());
  const std::vector<uint8_t> px = make_pixels(s);
  out.insert(out.end(), px.begin(), px.end());
  return out;
}

// A Windows bitmap of the generated picture: 24-bit (3 channels), 32-bit
// (4 channels, BI_BITFIELDS when `bitfields`) or 8-bit with a grey palette
// (1 channel); samples stored B, G, R(, A), rows padded to 4 bytes with
// `pad_byte`, bottom-up unless `top_down`; `core` writes the 12-byte OS/2
// header (24-bit only).
struct BmpSpec {
  bool top_down = false;
  bool core = false;
  bool bitfields = false;
  uint8_t pad_byte = 0;
};
inline std::vector<uint8_t> make_bmp(const ImageSpec& s, const BmpSpec& b = {}) {
  const std::vector<uint8_t> px = make_pixels(s);
  const unsigned bpp = s.channels * 8;
  const uint32_t stride = (s.width * bpp + 31) / 32 * 4;
  const uint32_t dib = b.core ? 12 : (b.bitfields ? 56 : 40);
  const uint32_t palette = s.channels == 1 ? 256 * 4 : 0;
  const uint32_t offset = 14 + dib + palette;
  std::vector<uint8_t> out(offset, 0);
  auto le = [&](size_t at, uint32_t v, int n) {
    for (int i = 0; i < n; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  out[0] = 'B', out[1] = 'M';
  le(2, offset + stride * s.height, 4);
  le(10, offset, 4);
  le(14, dib, 4);
  if (b.core) {
    le(18, s.width, 2), le(20, s.height, 2), le(22, 1, 2), le(24, bpp, 2);
  } else {
    le(18, s.width, 4);
    le(22, b.top_down ? static_cast<uint32_t>(-static_cast<int32_t>(s.height)) : s.height, 4);
    le(26, 1, 2), le(28, bpp, 2), le(30, b.bitfields ? 3 : 0, 4), le(34, stride * s.height, 4);
    le(38, 2835, 4), le(42, 2835, 4);
    if (b.bitfields) le(54, 0x00ff0000, 4), le(58, 0x0000ff00, 4), le(62, 0x000000ff, 4), le(66, 0xff000000, 4);
  }
  for (uint32_t i = 0; i < palette / 4; ++i)
    for (int k = 0; k < 3; ++k) out[14 + dib + i * 4 + k] = static_cast<uint8_t>(i);
  for (uint32_t r = 0; r < s.height; ++r) {
    const uint32_t y = b.top_down ? r : s.height - 1 - r;
    for (uint32_t x = 0; x < s.width; ++x) {
      const uint8_t* p = &px[(size_t(y) * s.width + x) * s.channels];
      if (s.channels >= 3) {
        out.push_back(p[2]), out.push_back(p[1]), out.push_back(p[0]);
        if (s.channels == 4) out.push_back(p[3]);
      } else {
        out.push_back(p[0]);
      }
    }
    for (uint32_t i = s.width * s.channels; i < stride; ++i) out.push_back(b.pad_byte);
  }
  return out;
}

// A baseline TIFF of the generated picture: little- or big-endian,
// `rows_per_strip` rows per strip (0: one strip), `gap` bytes of filler
// between strips, the image directory after the pixels (as many writers
// put it) or before them.
struct TiffSpec {
  bool big_endian = false;
  uint32_t rows_per_strip = 0;
  uint32_t gap = 0;
  bool ifd_first = false;
  uint16_t compression = 1;
  uint16_t planar = 1;
};
inline std::vector<uint8_t> make_tiff(const ImageSpec& s, const TiffSpec& t = {}) {
  const std::vector<uint8_t> px = make_pixels(s, t.big_endian);
  const unsigned bytes = s.maxval > 255 ? 2 : 1;
  const uint32_t rps = t.rows_per_strip == 0 ? s.height : t.rows_per_strip;
  const uint32_t strips = (s.height + rps - 1) / rps;
  const size_t row = size_t(s.width) * s.channels * bytes;
  std::vector<uint8_t> out;
  auto put = [&](size_t at, uint32_t v, int n) {
    if (out.size() < at + n) out.resize(at + n, 0);
    for (int i = 0; i < n; ++i) out[at + i] = static_cast<uint8_t>(t.big_endian ? v >> (8 * (n - 1 - i)) : v >> (8 * i));
  };
  out = {static_cast<uint8_t>(t.big_endian ? 'M' : 'I'), static_cast<uint8_t>(t.big_endian ? 'M' : 'I')};
  put(2, 42, 2);
  const int entries = 11;
  const size_t ifd_size = 2 + entries * 12 + 4;
  const size_t arrays = 8 * strips + 8;  // offsets, counts, bits per sample
  size_t pixels_at = t.ifd_first ? 8 + ifd_size + arrays : 8;
  std::vector<uint32_t> offsets, counts;
  size_t at = pixels_at;
  for (uint32_t i = 0; i < strips; ++i) {
    const uint32_t r = std::min(rps, s.height - i * rps);
    offsets.push_back(static_cast<uint32_t>(at));
    counts.push_back(static_cast<uint32_t>(r * row));
    out.resize(at, 0x5a);
    out.insert(out.end(), px.begin() + static_cast<std::ptrdiff_t>(i * rps * row),
               px.begin() + static_cast<std::ptrdiff_t>((i * rps + r) * row));
    at = out.size() + t.gap;
  }
  const size_t ifd = t.ifd_first ? 8 : (out.size() + 1) / 2 * 2;
  if (!t.ifd_first) out.resize(ifd, 0);
  put(4, static_cast<uint32_t>(ifd), 4);
  const size_t arr = ifd + ifd_size;
  put(ifd, entries, 2);
  int k = 0;
  auto entry = [&](uint16_t tag, uint16_t type, uint32_t count, uint32_t value) {
    const size_t e = ifd + 2 + 12 * static_cast<size_t>(k++);
    put(e, tag, 2), put(e + 2, type, 2), put(e + 4, count, 4);
    if (type == 3 && count == 1) put(e + 8, value, 2), put(e + 10, 0, 2);
    else put(e + 8, value, 4);
  };
  const uint32_t bits_at = static_cast<uint32_t>(arr + 8 * strips);
  entry(256, 4, 1, s.width);
  entry(257, 4, 1, s.height);
  // BitsPerSample: one or two SHORTs fit in the entry, more are pointed to.
  entry(258, 3, s.channels, s.channels == 1 ? bytes * 8 : s.channels == 2 ? bytes * 8 * 0x10001u : bits_at);
  entry(259, 3, 1, t.compression);
  entry(262, 3, 1, s.channels >= 3 ? 2 : 1);
  entry(273, 4, strips, strips == 1 ? offsets[0] : static_cast<uint32_t>(arr));
  entry(277, 3, 1, s.channels);
  entry(278, 4, 1, rps);
  entry(279, 4, strips, strips == 1 ? counts[0] : static_cast<uint32_t>(arr + 4 * strips));
  entry(284, 3, 1, t.planar);
  entry(339, 3, 1, 1);
  put(ifd + 2 + 12 * entries, 0, 4);
  for (uint32_t i = 0; i < strips; ++i) put(arr + 4 * i, offsets[i], 4), put(arr + 4 * (strips + i), counts[i], 4);
  for (unsigned c = 0; c < 4; ++c) put(bits_at + 2 * c, bytes * 8, 2);
  if (t.ifd_first && out.size() < pixels_at) out.resize(pixels_at);
  return out;
}

}  // namespace sibyl::test
