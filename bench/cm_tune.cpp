// Tuning bench of the strong byte model (codec 6): codes each file as one
// block with the codec's knobs overridden, checks the round trip and prints
// the payload bytes per file, the total and the speed.
//   sibyl_cm_tune [knob=value]... FILE...
// Knobs: table=LOG2 match=LOG2 ctx=HEXMASK (the codec's parameters),
// sm (state-map count limit), mr (mixer rate), ar (APM rate), ms (final
// mixer shift), dec=0 (encode only, no round-trip check), pf=0 (no early fetch of
// the second nibble's buckets; the same output).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "codecs/bytes/cm.h"

using namespace sibyl;

int main(int argc, char** argv) {
  CmTuning& t = cm_tuning();
  CmConfig c;
  bool decode = true;
  c.contexts = (1u << kCmContextKinds) - 1;
  int i = 1;
  for (; i < argc && std::strchr(argv[i], '='); ++i) {
    const std::string a = argv[i], k = a.substr(0, a.find('=')), val = a.substr(a.find('=') + 1);
    const int v = std::atoi(val.c_str());
    if (k == "table") c.table_log = static_cast<uint8_t>(v);
    else if (k == "match") c.match_log = static_cast<uint8_t>(v);
    else if (k == "ctx") c.contexts = static_cast<uint32_t>(std::strtoul(val.c_str(), nullptr, 16));
    else if (k == "sm") t.sm_limit = v;
    else if (k == "mr") t.mixer_rate = v;
    else if (k == "ar") t.apm_rate = v;
    else if (k == "ms") t.mixer_shift = v;
    else if (k == "apm") t.apm = v;
    else if (k == "x86") t.x86 = v;
    else if (k == "dec") decode = v != 0;
    else if (k == "pf") t.prefetch = v;
    else {
      std::fprintf(stderr, "unknown knob %s\n", k.c_str());
      return 2;
    }
  }
  size_t total = 0, total_in = 0;
  double enc_s = 0, dec_s = 0;
  for (; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    std::vector<uint8_t> in((std::istreambuf_iterator<char>(f)), {});
    const CmConfig fc = c.fitted(in.size());
    std::vector<uint8_t> out, back(in.size());
    auto t0 = std::chrono::steady_clock::now();
    Status s = cm_encode(fc, in, out);
    auto t1 = std::chrono::steady_clock::now();
    if (s.ok() && decode) s = cm_decode(fc, out, back);
    if (!decode) back = in;
    auto t2 = std::chrono::steady_clock::now();
    enc_s += std::chrono::duration<double>(t1 - t0).count();
    dec_s += std::chrono::duration<double>(t2 - t1).count();
    if (!s.ok() || back != in) {
      std::fprintf(stderr, "%s: round trip failed %s\n", argv[i], s.message().c_str());
      return 1;
    }
    const char* name = std::strrchr(argv[i], '/');
    std::printf("%-32s %10zu %9zu%s\n", name ? name + 1 : argv[i], in.size(), out.size(), !out.empty() && out[0] & 1 ? "  (x86)" : "");
    total += out.size();
    total_in += in.size();
  }
  std::printf("%-32s %10zu %9zu  enc %.2f MB/s  dec %.2f MB/s\n", "total", total_in, total, total_in / 1e6 / enc_s,
              total_in / 1e6 / dec_s);
  return 0;
}
