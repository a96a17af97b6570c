// Audio codec (id 4): WAV detection, raw PCM, every sample format, stereo
// pairings, float mappings, hostile payloads, and the same bytes for any
// thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "codecs/audio/audio_codec.h"
#include "codecs/audio/wav.h"
#include "codecs/codec.h"
#include "engine/decoder.h"
#include "engine/encoder.h"
#include "engine/listing.h"
#include "vector_source.h"
#include "../../audio/wav_sample.h"

namespace sibyl::audio {
namespace {

using test::make_wav;
using test::WavSpec;

using test::VectorSource;

std::vector<uint8_t> compress(const std::vector<uint8_t>& in, EncodeOptions o = {}) {
  std::vector<uint8_t> out;
  const Status s = compress_buffer(in, o, out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

// Compresses, decompresses, compares bytes; returns the archive.
std::vector<uint8_t> roundtrip(const std::vector<uint8_t>& in, EncodeOptions o = {}) {
  const std::vector<uint8_t> z = compress(in, o);
  std::vector<uint8_t> back;
  const Status s = decompress_buffer(z, DecodeOptions{}, back);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(back == in);
  return z;
}

std::vector<uint16_t> block_codecs(const std::vector<uint8_t>& z) {
  VectorSource src(z);
  std::vector<FrameListing> frames;
  EXPECT_TRUE(list_archive(src, &frames).ok());
  std::vector<uint16_t> ids;
  for (const auto& f : frames)
    for (const auto& e : f.end.index) ids.push_back(e.codec);
  return ids;
}

bool has_audio_block(const std::vector<uint8_t>& z) {
  const auto ids = block_codecs(z);
  return std::find(ids.begin(), ids.end(), static_cast<uint16_t>(kCodecAudio)) != ids.end();
}

// ---- detection ------------------------------------------------------------------

TEST(AudioWav, FindsTheSamplesOfEveryFormat) {
  struct Case {
    int format, bits;
    bool ext;
    Sample want;
  } cases[] = {{1, 8, false, Sample::kU8},   {1, 16, false, Sample::kS16}, {1, 24, true, Sample::kS24},
               {1, 32, false, Sample::kS32}, {3, 32, false, Sample::kF32}, {3, 32, true, Sample::kF32}};
  for (const Case& c : cases) {
    WavSpec w;
    w.format = c.format;
    w.bits = c.bits;
    w.extensible = c.ext;
    w.channels = 3;
    w.frames = 100;
    w.list_before = true;
    const std::vector<uint8_t> f = make_wav(w);
    const tensor::Layout l = detect_wav(f);
    ASSERT_EQ(l.container, "wav") << c.bits;
    ASSERT_EQ(l.regions.size(), 1u);
    EXPECT_EQ(l.regions[0].sample, c.want);
    EXPECT_EQ(l.regions[0].row, 3u);
    EXPECT_EQ(l.regions[0].offset, l.header_bytes);
    EXPECT_EQ(l.regions[0].bytes, 100u * 3 * static_cast<unsigned>(c.bits / 8));
    EXPECT_EQ(std::memcmp(f.data() + l.header_bytes - 8, "data", 4), 0);
  }
}

TEST(AudioWav, RejectsWhatItCannotCode) {
  const std::vector<uint8_t> good = make_wav(WavSpec{});
  ASSERT_FALSE(detect_wav(good).empty());
  auto broken = [&](size_t at, uint8_t v) {
    std::vector<uint8_t> f = good;
    f[at] = v;
    return detect_wav(f).empty();
  };
  // fmt body starts at 20: tag, channels, rate, byte rate, align, bits
  EXPECT_TRUE(broken(20, 2));    // ADPCM
  EXPECT_TRUE(broken(22, 0));    // no channels
  EXPECT_TRUE(broken(22, 33));   // more than kMaxChannels
  EXPECT_TRUE(broken(32, 3));    // block align disagrees
  EXPECT_TRUE(broken(34, 12));   // 12-bit
  EXPECT_TRUE(broken(8, 'X'));   // not WAVE
  EXPECT_TRUE(detect_wav(std::span<const uint8_t>(good.data(), 30)).empty());  // header cut short
  // A data chunk before any fmt chunk.
  std::vector<uint8_t> f = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E', 'd', 'a', 't', 'a', 4, 0, 0, 0, 1, 2, 3, 4};
  EXPECT_TRUE(detect_wav(f).empty());
}

// ---- round trips -------------------------------------------------------------------

TEST(AudioCodec, EveryFormatAndLayoutRoundTripsThroughTheAudioCodec) {
  for (int bits : {8, 16, 24, 32}) {
    for (int channels : {1, 2, 3, 6}) {
      WavSpec w;
      w.bits = bits;
      w.channels = channels;
      w.frames = 5000 + static_cast<uint64_t>(channels) * 1000;
      w.extensible = channels > 2;
      w.chunk_after = channels == 2;
      w.list_before = bits == 24;
      w.cut = channels == 3 ? 1 : 0;  // a truncated last frame
      const std::vector<uint8_t> f = make_wav(w);
      const std::vector<uint8_t> z = roundtrip(f);
      if (bits > 8) {
        EXPECT_TRUE(has_audio_block(z)) << bits << "-bit, " << channels << " channels";
      }
    }
  }
}

TEST(AudioCodec, FrameBoundariesAndTinySegments) {
  for (uint64_t frames : {uint64_t(0), uint64_t(1), uint64_t(31), uint64_t(4095), uint64_t(4096), uint64_t(4097),
                          uint64_t(8200)}) {
    WavSpec w;
    w.frames = frames;
    roundtrip(make_wav(w));
  }
}

TEST(AudioCodec, BeatsTheByteModelOnTones) {
  WavSpec w;
  w.frames = 60000;
  const std::vector<uint8_t> f = make_wav(w);
  EncodeOptions bytes;
  bytes.kind = DataKind::kBytes;
  const size_t as_audio = roundtrip(f).size(), as_bytes = roundtrip(f, bytes).size();
  EXPECT_LT(as_audio * 10, as_bytes * 8) << as_audio << " vs " << as_bytes;
}

// Identical channels cost little more than one: the side channel is zero.
TEST(AudioCodec, StereoPairingFindsIdenticalChannels) {
  WavSpec mono;
  mono.channels = 1;
  mono.frames = 40000;
  const std::vector<uint8_t> m = make_wav(mono);
  WavSpec st = mono;
  st.channels = 2;
  std::vector<uint8_t> s = make_wav(st);
  const tensor::Layout lm = detect_wav(m), ls = detect_wav(s);
  for (uint64_t i = 0; i < mono.frames; ++i) {  // right = left
    std::memcpy(&s[ls.header_bytes + i * 4], &m[lm.header_bytes + i * 2], 2);
    std::memcpy(&s[ls.header_bytes + i * 4 + 2], &m[lm.header_bytes + i * 2], 2);
  }
  const size_t zm = roundtrip(m).size(), zs = roundtrip(s).size();
  EXPECT_LT(zs, zm + zm / 20) << zs << " vs mono " << zm;
}

TEST(AudioCodec, ExtremeValuesStayExact) {
  // Full-scale square waves and alternating extremes: side channels need
  // one more bit, predictions must be clamped.
  for (int bits : {16, 24, 32}) {
    WavSpec w;
    w.bits = bits;
    w.frames = 6000;
    std::vector<uint8_t> f = make_wav(w);
    const tensor::Layout l = detect_wav(f);
    const int sb = bits / 8;
    for (uint64_t i = 0; i < w.frames * 2; ++i) {
      const bool hi = ((i / 2) / 7 + (i & 1)) % 2 == 0;
      for (int b = 0; b < sb; ++b)
        f[l.header_bytes + i * static_cast<uint64_t>(sb) + static_cast<uint64_t>(b)] =
            b == sb - 1 ? (hi ? 0x7f : 0x80) : (hi ? 0xff : 0x00);
    }
    roundtrip(f);
  }
}

TEST(AudioCodec, FloatsAsScaledIntegersOrAsBits) {
  WavSpec w;
  w.format = 3;
  w.bits = 32;
  w.frames = 20000;
  std::vector<uint8_t> f = make_wav(w);
  const tensor::Layout l = detect_wav(f);
  // Values that are 16-bit integers / 32768 code like 16-bit audio.
  std::vector<uint8_t> scaled = f;
  for (uint64_t i = 0; i < w.frames * 2; ++i) {
    float v;
    std::memcpy(&v, &scaled[l.header_bytes + 4 * i], 4);
    v = static_cast<float>(std::lround(v * 32767.0f)) / 32768.0f;
    std::memcpy(&scaled[l.header_bytes + 4 * i], &v, 4);
  }
  WavSpec w16 = w;
  w16.format = 1;
  w16.bits = 16;
  const size_t z_scaled = roundtrip(scaled).size(), z16 = roundtrip(make_wav(w16)).size();
  EXPECT_LT(z_scaled, z16 + z16 / 20) << z_scaled << " vs 16-bit " << z16;
  // Arbitrary floats with NaN, infinities and -0 stay exact.
  std::vector<uint8_t> odd = f;
  const uint32_t specials[] = {0x7fc00000u, 0xff800000u, 0x80000000u, 0x00000001u, 0x7f7fffffu};
  for (uint64_t i = 0; i < 5; ++i) std::memcpy(&odd[l.header_bytes + 4 * (i * 997)], &specials[i], 4);
  roundtrip(odd);
  roundtrip(f);
}

TEST(AudioCodec, RawPcmFromOptions) {
  for (Sample s : {Sample::kU8, Sample::kS8, Sample::kS16, Sample::kS24, Sample::kS32, Sample::kF32}) {
    std::vector<uint8_t> raw;
    const int bits = sample_bytes(s) * 8;
    test::encode_samples(test::make_signal(3001, 3, 7, true), s == Sample::kF32 ? 3 : 1, bits, raw);
    if (s == Sample::kS8)
      for (auto& b : raw) b = static_cast<uint8_t>(b - 128);
    raw.push_back(0x55);  // a partial frame at the end
    EncodeOptions o;
    o.kind = DataKind::kAudio;
    o.audio_sample = s;
    o.audio_channels = 3;
    const std::vector<uint8_t> z = roundtrip(raw, o);
    if (bits == 16 || bits == 24) {
      EXPECT_TRUE(has_audio_block(z)) << sample_name(s);
    }
  }
}

TEST(AudioCodec, SameBytesForEveryThreadCountAcrossBlocks) {
  WavSpec w;
  w.frames = 70000;
  const std::vector<uint8_t> f = make_wav(w);
  EncodeOptions o;
  o.block_log = 16;  // many blocks, cut mid-frame
  o.threads = 1;
  const std::vector<uint8_t> a = roundtrip(f, o);
  o.threads = 3;
  EXPECT_EQ(a, roundtrip(f, o));
  EXPECT_GE(block_codecs(a).size(), 4u);
}

// ---- hostile payloads ------------------------------------------------------------

TEST(AudioCodec, HostilePayloadsAreErrorsNotCrashes) {
  WavSpec w;
  w.frames = 3000;
  const std::vector<uint8_t> f = make_wav(w);
  const tensor::Layout l = detect_wav(f);
  const std::span<const uint8_t> body(f.data() + l.header_bytes, f.size() - l.header_bytes);
  const auto segs = tensor::block_segments(l, l.header_bytes, body.size());
  AudioConfig c;
  std::vector<uint8_t> z;
  ASSERT_TRUE(audio_encode(c, segs, body, z).ok());
  std::vector<uint8_t> back(body.size());
  ASSERT_TRUE(audio_decode(c, z, back).ok());
  EXPECT_TRUE(std::equal(back.begin(), back.end(), body.begin()));
  // Truncations and flips anywhere: an error or some output, never a crash.
  int errors = 0;
  for (size_t cut = 0; cut < z.size(); cut += 97) {
    std::vector<uint8_t> t(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(cut));
    errors += !audio_decode(c, t, back).ok();
  }
  EXPECT_GT(errors, 0);
  for (size_t i = 0; i < z.size(); i += 13) {
    std::vector<uint8_t> t = z;
    t[i] ^= static_cast<uint8_t>(1u << (i % 8));
    (void)audio_decode(c, t, back);
  }
  // Table fields out of range.
  const std::vector<std::vector<uint8_t>> tables = {
      {1, 7, 10, 1},          // unknown sample format
      {1, 3, 10, 0},          // no channels
      {1, 3, 10, 33},         // too many channels
      {1, 6, 10, 1, 100},     // bad float mapping
      {1, 3, 0xff, 0xff, 0xff, 0xff, 0x0f, 1},  // more frames than the block holds
      {2, 0, 5},              // sizes do not add up
  };
  std::vector<uint8_t> out(20);
  for (const auto& t : tables) EXPECT_EQ(audio_decode(c, t, out).code(), ErrorCode::kCorrupt);
  // Parameters.
  uint64_t memory = 0;
  const Codec* codec = find_codec(kCodecAudio);
  ASSERT_NE(codec, nullptr);
  EXPECT_TRUE(codec->check_params(c.serialize(), &memory).ok());
  EXPECT_GT(memory, uint64_t(kMaxChannels) * (uint64_t(1) << c.long_log) * 6);
  const std::vector<uint8_t> bad[] = {{}, {1, 8}, {2, 8, 8}, {1, 3, 8}, {1, 12, 8}, {1, 8, 17}, {1, 8, 8, 0}};
  for (const auto& p : bad) EXPECT_FALSE(codec->check_params(p, &memory).ok());
}

}  // namespace
}  // namespace sibyl::audio
