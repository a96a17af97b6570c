// Tuning bench of the image codec: codes PNM files (one block each) with
// the codec's knobs overridden and prints the payload bytes and bits per
// sub-pixel per file, checking every round trip.
//   sibyl_image_tune [knob=value]... FILE...
// Knobs: hash=LOG2 ols=0..2 (the codec's parameters), ld lh
// (adaptation limits of the direct and hashed models), mr (mixer rate),
// ar (APM rate), bl (bias count limit), grid=0 / ycc=0 (the encoder never
// marks a block grid / codes colours as Y, Cb, Cr), ver (parameter version).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "codecs/image/image_codec.h"
#include "codecs/image/pnm.h"

using namespace sibyl;

int main(int argc, char** argv) {
  image::ImageTuning& t = image::image_tuning();
  image::ImageConfig c;
  int i = 1;
  for (; i < argc && std::strchr(argv[i], '='); ++i) {
    const std::string a = argv[i], k = a.substr(0, a.find('=')), val = a.substr(a.find('=') + 1);
    const int v = std::atoi(val.c_str());
    if (k == "hash") c.hash_log = static_cast<uint8_t>(v);
    else if (k == "ld") t.limit_direct = v;
    else if (k == "lh") t.limit_hash = v;
    else if (k == "mr") t.mixer_rate = v;
    else if (k == "ar") t.apm_rate = v;
    else if (k == "bl") t.bias_limit = v;
    else if (k == "ols") c.ols = static_cast<uint8_t>(v);
    else if (k == "stats") t.stats = v;
    else if (k == "o2l") t.ols2_lambda = v;
    else if (k == "ol") t.ols_lambda = v;
    else if (k == "op") t.ols_period = v;
    else if (k == "oreg") t.ols_reg = v;
    else if (k == "grid") t.grid = v;
    else if (k == "ycc") t.ycc = v;
    else if (k == "ver") c.version = static_cast<uint8_t>(v);
    else {
      std::fprintf(stderr, "unknown knob %s\n", k.c_str());
      return 2;
    }
  }
  size_t total = 0;
  double bits = 0, subpixels = 0, enc_s = 0, dec_s = 0;
  for (; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    std::vector<uint8_t> in((std::istreambuf_iterator<char>(f)), {});
    const tensor::Layout l = image::detect_pnm(in);
    if (l.empty()) {
      std::fprintf(stderr, "%s: not a PNM file\n", argv[i]);
      return 1;
    }
    const std::span<const uint8_t> body(in.data() + l.header_bytes, in.size() - l.header_bytes);
    const auto segs = tensor::block_segments(l, l.header_bytes, body.size());
    std::vector<uint8_t> out, back(body.size());
    auto t0 = std::chrono::steady_clock::now();
    Status s = image::image_encode(c, segs, body, out);
    auto t1 = std::chrono::steady_clock::now();
    if (s.ok()) s = image::image_decode(c, out, back);
    auto t2 = std::chrono::steady_clock::now();
    enc_s += std::chrono::duration<double>(t1 - t0).count();
    dec_s += std::chrono::duration<double>(t2 - t1).count();
    if (!s.ok() || std::memcmp(back.data(), body.data(), body.size()) != 0) {
      std::fprintf(stderr, "%s: round trip failed %s\n", argv[i], s.message().c_str());
      return 1;
    }
    const double n = static_cast<double>(body.size()) / l.regions[0].image_bytes;
    const char* name = std::strrchr(argv[i], '/');
    std::printf("%-42s %10zu %6.3f bpsp\n", name ? name + 1 : argv[i], out.size(), out.size() * 8.0 / n);
    total += out.size();
    bits += out.size() * 8.0;
    subpixels += n;
  }
  if (t.stats) {
    for (int j = 0; j < 64; ++j)
      if (t.cost[j] > 0) std::printf("slot %2d %10.0f bytes %9lu decisions %9lu ones\n", j, t.cost[j] / 16, (unsigned long)t.n[j], (unsigned long)t.ones[j]);
  }
  std::printf("TOTAL %zu  %.4f bpsp  (encode %.2f s, decode %.2f s)\n", total, bits / subpixels, enc_s, dec_s);
  return 0;
}
