// Tuning bench of the audio codec: codes WAV files (or raw PCM with
// sample=F channels=C) block by block with the codec's knobs overridden and
// prints the payload bytes per file, checking every round trip.
//   sibyl_audio_tune [knob=value]... FILE...
// Knobs: long=LOG2 ols=TAPS (the codec's parameters), order (encoder LPC
// cap), ls lm (long LMS shift and step), sm (stereo NLMS step 2^-x), op (OLS solve period), ol (1 - lambda in 1e-4), oreg, mix (mixer
// step in 1e-5), max=BYTES (first bytes of each file only).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "codecs/audio/audio_codec.h"
#include "codecs/audio/wav.h"

using namespace sibyl;

int main(int argc, char** argv) {
  audio::AudioTuning& t = audio::audio_tuning();
  audio::AudioConfig c;
  size_t limit = 0;
  audio::Sample raw = audio::Sample::kNone;
  unsigned channels = 1;
  int i = 1;
  for (; i < argc && std::strchr(argv[i], '='); ++i) {
    const std::string a = argv[i], k = a.substr(0, a.find('=')), val = a.substr(a.find('=') + 1);
    const int v = std::atoi(val.c_str());
    if (k == "order") t.max_order = v;
    else if (k == "ls") t.long_shift = v;
    else if (k == "lm") t.long_mu = v;
    else if (k == "sm") t.stereo_mu = v;
    else if (k == "op") t.ols_period = v;
    else if (k == "ol") t.ols_lambda = 1.0 - v / 10000.0;
    else if (k == "oreg") t.ols_reg = v;
    else if (k == "mix") t.mix_mu = v / 100000.0;
    else if (k == "long") c.long_log = static_cast<uint8_t>(v);
    else if (k == "ols") c.ols_taps = static_cast<uint8_t>(v);
    else if (k == "max") limit = static_cast<size_t>(std::atoll(val.c_str()));
    else if (k == "sample" && audio::parse_sample_name(val, &raw)) continue;
    else if (k == "channels") channels = static_cast<unsigned>(v);
    else {
      std::fprintf(stderr, "unknown knob %s\n", k.c_str());
      return 2;
    }
  }
  size_t total = 0;
  double seconds = 0;
  for (; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    std::vector<uint8_t> in((std::istreambuf_iterator<char>(f)), {});
    if (limit != 0 && in.size() > limit) in.resize(limit);
    const tensor::Layout l = raw != audio::Sample::kNone ? tensor::raw_audio_layout(raw, channels)
                                                          : tensor::detect_layout(in, in.size());
    if (l.empty()) {
      std::fprintf(stderr, "%s: not a WAV file\n", argv[i]);
      return 1;
    }
    const std::span<const uint8_t> body(in.data() + l.header_bytes, in.size() - l.header_bytes);
    const auto segs = tensor::block_segments(l, l.header_bytes, body.size());
    std::vector<uint8_t> out, back(body.size());
    const auto start = std::chrono::steady_clock::now();
    Status s = audio::audio_encode(c, segs, body, out);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (s.ok()) s = audio::audio_decode(c, out, back);
    if (!s.ok() || std::memcmp(back.data(), body.data(), body.size()) != 0) {
      std::fprintf(stderr, "%s: round trip failed %s\n", argv[i], s.message().c_str());
      return 1;
    }
    const char* name = std::strrchr(argv[i], '/');
    std::printf("%-45s %10zu\n", name ? name + 1 : argv[i], out.size());
    total += out.size();
  }
  std::printf("TOTAL %zu (encode %.2f s)\n", total, seconds);
  return 0;
}
