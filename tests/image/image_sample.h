// Generated images for the image codec's tests: a photo-like picture
// (smooth shading, edges, sensor-like noise) or a synthetic one (flat
// areas, repeated patterns), as PNM (P5/P6/P7) or raw pixels.
#pragma once

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

}  // namespace sibyl::test
