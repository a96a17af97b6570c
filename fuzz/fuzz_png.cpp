// --png-pixels on hostile bytes (tools/cli/png_pixels.cpp). The input is
// taken both as a PNG file and as a PNG pixel layout (what `sibyl -d`
// reads from a flagged archive, which a hostile archive controls):
// - a PNG that libpng reads must give a layout that writes back to a PNG
//   which reads to the same layout;
// - a layout is either refused or written to a PNG; never a crash, a hang or
//   an allocation beyond a small multiple of the input.
// A seed PNG's layout is also fed after a 1-byte change chosen by the input,
// so the layout parser sees near-valid layouts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "png_pixels.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sibyl::cli;
  const std::span<const uint8_t> in(data, size);
  constexpr uint64_t kLimit = uint64_t(64) << 20;
  std::vector<uint8_t> layout, png, again;
  if (png_to_layout(in, kLimit, &layout).ok()) {
    if (!layout_to_png(layout, &png).ok()) std::abort();
    if (!png_to_layout(png, kLimit, &again).ok() || again != layout) std::abort();
    // The layout with one byte changed (position and value from the input).
    if (size >= 4) {
      std::vector<uint8_t> t = layout;
      const size_t at = (size_t(data[size - 1]) << 8 | data[size - 2]) * 977 % t.size();
      t[at] ^= static_cast<uint8_t>(data[size - 3] | 1);
      (void)layout_to_png(t, &png);
      t.resize(at);
      (void)layout_to_png(t, &png);
    }
  }
  (void)layout_to_png(in, &png);
  return 0;
}
