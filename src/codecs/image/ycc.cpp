#include "codecs/image/ycc.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>

namespace sibyl::image {
namespace {

// The three terms of the conversion (see ycc.h); C++20's >> of a negative
// value rounds towards −∞, as the decoders' arithmetic shift does.
int cr_to_r(int cr) { return (91881 * (cr - 128) + 32768) >> 16; }
int cb_to_b(int cb) { return (116130 * (cb - 128) + 32768) >> 16; }
int cbcr_to_g(int cb, int cr) { return (-22554 * (cb - 128) + 32768 - 46802 * (cr - 128)) >> 16; }

struct Terms {
  std::array<int16_t, 256> r{}, b{};
  Terms() {
    for (int i = 0; i < 256; ++i) {
      r[static_cast<size_t>(i)] = static_cast<int16_t>(cr_to_r(i));
      b[static_cast<size_t>(i)] = static_cast<int16_t>(cb_to_b(i));
    }
  }
};
const Terms& terms() {
  static const Terms t;
  return t;
}

// For each (R − G, B − G) in −256..255 squared: Cb · 256 + Cr, or −1
// (each pair comes from one (Cb, Cr) at most).
constexpr int kSpan = 512;
const std::vector<int32_t>& lattice() {
  static const std::vector<int32_t> table = [] {
    static_assert(uint64_t(kSpan) * kSpan * sizeof(int32_t) == kYccTableBytes);
    std::vector<int32_t> t(size_t(kSpan) * kSpan, -1);
    for (int cb = 0; cb < 256; ++cb)
      for (int cr = 0; cr < 256; ++cr) {
        const int g = cbcr_to_g(cb, cr);
        const int drg = cr_to_r(cr) - g + kSpan / 2, dbg = cb_to_b(cb) - g + kSpan / 2;
        // (Differences of samples lie in −255..255; the lattice reaches ±362.)
        if (drg >= 0 && drg < kSpan && dbg >= 0 && dbg < kSpan)
          t[static_cast<size_t>(drg) * kSpan + static_cast<size_t>(dbg)] = cb * 256 + cr;
      }
    return t;
  }();
  return table;
}

int clamp255(int v) { return std::clamp(v, 0, 255); }

// The Y that give sample value v from Y + term: one value, or every Y on
// the clamped side when v is 0 or 255. Narrows [lo, hi].
void narrow(int v, int term, int& lo, int& hi) {
  if (v == 0) {
    hi = std::min(hi, -term);
  } else if (v == 255) {
    lo = std::max(lo, 255 - term);
  } else {
    lo = std::max(lo, v - term);
    hi = std::min(hi, v - term);
  }
}

struct Ycc {
  int y, cb, cr;
};

// Some (Y, Cb, Cr) that gives (r, g, b) through clamping, nearest (in
// |ΔCb| + |ΔCr| within the first ring of candidates that holds one) to
// the target; Y as near the target's as the samples allow. `work` counts
// the candidates tried.
constexpr int kMaxRadius = 64;
bool search(int r, int g, int b, const Ycc& target, Ycc* out, uint64_t* work) {
  const Terms& t = terms();
  for (int rad = 0; rad <= kMaxRadius; ++rad) {
    int best = INT_MAX;
    for (int dcb = -rad; dcb <= rad; ++dcb) {
      const int cb = target.cb + dcb;
      if (cb < 0 || cb > 255) continue;
      const bool edge = dcb == -rad || dcb == rad;
      for (int dcr = -rad; dcr <= rad; dcr += edge || rad == 0 ? 1 : 2 * rad) {
        const int cr = target.cr + dcr;
        if (cr < 0 || cr > 255) continue;
        ++*work;
        const int score = std::abs(dcb) + std::abs(dcr);
        if (score >= best) continue;
        int lo = 0, hi = 255;
        narrow(r, t.r[static_cast<size_t>(cr)], lo, hi);
        narrow(g, cbcr_to_g(cb, cr), lo, hi);
        narrow(b, t.b[static_cast<size_t>(cb)], lo, hi);
        if (lo > hi) continue;
        best = score;
        *out = {std::clamp(target.y, lo, hi), cb, cr};
      }
    }
    if (best != INT_MAX) return true;
  }
  return false;
}

}  // namespace

Rgb ycc_to_rgb(int y, int cb, int cr) {
  const Terms& t = terms();
  return {clamp255(y + t.r[static_cast<size_t>(cr)]), clamp255(y + cbcr_to_g(cb, cr)),
          clamp255(y + t.b[static_cast<size_t>(cb)])};
}

bool rgb_to_ycc(const uint8_t* src, const YccLayout& l, uint64_t max_escapes, std::vector<uint8_t>& out,
                std::vector<YccEscape>& escapes) {
  const uint64_t bytes = l.rows * l.row_bytes;
  escapes.clear();
  // Samples within 1..254 cannot have been clamped: such a pixel off the
  // lattice is an escape whatever is searched. Counted first, so that
  // other images are turned down at the cost of one table lookup a pixel.
  const std::vector<int32_t>& lat = lattice();
  const auto lookup = [&](int r, int g, int b) {
    return lat[static_cast<size_t>(r - g + kSpan / 2) * kSpan + static_cast<size_t>(b - g + kSpan / 2)];
  };
  const auto clamped = [](int r, int g, int b) { return r == 0 || g == 0 || b == 0 || r == 255 || g == 255 || b == 255; };
  uint64_t certain = 0;
  for (uint64_t y = 0; y < l.rows; ++y) {
    const uint8_t* p = src + y * l.row_bytes;
    for (uint32_t x = 0; x < l.width; ++x, p += l.channels) {
      const int r = p[l.r_at], g = p[1], b = p[l.b_at];
      if (!clamped(r, g, b) && lookup(r, g, b) < 0 && ++certain > max_escapes) return false;
    }
  }
  out.assign(src, src + bytes);
  // The search's work is bounded: 4 candidates a pixel on average at most
  // (decoded JPEGs need fewer than one: the flower 0.45, others 0.36-0.68).
  const uint64_t budget = 4 * uint64_t(l.width) * l.rows + 65536;
  uint64_t work = 0;
  for (uint64_t y = 0; y < l.rows; ++y) {
    uint8_t* row = out.data() + y * l.row_bytes;
    const uint8_t* above = y > 0 ? row - l.row_bytes : nullptr;
    for (uint32_t x = 0; x < l.width; ++x) {
      uint8_t* p = row + uint64_t(x) * l.channels;
      const int r = p[l.r_at], g = p[1], b = p[l.b_at];
      Ycc v{0, 0, 0};
      bool ok = false;
      const int32_t cbcr = lookup(r, g, b);
      if (cbcr >= 0) {
        // On the lattice, Y = G − the G term in 0..255 gives the three
        // samples exactly (R = Y + the R term, B likewise, none clamped).
        v = {g - cbcr_to_g(cbcr >> 8, cbcr & 255), cbcr >> 8, cbcr & 255};
        ok = v.y >= 0 && v.y <= 255;
      }
      if (!ok) {
        // The target: the gradient W + N − NW of the (Y, Cb, Cr) chosen
        // so far, or W or N alone on the first row and column (in the
        // flower's dark corners 0.9 % smaller than their mean).
        Ycc target{g, 128, 128};
        const uint8_t* w = x > 0 ? p - l.channels : nullptr;
        const uint8_t* n = above != nullptr ? above + uint64_t(x) * l.channels : nullptr;
        const auto at = [&](const uint8_t* q) { return Ycc{q[1], q[l.b_at], q[l.r_at]}; };
        if (w != nullptr && n != nullptr) {
          const Ycc a = at(w), b2 = at(n), c = at(n - l.channels);
          target = {clamp255(a.y + b2.y - c.y), clamp255(a.cb + b2.cb - c.cb), clamp255(a.cr + b2.cr - c.cr)};
        } else if (w != nullptr || n != nullptr) {
          target = at(w != nullptr ? w : n);
        }
        ok = clamped(r, g, b) && work <= budget && search(r, g, b, target, &v, &work);
        if (!ok) {
          if (escapes.size() >= max_escapes) return false;
          escapes.push_back({y * l.width + x, static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)});
          v = target;  // what the pixel's samples hold; the escape restores it
        }
      }
      p[l.r_at] = static_cast<uint8_t>(v.cr);
      p[1] = static_cast<uint8_t>(v.y);
      p[l.b_at] = static_cast<uint8_t>(v.cb);
    }
  }
  return true;
}

void ycc_rows_to_rgb(uint8_t* rows, const YccLayout& l) {
  for (uint64_t y = 0; y < l.rows; ++y) {
    uint8_t* p = rows + y * l.row_bytes;
    for (uint32_t x = 0; x < l.width; ++x, p += l.channels) {
      const Rgb c = ycc_to_rgb(p[1], p[l.b_at], p[l.r_at]);
      p[l.r_at] = static_cast<uint8_t>(c.r);
      p[1] = static_cast<uint8_t>(c.g);
      p[l.b_at] = static_cast<uint8_t>(c.b);
    }
  }
}

}  // namespace sibyl::image
