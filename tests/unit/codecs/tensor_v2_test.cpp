// Tensor codec version 2: exact copies of earlier segments (tied or
// duplicated tensors) and the KV-cache layout (a step per layer and the
// anchor-token predictor of lossy coding).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codecs/tensor/float_bits.h"
#include "codecs/tensor/tensor_codec.h"
#include "codecs/tensor/tensor_layout.h"
#include "codecs/tensor/tensor_params.h"
#include "engine/decoder.h"
#include "engine/encoder.h"
#include "../../tensor/tensor_sample.h"

namespace sibyl::tensor {
namespace {

using test::make_safetensors;
using test::make_sample_tensor;
using test::SampleTensor;

TensorConfig version(uint8_t v) {
  TensorConfig c;
  c.version = v;
  return c;
}

std::vector<uint8_t> roundtrip(const TensorConfig& c, const std::vector<uint8_t>& file, const ErrorBound* b = nullptr,
                               bool split_layers = false, bool all_kv = false) {
  const std::vector<Segment> segs = block_segments(detect_layout(file, file.size(), all_kv), 0, file.size(), split_layers);
  std::vector<uint8_t> z, decoded, back(file.size());
  EXPECT_TRUE(tensor_encode(c, segs, file, z, b, b ? &decoded : nullptr).ok());
  EXPECT_TRUE(tensor_decode(c, z, back, b != nullptr).ok());
  if (b == nullptr) EXPECT_EQ(back, file);
  else EXPECT_EQ(back, decoded);
  return z;
}

// ---- exact copies -------------------------------------------------------------

TEST(TensorCopies, DuplicatedTensorsCostAReference) {
  const SampleTensor a = make_sample_tensor("F32", 64, 48, 5), b = make_sample_tensor("BF16", 32, 40, 6);
  SampleTensor a2 = a, b2 = b;
  a2.name = "lm_head.weight";  // tied to the embedding, stored twice
  b2.name = "copy.bf16";
  const std::vector<uint8_t> once = make_safetensors({a, b});
  const std::vector<uint8_t> twice = make_safetensors({a, b, a2, b2});
  const size_t z_once = roundtrip(TensorConfig{}, once).size();
  const size_t z_twice = roundtrip(TensorConfig{}, twice).size();
  // Version 1 has no copies: the duplicates are coded again. Version 2 pays
  // for the two longer header entries and two references only.
  const size_t z_v1 = roundtrip(version(1), twice).size();
  ASSERT_GT(z_v1, z_once + z_once / 2);
  EXPECT_LT((z_twice - z_once) * 40, z_v1 - z_once) << z_once << " " << z_twice << " " << z_v1;
}

TEST(TensorCopies, NearCopiesAndShortTensorsAreCodedNormally) {
  SampleTensor a = make_sample_tensor("F32", 16, 16, 9);
  SampleTensor a2 = a;
  a2.name = "almost";
  a2.data[a2.data.size() - 1] ^= 1;  // one bit differs
  SampleTensor s = make_sample_tensor("F32", 1, 3, 10), s2 = s;  // 12 bytes: below kMinCopyBytes
  s2.name = "short2";
  const std::vector<uint8_t> file = make_safetensors({a, a2, s, s2});
  roundtrip(TensorConfig{}, file);
}

TEST(TensorCopies, LossyCopiesDecodeAsTheirSource) {
  const SampleTensor a = make_sample_tensor("F32", 40, 30, 12);
  SampleTensor a2 = a;
  a2.name = "tied";
  const std::vector<uint8_t> file = make_safetensors({a, a2});
  const ErrorBound b{ErrorBound::kRelative, 1e-3};
  const std::vector<Segment> segs = block_segments(detect_layout(file, file.size()), 0, file.size());
  std::vector<uint8_t> z, decoded, back(file.size());
  ASSERT_TRUE(tensor_encode(TensorConfig{}, segs, file, z, &b, &decoded).ok());
  ASSERT_TRUE(tensor_decode(TensorConfig{}, z, back, true).ok());
  EXPECT_EQ(back, decoded);
  const size_t n = a.data.size(), end = file.size();
  ASSERT_TRUE(std::equal(back.end() - static_cast<std::ptrdiff_t>(n), back.end(),
                         back.end() - static_cast<std::ptrdiff_t>(2 * n)));
  EXPECT_NE(std::vector<uint8_t>(back.begin() + static_cast<std::ptrdiff_t>(end - n), back.end()), a.data)
      << "the copy is the source's approximation, not the original";
}

TEST(TensorCopies, HostileCopyEntriesAreCorrupt) {
  const SampleTensor a = make_sample_tensor("F32", 8, 8, 3);
  SampleTensor a2 = a;
  a2.name = "dup";
  const std::vector<uint8_t> file = make_safetensors({a, a2});
  const std::vector<Segment> segs = block_segments(detect_layout(file, file.size()), 0, file.size());
  std::vector<uint8_t> z;
  ASSERT_TRUE(tensor_encode(TensorConfig{}, segs, file, z).ok());
  // Layout: nseg, [bytes segment: type 0, count], [f32 segment], [copy: 11, count, src].
  size_t at = 0;
  for (size_t i = 0; i + 3 < z.size(); ++i) {
    if (z[i] == 11 && z[i + 1] == 0x80 && z[i + 2] == 0x02 && z[i + 3] == 1) {  // 256 bytes as LEB128, source 1
      at = i;
      break;
    }
  }
  ASSERT_NE(at, 0u) << "the copy entry was not written";
  std::vector<uint8_t> back(file.size());
  ASSERT_TRUE(tensor_decode(TensorConfig{}, z, back).ok());
  ASSERT_EQ(back, file);
  for (uint8_t src : {uint8_t(2), uint8_t(3), uint8_t(0)}) {  // itself, later, a source of another size
    std::vector<uint8_t> t = z;
    t[at + 3] = src;
    EXPECT_EQ(tensor_decode(TensorConfig{}, t, back).code(), ErrorCode::kCorrupt) << int(src);
  }
  // A version-1 decoder does not know copies.
  EXPECT_EQ(tensor_decode(version(1), z, back).code(), ErrorCode::kCorrupt);
}

// ---- KV caches ---------------------------------------------------------------

TEST(TensorKv, NamesAndLayout) {
  for (const char* n : {"past_key_values.0.key", "model.layers.3.self_attn.k_cache", "KV_CACHE", "layer.2.value",
                        "value_states"})
    EXPECT_TRUE(is_kv_name(n)) << n;
  for (const char* n : {"model.embed_tokens.weight", "keypoint_head.weight", "attn.kv_proj.weight", "monkey"})
    EXPECT_FALSE(is_kv_name(n)) << n;

  SampleTensor kv = make_sample_tensor("F16", 4 * 2 * 64, 8, 1);  // 4 layers x 2 heads x 64 tokens x 8 channels
  kv.name = "past_key_values.key";
  kv.shape = {4, 2, 64, 8};
  SampleTensor w = make_sample_tensor("F16", 4 * 2 * 64, 8, 2);
  w.name = "conv.weight";
  w.shape = {4, 2, 64, 8};
  const std::vector<uint8_t> file = make_safetensors({kv, w});
  const Layout l = detect_layout(file, file.size());
  ASSERT_EQ(l.regions.size(), 2u);
  EXPECT_EQ(l.regions[0].tokens, 64u);
  EXPECT_EQ(l.regions[0].layer, 2u * 64 * 8);
  EXPECT_EQ(l.regions[1].tokens, 0u) << "a name that does not say KV cache";
  EXPECT_EQ(detect_layout(file, file.size(), true).regions[1].tokens, 64u) << "all_kv";

  // Lossless coding ignores the structure; lossy cuts it at every layer.
  EXPECT_EQ(block_segments(l, 0, file.size()).size(), 3u);
  const std::vector<Segment> segs = block_segments(l, 0, file.size(), true);
  ASSERT_EQ(segs.size(), 6u);  // header bytes, 4 layers, the other tensor
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(segs[static_cast<size_t>(i)].count, 1024u);
    EXPECT_EQ(segs[static_cast<size_t>(i)].tokens, 64u);
    EXPECT_EQ(segs[static_cast<size_t>(i)].t0, 0u);
  }
  // A block starting mid-layer, mid-row: the token and column of its first element.
  const uint64_t start = l.regions[0].offset + 2 * (1024 + 8 * 70 + 3);
  const std::vector<Segment> mid = block_segments(l, start, 2 * 3000, true);
  ASSERT_GE(mid.size(), 2u);
  EXPECT_EQ(mid[0].count, 1024u - (8 * 70 + 3));
  EXPECT_EQ(mid[0].col0, 3u);
  EXPECT_EQ(mid[0].t0, 70u % 64);
  // Too small layers or 2-D tensors are no KV cache.
  SampleTensor small = kv;
  small.shape = {64, 2, 4, 8};
  const Layout ls = detect_layout(make_safetensors({small}), UINT64_MAX);
  ASSERT_EQ(ls.regions.size(), 1u);
  EXPECT_EQ(ls.regions[0].tokens, 0u);
}

double f32_at(const std::vector<uint8_t>& d, uint64_t i) {
  return float_of_bits(static_cast<uint32_t>(test::read_le(d.data() + 4 * i, 4)));
}

std::vector<uint8_t> kv_archive(const std::vector<uint8_t>& data, uint64_t tokens, uint64_t layer, double bound,
                                int threads = 1) {
  EncodeOptions o;
  o.kind = DataKind::kTensor;
  o.tensor_dtype = DType::kF32;
  o.tensor_row = 16;
  o.tensor_tokens = tokens;
  o.tensor_layer = layer;
  o.error_mode = ErrorBound::kRelative;
  o.error_bound = bound;
  o.threads = threads;
  o.verify = true;
  std::vector<uint8_t> z;
  EXPECT_TRUE(compress_buffer(data, o, z).ok());
  return z;
}

TEST(TensorKv, EachLayerGetsItsOwnStep) {
  const uint64_t L = 6, H = 2, T = 96, C = 16, layer = H * T * C;
  const std::vector<uint8_t> data = test::kv_values(L, H, T, C, false);
  const double rel = 1e-3;
  const std::vector<uint8_t> z = kv_archive(data, T, layer, rel);
  std::vector<uint8_t> back;
  ASSERT_TRUE(decompress_buffer(z, DecodeOptions{}, back).ok());
  ASSERT_EQ(back.size(), data.size());
  // Within rel x the largest magnitude of the element's own layer: far
  // tighter than the whole tensor's bound for the small early layers.
  for (uint64_t l = 0; l < L; ++l) {
    double max_abs = 0;
    for (uint64_t i = l * layer; i < (l + 1) * layer; ++i) max_abs = std::max(max_abs, std::fabs(f32_at(data, i)));
    int bad = 0;
    for (uint64_t i = l * layer; i < (l + 1) * layer; ++i)
      if (!(std::fabs(f32_at(data, i) - f32_at(back, i)) <= rel * max_abs) && ++bad <= 3)
        ADD_FAILURE() << "layer " << l << " element " << i;
  }
  // The same bytes for any thread count.
  EXPECT_EQ(kv_archive(data, T, layer, rel, 3), z);
}

TEST(TensorKv, AnchorTokensPredictGroupedCaches) {
  const uint64_t L = 4, H = 2, T = 64, C = 16, layer = H * T * C;
  const std::vector<uint8_t> data = test::kv_values(L, H, T, C, true);
  const std::vector<uint8_t> with_kv = kv_archive(data, T, layer, 1e-3);
  const std::vector<uint8_t> plain = kv_archive(data, 0, 0, 1e-3);
  std::vector<uint8_t> back;
  ASSERT_TRUE(decompress_buffer(with_kv, DecodeOptions{}, back).ok());
  for (uint64_t l = 0; l < L; ++l) {
    double max_abs = 0;
    for (uint64_t i = l * layer; i < (l + 1) * layer; ++i) max_abs = std::max(max_abs, std::fabs(f32_at(data, i)));
    for (uint64_t i = l * layer; i < (l + 1) * layer; ++i)
      ASSERT_LE(std::fabs(f32_at(data, i) - f32_at(back, i)), 1e-3 * max_abs) << i;
  }
  EXPECT_LT(with_kv.size() * 10, plain.size() * 8) << with_kv.size() << " vs " << plain.size();
}

TEST(TensorKv, HostileAnchorFieldsAreCorrupt) {
  // One KV segment, predictor 3: find its fields after the step and patch them.
  const uint64_t T = 64, C = 16;
  const std::vector<uint8_t> data = test::kv_values(2, 1, T, C, true);
  std::vector<Segment> segs(2);
  for (uint64_t l = 0; l < 2; ++l) segs[l] = Segment{DType::kF32, T * C, C, 0, T, 0};
  const ErrorBound b{ErrorBound::kRelative, 1e-3};
  std::vector<uint8_t> z, decoded, back(data.size());
  ASSERT_TRUE(tensor_encode(TensorConfig{}, segs, data, z, &b, &decoded).ok());
  ASSERT_TRUE(tensor_decode(TensorConfig{}, z, back, true).ok());
  ASSERT_EQ(back, decoded);
  // Table: nseg, then per segment: type 1, count, row, col0, mode 1, emax, step(8), predictor, has_exact, [G, T, t0].
  size_t pos = 1;
  const size_t count_len = 2;  // 1024 as LEB128
  pos += 1 + count_len + 1 + 1 + 1 + 1 + 8;
  ASSERT_EQ(z[pos], 3) << "the anchor predictor was not chosen";
  ASSERT_EQ(z[pos + 1], 0);  // no exact elements
  const size_t g = pos + 2;
  for (auto patch : {std::pair<size_t, uint8_t>{g, 1}, {g, 0}, {g + 1, 1}, {g + 2, 64}, {g + 2, 100}}) {
    std::vector<uint8_t> t = z;
    t[patch.first] = patch.second;
    EXPECT_EQ(tensor_decode(TensorConfig{}, t, back, true).code(), ErrorCode::kCorrupt)
        << patch.first - g << "=" << int(patch.second);
  }
  // Version 1 knows no predictor 3.
  EXPECT_EQ(tensor_decode(version(1), z, back, true).code(), ErrorCode::kCorrupt);
}

TEST(TensorKv, MemoryOfEachVersion) {
  EXPECT_EQ(version(1).memory_bytes(false), 5141504u);
  EXPECT_EQ(version(1).memory_bytes(true), 10370048u);
  EXPECT_EQ(version(2).memory_bytes(false), 5141504u);
  EXPECT_EQ(version(2).memory_bytes(true), 10370048u + 2097152u + 524288u + 1048576u);
}


// ---- vector quantisation (codec 3, mode 2) -----------------------------------

namespace vqtest {

// Rows near one of 16 prototypes: what k-means can find.
std::vector<uint8_t> clustered(uint64_t rows, uint64_t cols, uint64_t seed) {
  test::SampleRng rng(seed);
  std::vector<std::vector<double>> proto(16, std::vector<double>(cols));
  for (auto& p : proto)
    for (auto& v : p) v = rng.gauss();
  std::vector<uint8_t> out;
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c)
      test::put_le(out, bits_of_float(static_cast<float>(proto[r % 16][c] + 0.2 * rng.gauss())), 4);
  return out;
}

struct Result {
  std::vector<uint8_t> z, decoded;
  LossyStats stats;
};

Result vq_roundtrip(const std::vector<Segment>& segs, const std::vector<uint8_t>& in, const VqShape& shape) {
  Result r;
  const ErrorBound b(shape);
  EXPECT_TRUE(tensor_encode(TensorConfig{}, segs, in, r.z, &b, &r.decoded, &r.stats).ok());
  std::vector<uint8_t> back(in.size());
  EXPECT_TRUE(tensor_decode(TensorConfig{}, r.z, back, true).ok());
  EXPECT_EQ(back, r.decoded) << "the decoder must produce what the encoder reported";
  return r;
}

}  // namespace vqtest

TEST(TensorVq, MoreStagesLessErrorAndTheStatsAreTrue) {
  const uint64_t rows = 512, cols = 32;
  const std::vector<uint8_t> in = vqtest::clustered(rows, cols, 1);
  const std::vector<Segment> segs = {Segment{DType::kF32, rows * cols, cols, 0, 0, 0}};
  double last_rms = 1e300;
  size_t last_size = 0;
  for (int stages = 1; stages <= 3; ++stages) {
    const vqtest::Result r = vqtest::vq_roundtrip(segs, in, VqShape{8, stages, 64});
    // The statistics are those of the decoded values.
    double max_abs = 0, sq = 0;
    for (uint64_t i = 0; i < rows * cols; ++i) {
      const double e = std::fabs(f32_at(r.decoded, i) - f32_at(in, i));
      max_abs = std::max(max_abs, e);
      sq += e * e;
    }
    EXPECT_EQ(r.stats.elements, rows * cols);
    EXPECT_DOUBLE_EQ(r.stats.max_abs_error, max_abs);
    EXPECT_NEAR(r.stats.sum_sq_error, sq, 1e-9 * sq);
    const double rms = std::sqrt(sq / static_cast<double>(rows * cols));
    EXPECT_LT(rms, last_rms) << stages << " stages";
    EXPECT_GT(r.z.size(), last_size) << "more stages, more indices";
    EXPECT_LT(r.z.size() * 4, in.size()) << "vector quantisation must be far smaller than the floats";
    last_rms = rms;
    last_size = r.z.size();
  }
  // One stage of 64 centres for the 64 (prototype, position) clusters: the
  // mean squared error is near the noise's 0.04, far below the values' 1.
  EXPECT_LT(vqtest::vq_roundtrip(segs, in, VqShape{8, 1, 64}).stats.sum_sq_error / (rows * cols), 0.1);
}

TEST(TensorVq, RowsAlignmentSmallAndNonFiniteSegments) {
  const uint64_t cols = 16;
  const std::vector<uint8_t> in = vqtest::clustered(300, cols, 2);
  // A segment starting at column 5 of its rows: 3 exact elements, then
  // vectors aligned with the rows, an exact tail.
  const uint64_t n = 300 * cols - 5 - 7;
  const std::vector<uint8_t> part(in.begin() + 20, in.begin() + 20 + static_cast<std::ptrdiff_t>(4 * n));
  const std::vector<Segment> segs = {Segment{DType::kF32, n, cols, 5, 0, 0}};
  const vqtest::Result r = vqtest::vq_roundtrip(segs, part, VqShape{8, 2, 32});
  for (uint64_t i : {uint64_t(0), uint64_t(1), uint64_t(2), n - 1})
    EXPECT_EQ(f32_at(r.decoded, i), f32_at(part, i)) << "head and tail elements are exact: " << i;
  EXPECT_NE(f32_at(r.decoded, 3), f32_at(part, 3));
  EXPECT_EQ(r.stats.elements, n - 3 - 1) << "the vectors only: 3 head and 1 tail element are exact";
  // Too few vectors for the codebook, or a NaN: the segment stays lossless.
  const std::vector<Segment> few = {Segment{DType::kF32, 8 * 100, cols, 0, 0, 0}};
  const std::vector<uint8_t> small(in.begin(), in.begin() + 4 * 800);
  EXPECT_EQ(vqtest::vq_roundtrip(few, small, VqShape{8, 1, 256}).decoded, small);
  std::vector<uint8_t> nan = in;
  const uint32_t qnan = 0x7fc00000u;
  std::memcpy(nan.data() + 400, &qnan, 4);
  const std::vector<Segment> all = {Segment{DType::kF32, 300 * cols, cols, 0, 0, 0}};
  EXPECT_EQ(vqtest::vq_roundtrip(all, nan, VqShape{8, 1, 16}).decoded, nan);
}

TEST(TensorVq, HalfPrecisionAndTheEngine) {
  // bf16 values, through the engine: same bytes for any thread count and
  // block size cut, every block within the frame's checksums.
  const std::vector<uint8_t> f32 = vqtest::clustered(1024, 32, 3);
  std::vector<uint8_t> bf;
  for (uint64_t i = 0; i < f32.size() / 4; ++i) test::put_le(bf, float_to_bf16(f32_at(f32, i)), 2);
  std::vector<uint8_t> first;
  for (int threads : {1, 3}) {
    EncodeOptions o;
    o.kind = DataKind::kTensor;
    o.tensor_dtype = DType::kBF16;
    o.tensor_row = 32;
    o.error_mode = ErrorBound::kVectors;
    o.vq = VqShape{8, 2, 64};
    o.threads = threads;
    o.block_log = 15;  // two blocks
    o.verify = true;
    std::vector<uint8_t> z, back;
    ASSERT_TRUE(compress_buffer(bf, o, z).ok());
    ASSERT_TRUE(decompress_buffer(z, DecodeOptions{}, back).ok());
    ASSERT_EQ(back.size(), bf.size());
    EXPECT_NE(back, bf);
    EXPECT_LT(z.size() * 3, bf.size());
    if (threads == 1) first = z;
    else EXPECT_EQ(z, first);
  }
}

TEST(TensorVq, HostileTablesAreCorrupt) {
  const uint64_t rows = 256, cols = 16;
  const std::vector<uint8_t> in = vqtest::clustered(rows, cols, 4);
  const std::vector<Segment> segs = {Segment{DType::kF32, rows * cols, cols, 0, 0, 0}};
  const vqtest::Result r = vqtest::vq_roundtrip(segs, in, VqShape{8, 2, 24});  // K not a power of two
  // Table: nseg 1, type 1, count (2 bytes), row, col0, mode 2, G, S, K, head, vectors (2 bytes), emax_cb, emax_exact.
  const std::vector<uint8_t>& z = r.z;
  ASSERT_EQ(z[6], 2) << "not a vector-quantised segment";
  ASSERT_EQ(z[7], 8);
  ASSERT_EQ(z[8], 2);
  ASSERT_EQ(z[9], 24);
  std::vector<uint8_t> back(in.size());
  for (auto patch : {std::pair<size_t, uint8_t>{7, 0}, {7, 65}, {8, 0}, {8, 5}, {9, 1}, {9, 0x7f}, {10, 1}, {11, 0x81},
                     {14, 0xff}}) {
    std::vector<uint8_t> t = z;
    t[patch.first] = patch.second;
    EXPECT_EQ(tensor_decode(TensorConfig{}, t, back, true).code(), ErrorCode::kCorrupt)
        << patch.first << "=" << int(patch.second);
  }
  // Version 1 knows no mode 2.
  EXPECT_EQ(tensor_decode(version(1), z, back, true).code(), ErrorCode::kCorrupt);
  // Payload damage is found (a bad index, a short stream) or changes the data.
  test::SampleRng rng(9);
  int noticed = 0;
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> t = z;
    const size_t at = 17 + rng.next() % (t.size() - 17);
    t[at] = static_cast<uint8_t>(t[at] ^ (1 + rng.next() % 255));
    if (!tensor_decode(TensorConfig{}, t, back, true).ok() || back != r.decoded) ++noticed;
  }
  EXPECT_GE(noticed, 190);
}

// ---- review cases --------------------------------------------------------------

TEST(TensorCopies, EqualBytesOfAnotherTypeStayExactInLossyCoding) {
  // An i32 tensor with exactly the bytes of an f32 one: under a bound the
  // f32 is approximated, the i32 must come back exactly.
  const SampleTensor w = make_sample_tensor("F32", 16, 16, 31);
  SampleTensor ids = w;
  ids.name = "ids";
  ids.dtype = "I32";
  const std::vector<uint8_t> file = make_safetensors({w, ids});
  const ErrorBound b{ErrorBound::kAbsolute, 1e-3};
  const std::vector<Segment> segs = block_segments(detect_layout(file, file.size()), 0, file.size());
  std::vector<uint8_t> z, decoded, back(file.size());
  LossyStats st;
  ASSERT_TRUE(tensor_encode(TensorConfig{}, segs, file, z, &b, &decoded, &st).ok());
  ASSERT_TRUE(tensor_decode(TensorConfig{}, z, back, true).ok());
  EXPECT_EQ(back, decoded);
  const size_t n = ids.data.size();
  EXPECT_TRUE(std::equal(file.end() - static_cast<std::ptrdiff_t>(n), file.end(), back.end() - static_cast<std::ptrdiff_t>(n)));
  EXPECT_NE(std::vector<uint8_t>(back.end() - static_cast<std::ptrdiff_t>(2 * n), back.end() - static_cast<std::ptrdiff_t>(n)),
            w.data);
  EXPECT_EQ(st.elements, 256u - 3u) << "the f32 tensor's values but NaN and the two infinities (kept exactly)";
}

TEST(TensorKv, HostileRawParametersAndIntegerCaches) {
  // tokens x row would wrap to 0 in 64 bits: no KV structure, no division by zero.
  const Layout l = raw_layout(DType::kF32, uint64_t(1) << 18, uint64_t(1) << 46, 1024);
  ASSERT_EQ(l.regions.size(), 1u);
  EXPECT_EQ(l.regions[0].tokens, 0u);
  // An integer cache is not cut into layers (only floats are quantised).
  const Layout li = raw_layout(DType::kI8, 16, 64, 2048);
  ASSERT_EQ(li.regions[0].tokens, 64u);
  EXPECT_EQ(block_segments(li, 0, 2048 * 8, true).size(), 1u);
  const Layout lf = raw_layout(DType::kF32, 16, 64, 2048);
  EXPECT_EQ(block_segments(lf, 0, 4 * 2048 * 8, true).size(), 8u);
}

TEST(TensorVq, StatsCountOnlyApproximatedValues) {
  // Every tensor too small for its codebook: nothing is approximated.
  const std::vector<uint8_t> file = test::make_sample_safetensors(8, 16);
  const std::vector<Segment> segs = block_segments(detect_layout(file, file.size()), 0, file.size());
  const vqtest::Result r = vqtest::vq_roundtrip(segs, file, VqShape{8, 1, 256});
  EXPECT_EQ(r.stats.elements, 0u);
  EXPECT_EQ(r.decoded, file);
}

TEST(TensorLossy, GridMovesReachValuesNoCodeReaches) {
  // bf16 values in [1, 2) (grid spacing 2^-7) under an absolute bound of
  // 0.005: the step 0.01 is coarser than the grid, and rounding Q * step to
  // bf16 often lands a grid step beyond the bound. Version 1 keeps those
  // values exactly; version 2 moves the decoded value one grid step.
  test::SampleRng rng(8);
  std::vector<uint8_t> in;
  for (int i = 0; i < 20000; ++i) test::put_le(in, float_to_bf16(static_cast<float>(1.0 + rng.uniform())), 2);
  const std::vector<Segment> segs = {Segment{DType::kBF16, 20000, 100, 0, 0, 0}};
  const ErrorBound b{ErrorBound::kAbsolute, 0.005};
  size_t size[3] = {0, 0, 0};
  for (uint8_t v : {uint8_t(1), uint8_t(2)}) {
    std::vector<uint8_t> z, decoded, back(in.size());
    LossyStats st;
    ASSERT_TRUE(tensor_encode(version(v), segs, in, z, &b, &decoded, &st).ok());
    ASSERT_TRUE(tensor_decode(version(v), z, back, true).ok());
    ASSERT_EQ(back, decoded);
    for (size_t i = 0; i < in.size(); i += 2) {
      const double x = bf16_to_float(static_cast<uint16_t>(test::read_le(in.data() + i, 2)));
      const double y = bf16_to_float(static_cast<uint16_t>(test::read_le(back.data() + i, 2)));
      ASSERT_LE(std::fabs(x - y), 0.005) << i;
    }
    size[v] = z.size();
    if (v == 2) {
      EXPECT_GT(st.elements, 19000u) << "nearly every value is approximated, not kept";
      // Decoding version 2's payload as version 1 goes wrong somewhere.
      EXPECT_FALSE(tensor_decode(version(1), z, back, true).ok() && back == decoded);
    }
  }
  EXPECT_LT(size[2], size[1]);
}


}  // namespace
}  // namespace sibyl::tensor
