#include "codecs/image/formats.h"

#include <algorithm>
#include <vector>

#include "codecs/image/image_codec.h"
#include "codecs/image/pnm.h"
#include "common/bytes.h"

namespace sibyl::image {

namespace {

tensor::Region image_region(uint64_t offset, uint32_t width, uint64_t rows, unsigned channels, unsigned bytes,
                            bool big_endian, uint32_t pad, bool bgr) {
  tensor::Region r;
  r.offset = offset;
  r.row = channels;
  r.width = width;
  r.image_bytes = static_cast<uint8_t>(bytes);
  r.big_endian = big_endian;
  r.maxval = bytes == 2 ? 65535 : 255;
  r.row_pad = pad;
  r.bgr = bgr;
  r.bytes = rows * (uint64_t(width) * channels * bytes + pad);
  return r;
}

bool shape_ok(uint64_t width, uint64_t rows, unsigned channels) {
  return width != 0 && rows != 0 && channels != 0 && channels <= kMaxChannels &&
         width * channels <= kMaxRowSamples && rows < (uint64_t(1) << 31);
}

// ---- TIFF ------------------------------------------------------------------

struct Tiff {
  std::span<const uint8_t> b;
  bool be = false;
  uint32_t u16(size_t p) const { return be ? uint32_t(b[p] << 8 | b[p + 1]) : load_le16(b.data() + p); }
  uint32_t u32(size_t p) const {
    return be ? uint32_t(b[p]) << 24 | uint32_t(b[p + 1]) << 16 | uint32_t(b[p + 2]) << 8 | b[p + 3]
              : load_le32(b.data() + p);
  }
};

// One directory entry's values (SHORT or LONG), read from the entry or from
// where it points; false when they do not lie in the prefix.
bool tiff_values(const Tiff& t, size_t entry, size_t max_count, std::vector<uint32_t>* out) {
  const uint32_t type = t.u16(entry + 2);
  const uint64_t count = t.u32(entry + 4);
  const unsigned size = type == 3 ? 2 : type == 4 ? 4 : 0;
  if (size == 0 || count == 0 || count > max_count) return false;
  uint64_t at = entry + 8;
  if (count * size > 4) {
    at = t.u32(entry + 8);
    if (at + count * size > t.b.size()) return false;
  }
  out->clear();
  for (uint64_t i = 0; i < count; ++i)
    out->push_back(size == 2 ? t.u16(static_cast<size_t>(at + i * 2)) : t.u32(static_cast<size_t>(at + i * 4)));
  return true;
}

}  // namespace

tensor::Layout detect_bmp(std::span<const uint8_t> prefix) {
  if (prefix.size() < 26 || prefix[0] != 'B' || prefix[1] != 'M') return {};
  const uint8_t* p = prefix.data();
  const uint64_t raster = load_le32(p + 10);
  const uint32_t dib = load_le32(p + 14);
  uint64_t width = 0, rows = 0;
  unsigned bpp = 0;
  uint32_t compression = 0, colours = 0;
  size_t entry = 4;  // palette entry size
  if (dib == 12) {
    width = load_le16(p + 18);
    rows = load_le16(p + 20);
    if (load_le16(p + 22) != 1) return {};
    bpp = load_le16(p + 24);
    entry = 3;
  } else if (dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 || dib == 124) {
    if (prefix.size() < 14 + 40) return {};
    const int32_t w = static_cast<int32_t>(load_le32(p + 18));
    const int32_t h = static_cast<int32_t>(load_le32(p + 22));
    if (w <= 0 || h == 0 || h == INT32_MIN || load_le16(p + 26) != 1) return {};
    width = static_cast<uint64_t>(w);
    rows = static_cast<uint64_t>(h < 0 ? -int64_t(h) : h);  // negative: rows top-down
    bpp = load_le16(p + 28);
    compression = load_le32(p + 30);
    colours = load_le32(p + 46);
  } else {
    return {};
  }
  unsigned channels = 0;
  bool bgr = false;
  if (bpp == 24 && compression == 0) {
    channels = 3;
    bgr = true;
  } else if (bpp == 32 && (compression == 0 || compression == 3 || compression == 6)) {
    channels = 4;
    bgr = true;
  } else if (bpp == 8 && compression == 0) {
    // Only a grey palette (B = G = R, never darker than the entry before)
    // makes the indices grey levels; other palettes stay bytes.
    const uint64_t n = colours == 0 ? 256 : colours;
    const uint64_t at = 14 + uint64_t(dib);
    if (n > 256 || at + n * entry > prefix.size() || at + n * entry > raster) return {};
    for (uint64_t i = 0; i < n; ++i) {
      const uint8_t* e = p + at + i * entry;
      if (e[0] != e[1] || e[1] != e[2]) return {};
      if (i > 0 && e[0] < e[-static_cast<std::ptrdiff_t>(entry)]) return {};
    }
    channels = 1;
  } else {
    return {};
  }
  if (!shape_ok(width, rows, channels) || raster < 14 + uint64_t(dib)) return {};
  const uint64_t stride = (width * bpp + 31) / 32 * 4;
  const uint32_t pad = static_cast<uint32_t>(stride - width * channels);
  tensor::Layout l;
  l.container = "bmp";
  l.header_bytes = raster;
  l.regions.push_back(image_region(raster, static_cast<uint32_t>(width), rows, channels, 1, false, pad, bgr));
  return l;
}

tensor::Layout detect_tiff(std::span<const uint8_t> prefix) {
  if (prefix.size() < 8) return {};
  Tiff t{prefix, false};
  if (prefix[0] == 'I' && prefix[1] == 'I') {
    t.be = false;
  } else if (prefix[0] == 'M' && prefix[1] == 'M') {
    t.be = true;
  } else {
    return {};
  }
  if (t.u16(2) != 42) return {};
  const uint64_t ifd = t.u32(4);
  if (ifd < 8 || ifd + 2 > prefix.size()) return {};
  const uint32_t n = t.u16(static_cast<size_t>(ifd));
  if (n == 0 || ifd + 2 + uint64_t(n) * 12 > prefix.size()) return {};
  constexpr size_t kMaxStrips = 1 << 16;
  uint64_t width = 0, rows = 0, rows_per_strip = UINT32_MAX;
  unsigned spp = 1, bits = 0;
  std::vector<uint32_t> offsets, counts, v;
  bool have_bits = false;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t e = static_cast<size_t>(ifd + 2 + uint64_t(i) * 12);
    const uint32_t tag = t.u16(e);
    switch (tag) {
      case 256:  // ImageWidth
      case 257:  // ImageLength
      case 277:  // SamplesPerPixel
      case 278:  // RowsPerStrip
        if (!tiff_values(t, e, 1, &v)) return {};
        if (tag == 256) width = v[0];
        if (tag == 257) rows = v[0];
        if (tag == 277) spp = v[0];
        if (tag == 278) rows_per_strip = v[0];
        break;
      case 258:  // BitsPerSample: all 8 or all 16
        if (!tiff_values(t, e, kMaxChannels, &v)) return {};
        bits = v[0];
        for (uint32_t b : v)
          if (b != bits) return {};
        have_bits = true;
        break;
      case 259:  // Compression: none
      case 284:  // PlanarConfiguration: interleaved
      case 317:  // Predictor: none
        if (!tiff_values(t, e, 1, &v) || v[0] != 1) return {};
        break;
      case 339:  // SampleFormat: unsigned integers
        if (!tiff_values(t, e, kMaxChannels, &v)) return {};
        for (uint32_t f : v)
          if (f != 1) return {};
        break;
      case 262:  // PhotometricInterpretation: white/black is zero, RGB, separated
        if (!tiff_values(t, e, 1, &v) || (v[0] != 0 && v[0] != 1 && v[0] != 2 && v[0] != 5)) return {};
        break;
      case 273:
        if (!tiff_values(t, e, kMaxStrips, &offsets)) return {};
        break;
      case 279:
        if (!tiff_values(t, e, kMaxStrips, &counts)) return {};
        break;
      default:
        break;
    }
  }
  if (!have_bits || (bits != 8 && bits != 16) || !shape_ok(width, rows, spp)) return {};
  if (rows_per_strip == 0) return {};
  const uint64_t rps = std::min(rows_per_strip, rows);
  const uint64_t strips = (rows + rps - 1) / rps;
  if (offsets.size() != strips || counts.size() != strips) return {};
  const unsigned bytes = bits / 8;
  const uint64_t row_bytes = width * spp * bytes;
  std::vector<tensor::Region> regions;
  for (uint64_t s = 0; s < strips; ++s) {
    const uint64_t r = std::min(rps, rows - s * rps);
    if (counts[s] < r * row_bytes || offsets[s] < 8) return {};
    if (!regions.empty() && regions.back().offset + regions.back().bytes == offsets[s]) {
      regions.back().bytes += r * row_bytes;  // the next strip follows the last: one region
      continue;
    }
    if (regions.size() == kMaxTiffRegions) return {};
    regions.push_back(image_region(offsets[s], static_cast<uint32_t>(width), r, spp, bytes, t.be, 0, false));
  }
  std::sort(regions.begin(), regions.end(),
            [](const tensor::Region& a, const tensor::Region& b) { return a.offset < b.offset; });
  for (size_t i = 1; i < regions.size(); ++i)
    if (regions[i - 1].offset + regions[i - 1].bytes > regions[i].offset) return {};
  tensor::Layout l;
  l.container = "tiff";
  l.header_bytes = regions.front().offset;
  l.regions = std::move(regions);
  return l;
}

tensor::Layout detect_image(std::span<const uint8_t> prefix) {
  tensor::Layout l = detect_pnm(prefix);
  if (l.empty()) l = detect_bmp(prefix);
  if (l.empty()) l = detect_tiff(prefix);
  return l;
}

}  // namespace sibyl::image
