#include "codecs/image/pnm.h"

#include <cstring>
#include <string>

#include "codecs/image/image_codec.h"

namespace sibyl::image {

namespace {

constexpr size_t kMaxHeader = 4096;

bool is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// A cursor over the header bytes.
struct Reader {
  std::span<const uint8_t> b;
  size_t pos = 0;
  // Skips whitespace and '#' comments (to the end of the line).
  void skip() {
    while (pos < b.size()) {
      if (is_space(b[pos])) {
        ++pos;
      } else if (b[pos] == '#') {
        while (pos < b.size() && b[pos] != '\n' && b[pos] != '\r') ++pos;
      } else {
        break;
      }
    }
  }
  // A decimal number below 2^31.
  bool number(uint64_t* out) {
    skip();
    size_t start = pos;
    uint64_t v = 0;
    while (pos < b.size() && b[pos] >= '0' && b[pos] <= '9') {
      v = v * 10 + (b[pos] - '0');
      if (v >= (uint64_t(1) << 31)) return false;
      ++pos;
    }
    *out = v;
    return pos > start;
  }
  // A whitespace-free token (PAM keywords and values).
  std::string token() {
    skip();
    std::string t;
    while (pos < b.size() && !is_space(b[pos]) && t.size() < 64) t.push_back(static_cast<char>(b[pos++]));
    return t;
  }
};

tensor::Layout make_layout(uint64_t header, uint32_t width, uint64_t height, unsigned channels, uint32_t maxval) {
  tensor::Layout l;
  if (width == 0 || height == 0 || channels == 0 || channels > kMaxChannels || maxval == 0 || maxval > 65535) return l;
  if (uint64_t(width) * channels > kMaxRowSamples) return l;
  l.container = "pnm";
  l.header_bytes = header;
  tensor::Region r;
  r.offset = header;
  r.row = channels;
  r.width = width;
  r.image_bytes = maxval > 255 ? 2 : 1;
  r.big_endian = true;
  r.maxval = maxval;
  r.bytes = uint64_t(width) * height * channels * r.image_bytes;
  l.regions.push_back(r);
  return l;
}

}  // namespace

tensor::Layout detect_pnm(std::span<const uint8_t> prefix) {
  if (prefix.size() < 3 || prefix[0] != 'P' || (prefix[1] != '5' && prefix[1] != '6' && prefix[1] != '7'))
    return {};
  Reader r{prefix.subspan(0, std::min(prefix.size(), kMaxHeader)), 2};
  if (r.pos >= r.b.size() || !is_space(r.b[r.pos])) return {};
  uint64_t w = 0, h = 0, maxval = 0, depth = 0;
  if (prefix[1] != '7') {
    if (!r.number(&w) || !r.number(&h) || !r.number(&maxval)) return {};
    // Exactly one whitespace byte ends the header.
    if (r.pos >= r.b.size() || !is_space(r.b[r.pos])) return {};
    depth = prefix[1] == '5' ? 1 : 3;
    return make_layout(r.pos + 1, static_cast<uint32_t>(w), h, static_cast<unsigned>(depth),
                       static_cast<uint32_t>(maxval));
  }
  // PAM: "KEY value" lines up to ENDHDR.
  bool have_w = false, have_h = false, have_d = false, have_m = false;
  for (int lines = 0; lines < 64; ++lines) {
    const std::string key = r.token();
    if (key.empty()) return {};
    if (key == "ENDHDR") {
      // The header ends with the newline after ENDHDR.
      if (r.pos >= r.b.size() || r.b[r.pos] != '\n') return {};
      if (!have_w || !have_h || !have_d || !have_m) return {};
      return make_layout(r.pos + 1, static_cast<uint32_t>(w), h, static_cast<unsigned>(depth),
                         static_cast<uint32_t>(maxval));
    }
    if (key == "WIDTH") {
      have_w = r.number(&w);
    } else if (key == "HEIGHT") {
      have_h = r.number(&h);
    } else if (key == "DEPTH") {
      have_d = r.number(&depth);
    } else if (key == "MAXVAL") {
      have_m = r.number(&maxval);
    } else if (key == "TUPLTYPE") {
      // The rest of the line.
      while (r.pos < r.b.size() && r.b[r.pos] != '\n') ++r.pos;
    } else {
      return {};
    }
  }
  return {};
}

tensor::Layout raw_image_layout(uint32_t width, unsigned channels, unsigned depth, uint64_t height) {
  tensor::Layout l;
  if (width == 0 || channels == 0 || channels > kMaxChannels || (depth != 8 && depth != 16)) return l;
  if (uint64_t(width) * channels > kMaxRowSamples) return l;
  l.container = "raw";
  tensor::Region r;
  r.row = channels;
  const uint64_t row_bytes = uint64_t(width) * channels * (depth / 8);
  r.bytes = height == 0 || height > UINT64_MAX / row_bytes ? UINT64_MAX : height * row_bytes;
  r.width = width;
  r.image_bytes = depth == 16 ? 2 : 1;
  r.big_endian = false;
  r.maxval = depth == 16 ? 65535 : 255;
  l.regions.push_back(r);
  return l;
}

}  // namespace sibyl::image
