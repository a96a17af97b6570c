// Frozen archives: every archive listed in tests/golden/MANIFEST must keep
// decoding to the recorded content (or failing with the recorded error)
// forever. SIBYL_WRITE_GOLDEN=1 regenerates them; only do that when adding
// new cases, never to make a failing case pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "common/bytes.h"
#include "common/checksum.h"
#include "../audio/wav_sample.h"
#include "../image/image_sample.h"
#include "engine/decoder.h"
#include "codecs/pc/pc_adapt.h"
#include "engine/encoder.h"
#include "codecs/pc/pc_codec.h"
#include "model/pc/hclt.h"
#include "format/container.h"
#include "../tensor/tensor_sample.h"
#include "../unit/codecs/x86_sample.h"

namespace sibyl {
namespace {

const std::string kDir = std::string(SIBYL_SOURCE_DIR) + "/tests/golden/";

// n bytes of pieces drawn at random from `pieces`.
template <size_t N>
std::vector<uint8_t> draw(size_t n, uint32_t seed, const char* const (&pieces)[N]) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v;
  while (v.size() < n) {
    const char* w = pieces[rng() % N];
    v.insert(v.end(), w, w + std::strlen(w));
  }
  v.resize(n);
  return v;
}

std::vector<uint8_t> text(size_t n, uint32_t seed) {
  static const char* const words[] = {"In ", "the ", "beginning ", "was ", "a ", "model, ", "and ", "it ", "predicted ", "bits.\n"};
  return draw(n, seed, words);
}

// C-like lines: braces, parentheses, comments and strings (the nesting kind).
std::vector<uint8_t> c_like(size_t n, uint32_t seed) {
  static const char* const lines[] = {"int f(int a) {\n", "  /* a comment { ( */\n", "  if (g(a, (a + 1)) > 0) {\n",
                                      "    s = \"a } string\";\n", "  }\n", "  return h(a, '}');  // done {\n", "}\n"};
  return draw(n, seed, lines);
}

std::vector<uint8_t> noise(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

std::vector<uint8_t> pack(const std::vector<uint8_t>& in, int level, int block_log = 0) {
  EncodeOptions o;
  o.level = level;
  o.block_log = block_log;
  std::vector<uint8_t> z;
  EXPECT_TRUE(compress_buffer(in, o, z).ok());
  return z;
}

std::vector<uint8_t> read_file(const std::string& name) {
  std::ifstream f(kDir + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// Frozen files are never rewritten: regeneration only adds missing cases.
void write_file(const std::string& name, const std::vector<uint8_t>& d) {
  if (std::ifstream(kDir + name).good()) return;
  std::ofstream f(kDir + name, std::ios::binary);
  f.write(reinterpret_cast<const char*>(d.data()), static_cast<std::streamsize>(d.size()));
}


void regenerate() {
  std::ostringstream manifest;
  manifest << "# name  expect  size-or-error  xxh64 (of the decoded content)\n";
  // Lines of archives made outside this function (by hand, with the CLI)
  // are kept as they are.
  std::vector<std::string> made, kept;
  {
    std::ifstream old(kDir + "MANIFEST");
    std::string line;
    while (std::getline(old, line))
      if (!line.empty() && line[0] != '#') kept.push_back(line);
  }
  auto good = [&](const std::string& name, const std::vector<uint8_t>& content, const std::vector<uint8_t>& z) {
    made.push_back(name);
    write_file(name, z);
    char h[17];
    std::snprintf(h, sizeof h, "%016llx", static_cast<unsigned long long>(xxh64(content.data(), content.size())));
    manifest << name << " ok " << content.size() << " " << h << "\n";
  };
  auto bad = [&](const std::string& name, const std::vector<uint8_t>& z) {
    made.push_back(name);
    write_file(name, z);
    std::vector<uint8_t> out;
    Status s = decompress_buffer(read_file(name), DecodeOptions{}, out);
    EXPECT_FALSE(s.ok()) << name;
    manifest << name << " error " << error_code_name(s.code()) << " -\n";
  };
  const auto t = text(30000, 1), n = noise(3000, 2), tn = [&] { auto v = text(20000, 3); auto x = noise(20000, 4); v.insert(v.end(), x.begin(), x.end()); return v; }();
  good("v1_text_level1.sby", t, pack(t, 1));  // fast-cm variant 1 (level 1 before the lean variant)
  good("v1_text_level1_lean.sby", t, pack(t, 1));  // fast-cm variant 2 (level 1 before variant 3)
  good("v1_text_level1_lean124.sby", t, pack(t, 1));  // fast-cm variant 3
  good("v1_text_level6.sby", t, pack(t, 6));  // fast-cm variant 1 (levels 2-9 before codec 6)
  good("v1_text_level9.sby", t, pack(t, 9));
  good("v1_text_cm_level2.sby", t, pack(t, 2));  // codec 6, the strong byte model
  good("v1_text_cm_level6.sby", t, pack(t, 6));
  good("v1_text_cm_level9.sby", t, pack(t, 9));
  good("v2_text_cm2_level6.sby", t, pack(t, 6));  // codec 6 version 2: extra weight sets, new kinds
  good("v2_text_cm2_level9.sby", t, pack(t, 9));
  {
    const auto x = test::x86_sample(40000, 9);  // the x86 block class: x86 kinds and weight set
    good("v2_x86_cm2_level6.sby", x, pack(x, 6));
    good("v2_x86_cm2_level9.sby", x, pack(x, 9));
    const auto c = c_like(30000, 10);  // text at level 9: the nesting kind
    good("v2_code_cm2_level9.sby", c, pack(c, 9));
  }
  good("v1_noise_stored.sby", n, pack(n, 6));
  good("v1_empty.sby", {}, pack({}, 6));
  good("v1_multiblock.sby", tn, pack(tn, 3, 12));
  {
    auto z = pack(t, 1);
    const auto z2 = pack(n, 2);
    z.insert(z.end(), z2.begin(), z2.end());
    auto tt = t;
    tt.insert(tt.end(), n.begin(), n.end());
    good("v1_two_frames.sby", tt, z);
  }
  auto base = pack(t, 1);
  {
    auto z = base;
    z[4] = 2;
    bad("bad_version2.sby", z);
  }
  {
    auto z = base;
    const size_t b = format::kFrameHeaderSize;
    store_le16(&z[b + 1], 999);
    const size_t hs = format::block_header_size({&z[b], 4});
    store_le32(&z[b + hs - 4], header_check(&z[b], hs - 4));
    bad("bad_codec999.sby", z);
  }
  {
    auto z = base;
    z[format::kFrameHeaderSize + 40] ^= 0x20;  // inside the payload
    bad("bad_payload_flip.sby", z);
  }
  {
    auto z = base;
    z.resize(z.size() - 20);
    bad("bad_truncated.sby", z);
  }
  {
    auto z = base;
    z.push_back('x');
    bad("bad_trailing.sby", z);
  }
  {
    // Tensor codec version 2: a tied tensor stored twice (a copy segment),
    // and a lossy KV cache whose tokens are predicted from their group's anchor.
    const test::SampleTensor a = test::make_sample_tensor("F32", 24, 32, 21), b = test::make_sample_tensor("F16", 16, 24, 22);
    test::SampleTensor tied = a;
    tied.name = "lm_head.weight";
    const std::vector<uint8_t> file = test::make_safetensors({a, b, tied});
    EncodeOptions o;
    std::vector<uint8_t> z;
    EXPECT_TRUE(compress_buffer(file, o, z).ok());
    good("v2_tensor_copies.sby", file, z);
    const std::vector<uint8_t> kv = test::kv_values(2, 2, 64, 16, true);
    o.kind = DataKind::kTensor;
    o.tensor_dtype = tensor::DType::kF32;
    o.tensor_row = 16;
    o.tensor_tokens = 64;
    o.tensor_layer = 2 * 64 * 16;
    o.error_mode = tensor::ErrorBound::kRelative;
    o.error_bound = 1e-3;
    std::vector<uint8_t> decoded;
    EXPECT_TRUE(compress_buffer(kv, o, z).ok());
    EXPECT_TRUE(decompress_buffer(z, DecodeOptions{}, decoded).ok());
    good("v2_tensor_kv_lossy.sby", decoded, z);
    // Vector quantisation: 2 stages of 32 centres of 8 values; the array's
    // length leaves a tail of 3 elements kept exactly.
    const test::SampleTensor w = test::make_sample_tensor("F32", 64, 64, 23);
    std::vector<uint8_t> vq(w.data.begin() + 40, w.data.end() - 12);  // no special values; 4083 elements
    EncodeOptions v;
    v.kind = DataKind::kTensor;
    v.tensor_dtype = tensor::DType::kF32;
    v.tensor_row = 64;
    v.error_mode = tensor::ErrorBound::kVectors;
    v.vq = tensor::VqShape{8, 2, 32};
    EXPECT_TRUE(compress_buffer(vq, v, z).ok());
    EXPECT_TRUE(decompress_buffer(z, DecodeOptions{}, decoded).ok());
    good("v2_tensor_vq.sby", decoded, z);
    // Grid moves: bf16 values in [1, 2) under an absolute bound of 0.005.
    test::SampleRng rng(8);
    std::vector<uint8_t> bf;
    for (int i = 0; i < 4000; ++i) test::put_le(bf, tensor::float_to_bf16(static_cast<float>(1.0 + rng.uniform())), 2);
    EncodeOptions m;
    m.kind = DataKind::kTensor;
    m.tensor_dtype = tensor::DType::kBF16;
    m.tensor_row = 100;
    m.error_mode = tensor::ErrorBound::kAbsolute;
    m.error_bound = 0.005;
    EXPECT_TRUE(compress_buffer(bf, m, z).ok());
    EXPECT_TRUE(decompress_buffer(z, DecodeOptions{}, decoded).ok());
    good("v2_tensor_lossy_bf16_moves.sby", decoded, z);
  }
  {
    // Audio codec version 1: a stereo 16-bit WAV with a chunk after the
    // data, and raw 24-bit PCM of 3 channels with a partial last frame.
    test::WavSpec w;
    w.frames = 9000;
    w.chunk_after = true;
    const std::vector<uint8_t> wav = test::make_wav(w);
    std::vector<uint8_t> z;
    EXPECT_TRUE(compress_buffer(wav, EncodeOptions{}, z).ok());
    good("v1_audio_wav_s16.sby", wav, z);
    std::vector<uint8_t> raw;
    test::encode_samples(test::make_signal(5000, 3, 9, true), 1, 24, raw);
    raw.push_back(7);
    EncodeOptions o;
    o.kind = DataKind::kAudio;
    o.audio_sample = audio::Sample::kS24;
    o.audio_channels = 3;
    EXPECT_TRUE(compress_buffer(raw, o, z).ok());
    good("v1_audio_raw_s24.sby", raw, z);
  }
  {
    // Image codec version 1: a photo-like PPM with a partial last row, a
    // 16-bit PGM with a sparse histogram (packed), and a synthetic RGBA PAM
    // (the match model), at levels 6, 9 and 1.
    test::ImageSpec s;
    s.width = 71;
    s.height = 43;
    std::vector<uint8_t> ppm = test::make_pnm(s);
    ppm.resize(ppm.size() - 100);
    std::vector<uint8_t> z;
    EXPECT_TRUE(compress_buffer(ppm, EncodeOptions{}, z).ok());
    good("v1_image_ppm_level6.sby", ppm, z);
    s.channels = 1;
    s.maxval = 65535;
    std::vector<uint8_t> pgm = test::make_pnm(s);
    for (size_t i = pgm.size() - 71 * 43 * 2; i < pgm.size(); i += 2) pgm[i + 1] = 0;  // low bytes 0: sparse
    EncodeOptions o;
    o.level = 9;
    EXPECT_TRUE(compress_buffer(pgm, o, z).ok());
    good("v1_image_pgm16_level9.sby", pgm, z);
    s.channels = 4;
    s.maxval = 255;
    s.synthetic = true;
    const std::vector<uint8_t> pam = test::make_pnm(s);
    o.level = 1;
    EXPECT_TRUE(compress_buffer(pam, o, z).ok());
    good("v1_image_pam_level1.sby", pam, z);
  }
  {
    // Image codec version 2: row padding and B, G, R samples (segment
    // format bits 6 and 7): a 24-bit BMP whose rows carry 3 bytes of
    // padding; and a big-endian 16-bit TIFF in strips with gaps.
    test::ImageSpec s;
    s.width = 67;
    s.height = 41;
    const std::vector<uint8_t> bmp = test::make_bmp(s);
    std::vector<uint8_t> z;
    EXPECT_TRUE(compress_buffer(bmp, EncodeOptions{}, z).ok());
    good("v2_image_bmp_level6.sby", bmp, z);
    s.channels = 1;
    s.maxval = 65535;
    test::TiffSpec ts;
    ts.big_endian = true;
    ts.rows_per_strip = 16;
    ts.gap = 5;
    const std::vector<uint8_t> tif = test::make_tiff(s, ts);
    EXPECT_TRUE(compress_buffer(tif, EncodeOptions{}, z).ok());
    good("v2_image_tiff16_level6.sby", tif, z);
  }
  {
    // Image codec version 3: the block grid of a decoded JPEG (found at
    // columns 3 + 8k, rows 5 + 8k), at levels 6 and 9.
    test::ImageSpec s;
    s.width = 96;
    s.height = 64;
    const std::vector<uint8_t> ppm = test::make_blocky_pnm(s, 3, 5);
    good("v3_image_grid_level6.sby", ppm, pack(ppm, 6));
    good("v3_image_grid_level9.sby", ppm, pack(ppm, 9));
  }
  {
    // Codec 5 version 4: a decoded JPEG's colours coded as Y, Cb, Cr
    // (clamped pixels in a dark corner), with the block grid.
    test::ImageSpec s;
    s.width = 88;
    s.height = 56;
    const std::vector<uint8_t> ppm = test::make_decoded_jpeg_pnm(s, 5, 2);
    good("v4_image_ycc_level6.sby", ppm, pack(ppm, 6));
    // A flat-colour picture (the palette model, the match model).
    test::ImageSpec g;
    g.width = 120;
    g.height = 50;
    g.synthetic = true;
    const std::vector<uint8_t> graphic = test::make_pnm(g);
    good("v4_image_synthetic_level6.sby", graphic, pack(graphic, 6));
  }
  {
    // Frame flag 1 (PNG pixels): the frame decodes as any other.
    test::ImageSpec s;
    s.width = 33;
    s.height = 21;
    const std::vector<uint8_t> pam = test::make_pnm(s);
    EncodeOptions o;
    o.frame_flags = format::kFlagPngPixels;
    std::vector<uint8_t> z;
    EXPECT_TRUE(compress_buffer(pam, o, z).ok());
    good("v1_frame_flag_png_pixels.sby", pam, z);
  }
  std::string text_out = manifest.str();
  for (const std::string& line : kept) {
    const std::string name = line.substr(0, line.find(' '));
    if (std::find(made.begin(), made.end(), name) == made.end()) text_out += line + "\n";
  }
  std::ofstream f(kDir + "MANIFEST");
  f << text_out;
}

TEST(Golden, ArchivesDecodeForever) {
  if (std::getenv("SIBYL_WRITE_GOLDEN")) regenerate();
  std::ifstream m(kDir + "MANIFEST");
  ASSERT_TRUE(m.good()) << "missing " << kDir << "MANIFEST";
  std::string line;
  int cases = 0;
  while (std::getline(m, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name, expect, what, hash;
    ls >> name >> expect >> what >> hash;
    const auto z = read_file(name);
    ASSERT_FALSE(z.empty()) << "missing golden archive " << name;
    std::vector<uint8_t> out;
    for (int threads : {1, 3}) {
      DecodeOptions d;
      d.threads = threads;
      Status s = decompress_buffer(z, d, out);
      if (expect == "ok") {
        ASSERT_TRUE(s.ok()) << name << ": " << s.message();
        EXPECT_EQ(std::to_string(out.size()), what) << name;
        char h[17];
        std::snprintf(h, sizeof h, "%016llx", static_cast<unsigned long long>(xxh64(out.data(), out.size())));
        EXPECT_EQ(hash, h) << name;
      } else {
        ASSERT_FALSE(s.ok()) << name;
        EXPECT_EQ(what, error_code_name(s.code())) << name << ": " << s.message();
      }
    }
    ++cases;
  }
  EXPECT_GE(cases, 21);
}

// The probabilistic-circuit codec needs its prior: a frozen prior file
// (latent 4, trained on 8x8 records of 17 levels) and an IDX archive coded
// from it, with trailing bytes and 1 KiB blocks (records cut by blocks).
std::vector<uint8_t> pc_records(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v;
  for (size_t i = 0; i < n * 64; ++i) {
    const uint32_t x = i % 8, y = (i / 8) % 8;
    v.push_back(static_cast<uint8_t>(((x + y + rng() % 3) * 2) % 17));
  }
  return v;
}

// The circuit of both golden priors: latent 4, 2 epochs over 600 records.
Status train_golden_circuit(const std::vector<uint8_t>& train, pc::Hclt* m) {
  pc::TrainOptions t;
  t.latent = 4;
  t.epochs = 2;
  t.batch = 256;
  return pc::train_hclt(train.data(), train.size() / 64, 64, 17, t, m);
}

// An IDX file of 40 such records (8 x 8) and one trailing byte.
std::vector<uint8_t> pc_idx(uint32_t seed, uint8_t trailer) {
  std::vector<uint8_t> idx = {0, 0, 8, 3, 0, 0, 0, 40, 0, 0, 0, 8, 0, 0, 0, 8};
  const auto recs = pc_records(40, seed);
  idx.insert(idx.end(), recs.begin(), recs.end());
  idx.push_back(trailer);
  return idx;
}

// Codes `idx` from the prior file `prior_name` (independent regime, 1 KiB
// blocks: records cut by blocks) and writes the archive when it is missing.
void write_pc_archive(const char* prior_name, const char* archive_name, const std::vector<uint8_t>& idx) {
  uint64_t hash = 0;
  ASSERT_TRUE(pc::register_prior(read_file(prior_name), &hash).ok());
  EncodeOptions o;
  o.prior_hash = hash;
  o.block_log = 10;
  std::vector<uint8_t> z;
  ASSERT_TRUE(compress_buffer(idx, o, z).ok());
  write_file(archive_name, z);
}

TEST(Golden, PcArchiveDecodesForeverWithItsPrior) {
  const char* prior_name = "v1_pc_prior_latent4.prior";
  const char* archive_name = "v1_pc_idx_blocks1k.sby";
  if (std::getenv("SIBYL_WRITE_GOLDEN")) {
    const auto train = pc_records(600, 1);
    pc::Hclt m;
    ASSERT_TRUE(train_golden_circuit(train, &m).ok());
    write_file(prior_name, pc::write_prior(m));
    write_pc_archive(prior_name, archive_name, pc_idx(2, 0xab));
  }
  uint64_t hash = 0;
  const auto prior = read_file(prior_name);
  ASSERT_TRUE(pc::register_prior(prior, &hash).ok()) << "missing or damaged " << prior_name;
  const auto z = read_file(archive_name);
  std::vector<uint8_t> out;
  const Status s = decompress_buffer(z, DecodeOptions{}, out);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(out.size(), 16u + 40 * 64 + 1);
  EXPECT_EQ(xxh64(out.data(), out.size()), 0xcfeb60310584d41bull);
}

// The collection regime (--adapt) with the same prior: 40 records and a
// trailing byte in one block. v1_pc_adapt.sby holds flags 3 (hashed
// contexts, column order), v2_pc_adapt_maps.sby flags 5 (predictor maps),
// which the encoder has written since.
void check_pc_adapt_golden(const char* archive_name, uint32_t seed, uint8_t trailer) {
  uint64_t hash = 0;
  ASSERT_TRUE(pc::register_prior(read_file("v1_pc_prior_latent4.prior"), &hash).ok());
  const std::vector<uint8_t> idx = pc_idx(seed, trailer);
  if (std::getenv("SIBYL_WRITE_GOLDEN")) {
    EncodeOptions o;
    o.prior_hash = hash;
    o.prior_adapt = true;
    std::vector<uint8_t> z;
    ASSERT_TRUE(compress_buffer(idx, o, z).ok());
    write_file(archive_name, z);
  }
  const auto z = read_file(archive_name);
  ASSERT_FALSE(z.empty()) << "missing " << archive_name;
  std::vector<uint8_t> out;
  const Status s = decompress_buffer(z, DecodeOptions{}, out);
  ASSERT_TRUE(s.ok()) << archive_name << ": " << s.message();
  EXPECT_EQ(out, idx) << archive_name;
}

TEST(Golden, PcAdaptArchiveDecodesForeverWithItsPrior) { check_pc_adapt_golden("v1_pc_adapt.sby", 3, 0xcd); }
TEST(Golden, PcAdaptMapsArchiveDecodesForeverWithItsPrior) { check_pc_adapt_golden("v2_pc_adapt_maps.sby", 4, 0xef); }

// A prior file of version 2 (the same circuit's training plus a mixing
// model learned over its records) and an archive of the independent regime
// coded from it (flags 6), records cut by 1 KiB blocks.
TEST(Golden, PcMixingArchiveDecodesForeverWithItsPrior) {
  const char* prior_name = "v2_pc_prior_mixing.prior";
  const char* archive_name = "v2_pc_mixing_blocks1k.sby";
  const std::vector<uint8_t> idx = pc_idx(5, 0x5a);
  if (std::getenv("SIBYL_WRITE_GOLDEN")) {
    const auto train = pc_records(600, 1);
    pc::Hclt m;
    ASSERT_TRUE(train_golden_circuit(train, &m).ok());
    uint64_t plain = 0;
    ASSERT_TRUE(pc::register_prior(pc::write_prior(m), &plain).ok());
    m.mixing = pc::train_mixing(*pc::find_prior(plain), train.data(), 600, 8);
    write_file(prior_name, pc::write_prior(m));
    write_pc_archive(prior_name, archive_name, idx);
  }
  uint64_t hash = 0;
  ASSERT_TRUE(pc::register_prior(read_file(prior_name), &hash).ok()) << "missing or damaged " << prior_name;
  ASSERT_TRUE(pc::find_prior(hash)->mixing != nullptr);
  const auto z = read_file(archive_name);
  ASSERT_FALSE(z.empty()) << "missing " << archive_name;
  std::vector<uint8_t> out;
  const Status s = decompress_buffer(z, DecodeOptions{}, out);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(out, idx);
}

}  // namespace
}  // namespace sibyl
