#include "png_pixels.h"

#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sibyl::cli {

namespace {

constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr char kTrailerMagic[8] = {'S', 'B', 'Y', 'P', 'N', 'G', '1', '\n'};
// PNG chunk lengths are at most 2^31 - 1.
constexpr uint64_t kMaxChunk = 0x7fffffffu;
// IDAT chunks written back are at most this long.
constexpr size_t kIdatChunk = size_t(1) << 20;

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}
uint32_t le32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
void put_le32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 0; s < 32; s += 8) out.push_back(static_cast<uint8_t>(v >> s));
}

// What IHDR says, and what follows from it.
struct Ihdr {
  uint32_t width = 0, height = 0;
  unsigned depth = 0, colour = 0, interlace = 0;
  unsigned channels() const { return colour == 0 || colour == 3 ? 1 : colour == 2 ? 3 : colour == 4 ? 2 : 4; }
  unsigned sample_bytes() const { return depth == 16 ? 2 : 1; }
  uint64_t row_bytes() const { return uint64_t(width) * channels() * sample_bytes(); }
  uint32_t maxval() const { return (1u << depth) - 1; }
};

// Parses the 13 bytes of an IHDR chunk's data; false if PNG does not allow it.
bool parse_ihdr(const uint8_t* d, Ihdr* out) {
  Ihdr h;
  h.width = be32(d);
  h.height = be32(d + 4);
  h.depth = d[8];
  h.colour = d[9];
  h.interlace = d[12];
  if (h.width == 0 || h.height == 0 || h.width > kMaxChunk || h.height > kMaxChunk) return false;
  if (d[10] != 0 || d[11] != 0 || h.interlace > 1) return false;
  const unsigned dp = h.depth;
  switch (h.colour) {
    case 0: if (dp != 1 && dp != 2 && dp != 4 && dp != 8 && dp != 16) return false; break;
    case 3: if (dp != 1 && dp != 2 && dp != 4 && dp != 8) return false; break;
    case 2: case 4: case 6: if (dp != 8 && dp != 16) return false; break;
    default: return false;
  }
  *out = h;
  return true;
}

// The chunks of a PNG file: every one but IDAT and IEND kept whole (length,
// type, data, CRC), and how many of them come before the IDAT chunks.
struct Skeleton {
  std::vector<uint8_t> chunks;
  uint32_t count = 0;
  uint32_t idat_at = 0;
  uint64_t idat_bytes = 0;  // of all IDAT chunks' data
  Ihdr ihdr;
};

Status split_chunks(std::span<const uint8_t> png, Skeleton* sk) {
  auto bad = [](const std::string& why) { return Error(ErrorCode::kInvalidArgument, "not a PNG libpng can decode: " + why); };
  if (png.size() < 8 || std::memcmp(png.data(), kSignature, 8) != 0) return bad("no PNG signature");
  size_t pos = 8;
  bool seen_idat = false, idat_done = false;
  for (;;) {
    if (png.size() - pos < 12) return bad("a chunk is cut short");
    const uint64_t len = be32(png.data() + pos);
    if (len > kMaxChunk || len > png.size() - pos - 12) return bad("a chunk is cut short");
    const uint8_t* type = png.data() + pos + 4;
    const size_t whole = static_cast<size_t>(12 + len);
    if (sk->count == 0) {
      if (std::memcmp(type, "IHDR", 4) != 0 || len != 13 || !parse_ihdr(type + 4, &sk->ihdr)) return bad("bad IHDR");
    }
    if (std::memcmp(type, "IEND", 4) == 0) break;
    if (std::memcmp(type, "IDAT", 4) == 0) {
      if (idat_done) return bad("IDAT chunks are not consecutive");
      if (!seen_idat) sk->idat_at = sk->count;
      seen_idat = true;
      sk->idat_bytes += len;
    } else {
      if (seen_idat) idat_done = true;
      sk->chunks.insert(sk->chunks.end(), png.begin() + static_cast<std::ptrdiff_t>(pos),
                        png.begin() + static_cast<std::ptrdiff_t>(pos + whole));
      ++sk->count;
    }
    pos += whole;
  }
  if (!seen_idat) return bad("no IDAT chunk");
  return Status::Ok();
}

// ---- pixels through libpng (setjmp error handling: nothing with a
// destructor is created or changed between setjmp and the libpng calls) --

struct MemoryReader {
  const uint8_t* data;
  size_t size;
  size_t pos;
};

void read_from_memory(png_structp png, png_bytep out, size_t n) {
  auto* r = static_cast<MemoryReader*>(png_get_io_ptr(png));
  if (n > r->size - r->pos) png_error(png, "the file ends early");
  std::memcpy(out, r->data + r->pos, n);
  r->pos += n;
}

void on_error(png_structp png, png_const_charp message) {
  std::snprintf(static_cast<char*>(png_get_error_ptr(png)), 200, "%s", message);
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

// Decodes the pixels into `raster` (already sized: height rows of
// ihdr.row_bytes(), samples unpacked to a byte, 16-bit big-endian).
bool decode_pixels(std::span<const uint8_t> png, const Ihdr& ih, uint8_t* raster, png_bytep* rows, char* message) {
  png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, message, on_error, on_warning);
  if (p == nullptr) return false;
  png_infop info = png_create_info_struct(p);
  if (info == nullptr) {
    png_destroy_read_struct(&p, nullptr, nullptr);
    return false;
  }
  MemoryReader reader{png.data(), png.size(), 0};
  for (uint32_t y = 0; y < ih.height; ++y) rows[y] = raster + y * ih.row_bytes();
  if (setjmp(png_jmpbuf(p))) {
    png_destroy_read_struct(&p, &info, nullptr);
    return false;
  }
  png_set_read_fn(p, &reader, read_from_memory);
  png_set_user_limits(p, kMaxChunk, kMaxChunk);
  png_read_info(p, info);
  png_set_packing(p);  // 1, 2, 4-bit samples one to a byte, not scaled
  if (ih.interlace != 0) (void)png_set_interlace_handling(p);
  png_read_update_info(p, info);
  if (png_get_rowbytes(p, info) != ih.row_bytes() || png_get_image_width(p, info) != ih.width ||
      png_get_image_height(p, info) != ih.height)
    png_error(p, "unexpected row size");
  png_read_image(p, rows);
  png_read_end(p, nullptr);
  png_destroy_read_struct(&p, &info, nullptr);
  return true;
}

// ---- the layout's PAM header ----------------------------------------------

const char* tupltype(unsigned colour) {
  switch (colour) {
    case 0: return "GRAYSCALE";
    case 2: return "RGB";
    case 3: return "PALETTE_INDEX";
    case 4: return "GRAYSCALE_ALPHA";
    default: return "RGB_ALPHA";
  }
}

std::string pam_header(const Ihdr& h) {
  return "P7\nWIDTH " + std::to_string(h.width) + "\nHEIGHT " + std::to_string(h.height) + "\nDEPTH " +
         std::to_string(h.channels()) + "\nMAXVAL " + std::to_string(h.maxval()) + "\nTUPLTYPE " + tupltype(h.colour) +
         "\nENDHDR\n";
}

// ---- writing a PNG back ----------------------------------------------------

void put_chunk(std::vector<uint8_t>& out, const char* type, const uint8_t* data, size_t n) {
  put_be32(out, static_cast<uint32_t>(n));
  const size_t at = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data, data + n);
  put_be32(out, static_cast<uint32_t>(crc32(0, out.data() + at, static_cast<uInt>(4 + n))));
}

uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return static_cast<uint8_t>(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

// Appends one filtered scanline (filter byte first). Palette and sub-byte
// images use no filter, as the PNG specification advises; others the
// filter with the smallest sum of absolute (signed) values.
void filter_row(const std::vector<uint8_t>& cur, const std::vector<uint8_t>& prev, size_t bpp, bool plain,
                std::vector<uint8_t>& out, std::vector<uint8_t>& trial) {
  const size_t n = cur.size();
  if (plain) {
    out.push_back(0);
    out.insert(out.end(), cur.begin(), cur.end());
    return;
  }
  uint64_t best_cost = UINT64_MAX;
  int best = 0;
  std::vector<uint8_t> best_row;
  for (int f = 0; f < 5; ++f) {
    trial.resize(n);
    uint64_t cost = 0;
    for (size_t i = 0; i < n; ++i) {
      const int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      const int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, c);
      trial[i] = static_cast<uint8_t>(cur[i] - pred);
      cost += static_cast<uint64_t>(std::abs(static_cast<int>(static_cast<int8_t>(trial[i]))));
    }
    if (cost < best_cost) {
      best_cost = cost;
      best = f;
      best_row.swap(trial);
    }
  }
  out.push_back(static_cast<uint8_t>(best));
  out.insert(out.end(), best_row.begin(), best_row.end());
}

// The filtered scanlines of the image (of its seven Adam7 passes when
// interlaced), ready to deflate.
std::vector<uint8_t> scanlines(const Ihdr& h, const uint8_t* raster) {
  static const unsigned kPass[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                       {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  static const unsigned kWhole[1][4] = {{0, 0, 1, 1}};
  const unsigned ch = h.channels(), sb = h.sample_bytes();
  const size_t pixel = size_t(ch) * sb;
  const size_t bpp = std::max<size_t>(1, ch * h.depth / 8);
  const bool plain = h.colour == 3 || h.depth < 8;
  std::vector<uint8_t> out, cur, prev, trial;
  const unsigned passes = h.interlace ? 7 : 1;
  for (unsigned p = 0; p < passes; ++p) {
    const unsigned* g = h.interlace ? kPass[p] : kWhole[0];
    if (g[0] >= h.width || g[1] >= h.height) continue;  // an empty pass has no scanlines
    const uint64_t cols = (h.width - g[0] + g[2] - 1) / g[2];
    const size_t packed = h.depth < 8 ? static_cast<size_t>((cols * h.depth + 7) / 8) : static_cast<size_t>(cols * pixel);
    prev.assign(packed, 0);
    for (uint64_t y = g[1]; y < h.height; y += g[3]) {
      const uint8_t* row = raster + y * h.row_bytes();
      cur.assign(packed, 0);
      if (h.depth < 8) {
        for (uint64_t i = 0; i < cols; ++i) {
          const unsigned v = row[g[0] + i * g[2]];
          const uint64_t bit = i * h.depth;
          cur[bit / 8] |= static_cast<uint8_t>(v << (8 - h.depth - bit % 8));
        }
      } else {
        for (uint64_t i = 0; i < cols; ++i)
          std::memcpy(&cur[i * pixel], row + (g[0] + i * g[2]) * pixel, pixel);
      }
      filter_row(cur, prev, bpp, plain, out, trial);
      prev.swap(cur);
    }
  }
  return out;
}

// zlib's counts are 32-bit: the input goes in, and the output comes out,
// in steps of at most 1 GiB.
Status deflate_all(const std::vector<uint8_t>& in, std::vector<uint8_t>* out) {
  constexpr size_t kStep = size_t(1) << 30;
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    return Error(ErrorCode::kOutOfMemory, "cannot start deflate");
  out->resize(deflateBound(&z, static_cast<uLong>(in.size())));
  size_t in_pos = 0, out_pos = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (z.avail_in == 0 && in_pos < in.size()) {
      const size_t take = std::min(kStep, in.size() - in_pos);
      z.next_in = const_cast<Bytef*>(in.data() + in_pos);
      z.avail_in = static_cast<uInt>(take);
      in_pos += take;
    }
    if (out_pos == out->size()) out->resize(out->size() + kStep / 16);
    const size_t room = std::min(kStep, out->size() - out_pos);
    z.next_out = out->data() + out_pos;
    z.avail_out = static_cast<uInt>(room);
    rc = deflate(&z, in_pos == in.size() ? Z_FINISH : Z_NO_FLUSH);
    out_pos += room - z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
  }
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Error(ErrorCode::kInternal, "deflate did not finish");
  out->resize(out_pos);
  return Status::Ok();
}

// Parses "NAME value\n" at `*pos` of the layout's header.
bool header_field(std::span<const uint8_t> l, size_t* pos, const char* name, uint64_t* value) {
  const size_t n = std::strlen(name);
  if (l.size() - *pos < n + 2 || std::memcmp(l.data() + *pos, name, n) != 0 || l[*pos + n] != ' ') return false;
  size_t i = *pos + n + 1;
  uint64_t v = 0;
  size_t digits = 0;
  while (i < l.size() && l[i] >= '0' && l[i] <= '9' && digits < 11) v = v * 10 + (l[i++] - '0'), ++digits;
  if (digits == 0 || i >= l.size() || l[i] != '\n') return false;
  *value = v;
  *pos = i + 1;
  return true;
}

}  // namespace

bool is_png(std::span<const uint8_t> data) { return data.size() >= 8 && std::memcmp(data.data(), kSignature, 8) == 0; }

Status png_to_layout(std::span<const uint8_t> png, uint64_t max_bytes, std::vector<uint8_t>* layout, bool* palette) {
  Skeleton sk;
  SIBYL_RETURN_IF_ERROR(split_chunks(png, &sk));
  const Ihdr& h = sk.ihdr;
  // Deflate expands at most about 1032 times: an IHDR that claims more
  // scanline bytes than the IDAT data can hold is refused before anything
  // is allocated for it (a tiny file cannot ask for gigabytes).
  const uint64_t packed_row = 1 + (uint64_t(h.width) * h.channels() * h.depth + 7) / 8;
  const uint64_t most = 1032 * sk.idat_bytes + 1024;
  if (packed_row > most || h.height > most / packed_row)
    return Error(ErrorCode::kInvalidArgument, "not a PNG libpng can decode: more pixels than its image data can hold");
  const uint64_t raster_bytes = h.row_bytes() * h.height;  // < 2^31 * 8 * 2^31: fits
  if (raster_bytes > max_bytes)
    return Error(ErrorCode::kInvalidArgument, "PNG pixels need " + std::to_string(raster_bytes) + " bytes, more than the limit");
  const std::string head = pam_header(h);
  std::vector<uint8_t> out;
  out.reserve(head.size() + raster_bytes + 16 + sk.chunks.size());
  out.assign(head.begin(), head.end());
  out.resize(head.size() + raster_bytes);
  std::vector<png_bytep> rows(h.height);
  char message[256] = "cannot decode it";
  if (!decode_pixels(png, h, out.data() + head.size(), rows.data(), message))
    return Error(ErrorCode::kInvalidArgument, std::string("not a PNG libpng can decode: ") + message);
  out.insert(out.end(), kTrailerMagic, kTrailerMagic + 8);
  put_le32(out, sk.count);
  put_le32(out, sk.idat_at);
  out.insert(out.end(), sk.chunks.begin(), sk.chunks.end());
  *layout = std::move(out);
  if (palette != nullptr) *palette = h.colour == 3;
  return Status::Ok();
}

Status layout_to_png(std::span<const uint8_t> l, std::vector<uint8_t>* png) {
  auto bad = [](const std::string& why) { return Error(ErrorCode::kCorrupt, "not a PNG pixel layout: " + why); };
  size_t pos = 3;
  uint64_t width = 0, height = 0, depth = 0, maxval = 0;
  if (l.size() < 3 || std::memcmp(l.data(), "P7\n", 3) != 0 || !header_field(l, &pos, "WIDTH", &width) ||
      !header_field(l, &pos, "HEIGHT", &height) || !header_field(l, &pos, "DEPTH", &depth) ||
      !header_field(l, &pos, "MAXVAL", &maxval))
    return bad("bad PAM header");
  const uint8_t* end_hdr = static_cast<const uint8_t*>(std::memchr(l.data() + pos, '\n', std::min<size_t>(l.size() - pos, 64)));
  if (end_hdr == nullptr) return bad("bad PAM header");
  pos = static_cast<size_t>(end_hdr - l.data()) + 1;  // the TUPLTYPE line (informative)
  if (l.size() - pos < 7 || std::memcmp(l.data() + pos, "ENDHDR\n", 7) != 0) return bad("bad PAM header");
  pos += 7;
  // The kept chunks follow the raster; the first is IHDR.
  const uint64_t avail = l.size() - pos;
  if (width == 0 || height == 0 || width > kMaxChunk || height > kMaxChunk || depth == 0 || depth > 4)
    return bad("bad image size");
  const uint64_t sample = maxval > 255 ? 2 : 1;
  if (width * depth * sample > avail || height > avail / (width * depth * sample)) return bad("the raster is cut short");
  const uint64_t raster_at = pos, raster_bytes = width * depth * sample * height;
  pos += static_cast<size_t>(raster_bytes);
  if (l.size() - pos < 16 || std::memcmp(l.data() + pos, kTrailerMagic, 8) != 0) return bad("no chunk list");
  const uint32_t count = le32(l.data() + pos + 8), idat_at = le32(l.data() + pos + 12);
  pos += 16;
  if (idat_at == 0 || idat_at > count) return bad("bad IDAT position");
  // Walk the kept chunks: whole, none of them IDAT or IEND, IHDR first.
  std::vector<size_t> starts;
  size_t p = pos;
  for (uint32_t i = 0; i < count; ++i) {
    if (l.size() - p < 12) return bad("a kept chunk is cut short");
    const uint64_t len = be32(l.data() + p);
    if (len > kMaxChunk || len > l.size() - p - 12) return bad("a kept chunk is cut short");
    const uint8_t* type = l.data() + p + 4;
    if (std::memcmp(type, "IDAT", 4) == 0 || std::memcmp(type, "IEND", 4) == 0) return bad("IDAT or IEND kept");
    if (i == 0 && (std::memcmp(type, "IHDR", 4) != 0 || len != 13)) return bad("IHDR is not first");
    starts.push_back(p);
    p += static_cast<size_t>(12 + len);
  }
  if (p != l.size()) return bad("bytes after the chunk list");
  Ihdr h;
  if (!parse_ihdr(l.data() + pos + 8, &h)) return bad("bad IHDR");
  if (h.width != width || h.height != height || h.channels() != depth || h.maxval() != maxval)
    return bad("the PAM header does not match IHDR");
  const uint8_t* raster = l.data() + raster_at;
  if (h.depth < 8) {
    for (uint64_t i = 0; i < raster_bytes; ++i)
      if (raster[i] > maxval) return bad("a sample above its bit depth");
  }
  std::vector<uint8_t> idat;
  SIBYL_RETURN_IF_ERROR(deflate_all(scanlines(h, raster), &idat));
  std::vector<uint8_t> out(kSignature, kSignature + 8);
  out.reserve(8 + (p - pos) + idat.size() + idat.size() / kIdatChunk * 12 + 36);
  for (uint32_t i = 0; i <= count; ++i) {
    if (i == idat_at) {
      for (size_t at = 0; at < idat.size() || at == 0; at += kIdatChunk)
        put_chunk(out, "IDAT", idat.data() + at, std::min(kIdatChunk, idat.size() - at));
    }
    if (i == count) break;
    const size_t s = starts[i], e = i + 1 < count ? starts[i + 1] : p;
    out.insert(out.end(), l.begin() + static_cast<std::ptrdiff_t>(s), l.begin() + static_cast<std::ptrdiff_t>(e));
  }
  put_chunk(out, "IEND", nullptr, 0);
  *png = std::move(out);
  return Status::Ok();
}

}  // namespace sibyl::cli
