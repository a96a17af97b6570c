// Generated audio for tests: deterministic tones plus noise, written as
// WAV files (plain or WAVE_FORMAT_EXTENSIBLE, with optional extra chunks).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace sibyl::test {

struct WavSpec {
  int format = 1;        // 1 PCM, 3 float
  int bits = 16;
  int channels = 2;
  uint64_t frames = 20000;
  bool extensible = false;
  bool list_before = false;  // an odd-sized LIST chunk before fmt
  bool chunk_after = false;  // a chunk after the data
  int cut = 0;               // bytes removed from the end of the data (a truncated last frame)
  uint32_t seed = 1;
  bool correlated = true;    // channels share most of their signal
};

inline void put_u16(std::vector<uint8_t>& v, uint32_t x) {
  v.push_back(static_cast<uint8_t>(x));
  v.push_back(static_cast<uint8_t>(x >> 8));
}
inline void put_u32(std::vector<uint8_t>& v, uint32_t x) {
  for (int i = 0; i < 4; ++i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

// Samples in [-1, 1): a few tones with slow vibrato and some noise.
inline std::vector<double> make_signal(uint64_t frames, int channels, uint32_t seed, bool correlated) {
  std::vector<double> s(frames * static_cast<uint64_t>(channels));
  uint32_t r = seed * 2654435761u + 1;
  auto noise = [&r] {
    r ^= r << 13;
    r ^= r >> 17;
    r ^= r << 5;
    return (static_cast<double>(r & 0xffff) / 65536.0 - 0.5);
  };
  for (uint64_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i);
    const double base = 0.4 * std::sin(t * 0.031 + 0.002 * std::sin(t * 0.0007)) + 0.2 * std::sin(t * 0.117) +
                        0.1 * std::sin(t * 0.53);
    for (int c = 0; c < channels; ++c) {
      const double own = 0.3 * std::sin(t * (0.02 + 0.013 * c) + c);
      s[i * static_cast<uint64_t>(channels) + static_cast<uint64_t>(c)] =
          (correlated ? base * (1.0 - 0.1 * c) + 0.1 * own : own + 0.2 * std::sin(t * 0.07 * (c + 1))) + 0.01 * noise();
    }
  }
  return s;
}

inline void encode_samples(const std::vector<double>& s, int format, int bits, std::vector<uint8_t>& out) {
  for (double v : s) {
    if (format == 3) {
      const float f = static_cast<float>(v);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      put_u32(out, u);
    } else if (bits == 8) {
      out.push_back(static_cast<uint8_t>(std::lround(v * 127.0) + 128));
    } else {
      const int64_t q = std::llround(v * static_cast<double>((int64_t(1) << (bits - 1)) - 1));
      for (int b = 0; b < bits / 8; ++b) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(q) >> (8 * b)));
    }
  }
}

inline std::vector<uint8_t> make_wav(const WavSpec& w) {
  std::vector<uint8_t> data;
  encode_samples(make_signal(w.frames, w.channels, w.seed, w.correlated), w.format, w.bits, data);
  data.resize(data.size() - static_cast<size_t>(w.cut));
  std::vector<uint8_t> f = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E'};
  if (w.list_before) {
    const std::string info = "LIST info, odd";  // 15 bytes: padded
    f.insert(f.end(), {'L', 'I', 'S', 'T'});
    put_u32(f, static_cast<uint32_t>(info.size() + 1));
    f.insert(f.end(), info.begin(), info.end());
    f.push_back('!');
    f.push_back(0);  // pad byte
  }
  f.insert(f.end(), {'f', 'm', 't', ' '});
  put_u32(f, w.extensible ? 40 : 16);
  put_u16(f, w.extensible ? 0xfffe : static_cast<uint32_t>(w.format));
  put_u16(f, static_cast<uint32_t>(w.channels));
  put_u32(f, 44100);
  put_u32(f, 44100u * static_cast<uint32_t>(w.channels * w.bits / 8));
  put_u16(f, static_cast<uint32_t>(w.channels * w.bits / 8));
  put_u16(f, static_cast<uint32_t>(w.bits));
  if (w.extensible) {
    put_u16(f, 22);
    put_u16(f, static_cast<uint32_t>(w.bits));
    put_u32(f, 3);
    put_u16(f, static_cast<uint32_t>(w.format));
    const uint8_t tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71};
    f.insert(f.end(), tail, tail + 14);
  }
  f.insert(f.end(), {'d', 'a', 't', 'a'});
  put_u32(f, static_cast<uint32_t>(data.size()));
  f.insert(f.end(), data.begin(), data.end());
  if (data.size() & 1) f.push_back(0);
  if (w.chunk_after) {
    f.insert(f.end(), {'i', 'd', '3', ' '});
    put_u32(f, 9);
    const char tag[] = "TAG-bytes";
    f.insert(f.end(), tag, tag + 9);
    f.push_back(0);
  }
  const uint32_t riff = static_cast<uint32_t>(f.size() - 8);
  for (int i = 0; i < 4; ++i) f[4 + static_cast<size_t>(i)] = static_cast<uint8_t>(riff >> (8 * i));
  return f;
}

}  // namespace sibyl::test
