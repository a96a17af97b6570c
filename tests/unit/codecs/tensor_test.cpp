#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codecs/codec.h"
#include "codecs/tensor/float_bits.h"
#include "codecs/tensor/tensor_codec.h"
#include "codecs/tensor/tensor_layout.h"
#include "codecs/tensor/tensor_params.h"
#include "engine/decoder.h"
#include "engine/encoder.h"
#include "format/container.h"
#include "../../tensor/tensor_sample.h"

namespace sibyl::tensor {
namespace {

using test::make_safetensors;
using test::make_sample_npy;
using test::make_sample_safetensors;
using test::make_sample_tensor;

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// ---- layout detection (encoder side) ----------------------------------------

TEST(TensorLayout, SafetensorsRegionsFollowTheHeader) {
  const std::vector<uint8_t> file = make_sample_safetensors();
  const Layout l = detect_layout(file, file.size());
  ASSERT_EQ(l.container, "safetensors");
  ASSERT_EQ(l.regions.size(), 11u);
  const uint64_t n = file[0] | uint64_t(file[1]) << 8 | uint64_t(file[2]) << 16;
  EXPECT_EQ(l.header_bytes, 8 + n);
  EXPECT_EQ(l.regions[0].offset, l.header_bytes);
  EXPECT_EQ(l.regions[0].dtype, DType::kF32);
  EXPECT_EQ(l.regions[0].row, 96u);
  EXPECT_EQ(l.regions[1].dtype, DType::kF16);
  EXPECT_EQ(l.regions[2].dtype, DType::kBF16);
  EXPECT_EQ(l.regions[10].row, 300u);
  EXPECT_EQ(l.regions.back().offset + l.regions.back().bytes, file.size());
}

TEST(TensorLayout, NpyCAndFortranOrder) {
  for (bool fortran : {false, true}) {
    const std::vector<uint8_t> file = make_sample_npy(12, 7, fortran, 3);
    const Layout l = detect_layout(file, file.size());
    ASSERT_EQ(l.container, "npy");
    EXPECT_EQ(l.header_bytes % 64, 0u);
    ASSERT_EQ(l.regions.size(), 1u);
    EXPECT_EQ(l.regions[0].dtype, DType::kF32);
    EXPECT_EQ(l.regions[0].bytes, 12u * 7u * 4u);
    EXPECT_EQ(l.regions[0].row, fortran ? 12u : 7u);
  }
}

TEST(TensorLayout, NpyVersion2And3HeadersAndOtherTypes) {
  for (int major : {2, 3}) {
    std::string h = "{'descr': '<i2', 'fortran_order': False, 'shape': (5,), }";
    while ((12 + h.size() + 1) % 64 != 0) h += ' ';
    h += '\n';
    std::vector<uint8_t> f = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
    test::put_le(f, h.size(), 4);
    f.insert(f.end(), h.begin(), h.end());
    f.resize(f.size() + 10, 7);
    const Layout l = detect_layout(f, f.size());
    ASSERT_EQ(l.regions.size(), 1u) << major;
    EXPECT_EQ(l.regions[0].dtype, DType::kI16);
    EXPECT_EQ(l.regions[0].row, 5u);
  }
}

TEST(TensorLayout, MalformedHeadersGiveNoLayout) {
  const std::vector<uint8_t> good = make_sample_safetensors();
  const uint64_t n = good[0] | uint64_t(good[1]) << 8 | uint64_t(good[2]) << 16;
  const std::string json(good.begin() + 8, good.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  auto with_json = [&](std::string j) {
    std::vector<uint8_t> f;
    test::put_le(f, j.size(), 8);
    f.insert(f.end(), j.begin(), j.end());
    f.insert(f.end(), good.begin() + 8 + static_cast<std::ptrdiff_t>(n), good.end());
    return f;
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string j = json;
    const size_t at = j.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) j.replace(at, from.size(), to);
    return with_json(j);
  };
  const std::vector<std::vector<uint8_t>> bad = {
      replaced("[40,96]", "[40,95]"),                   // shape does not match the byte count
      replaced("\"data_offsets\":[0,", "\"data_offsets\":[8,"),  // overlaps the next tensor
      replaced("{\"__metadata__\"", "[\"__metadata__\""),  // not an object
      replaced("\"dtype\":\"F32\"", "\"dtype\":7"),       // dtype not a string
      replaced("}", "}}"),                                // trailing garbage
      with_json(json.substr(0, json.size() / 2)),         // cut JSON
      with_json(std::string(200, '[')),                   // deep nesting
      bytes_of("\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}"),                             // missing keys
      bytes_of("\x93NUMPY\x01\x00\x40\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"),  // cut header
      bytes_of("\x93NUMPY\x09\x00\x10\x00{}"),            // unknown version
  };
  for (size_t i = 0; i < bad.size(); ++i) EXPECT_TRUE(detect_layout(bad[i], bad[i].size()).empty()) << i;
  // A header size beyond the prefix.
  std::vector<uint8_t> huge = good;
  huge[5] = 0x10;
  EXPECT_TRUE(detect_layout(huge, huge.size()).empty());
}

TEST(TensorLayout, TypesNotModelledStayBytes) {
  // Big-endian NPY and an I64 tensor: recognised containers, no regions.
  std::string h = "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }";
  std::vector<uint8_t> f = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  test::put_le(f, h.size(), 2);
  f.insert(f.end(), h.begin(), h.end());
  f.resize(f.size() + 16);
  Layout l = detect_layout(f, f.size());
  EXPECT_EQ(l.container, "npy");
  EXPECT_TRUE(l.empty());
  test::SampleTensor t = make_sample_tensor("I32", 2, 4, 9);
  t.dtype = "I64";
  t.shape = {1, 4};
  const std::vector<uint8_t> s = make_safetensors({t, make_sample_tensor("F32", 2, 4, 10)});
  l = detect_layout(s, s.size());
  ASSERT_EQ(l.regions.size(), 1u);
  EXPECT_EQ(l.regions[0].dtype, DType::kF32);
}

TEST(TensorLayout, BlockSegmentsCutWholeElements) {
  Layout l;
  l.regions.push_back({10, 400, DType::kF32, 7});  // 100 elements
  l.regions.push_back({410, 50, DType::kBF16, 5});
  // A block from 13 to 113: 1 byte before the first whole element at 14.
  std::vector<Segment> s = block_segments(l, 13, 100);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].dtype, DType::kBytes);
  EXPECT_EQ(s[0].count, 1u);
  EXPECT_EQ(s[1].dtype, DType::kF32);
  EXPECT_EQ(s[1].count, 24u);  // bytes 14..110
  EXPECT_EQ(s[1].col0, 1u);    // element 1 of rows of 7
  EXPECT_EQ(s[2].count, 3u);   // 110..113: part of an element
  // Every block of any size is covered exactly.
  for (uint64_t size : {1u, 3u, 64u, 97u, 1000u}) {
    for (uint64_t start = 0; start < 600; start += size) {
      uint64_t total = 0;
      for (const Segment& seg : block_segments(l, start, size)) {
        total += seg.count * static_cast<uint64_t>(dtype_size(seg.dtype));
        EXPECT_LT(seg.col0, seg.row);
      }
      EXPECT_EQ(total, size);
    }
  }
}

// ---- the codec ---------------------------------------------------------------

std::vector<uint8_t> encode(const std::vector<Segment>& segs, const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out;
  EXPECT_TRUE(tensor_encode(TensorConfig{}, segs, in, out).ok());
  return out;
}

TEST(TensorCodec, EveryTypeRoundTrips) {
  const std::vector<uint8_t> file = make_sample_safetensors();
  const Layout l = detect_layout(file, file.size());
  const std::vector<Segment> segs = block_segments(l, 0, file.size());
  const std::vector<uint8_t> z = encode(segs, file);
  std::vector<uint8_t> back(file.size());
  ASSERT_TRUE(tensor_decode(TensorConfig{}, z, back).ok());
  EXPECT_EQ(back, file);
  EXPECT_LT(z.size(), file.size() * 9 / 10);
}

TEST(TensorCodec, EachTypeAloneAndAtOddColumns) {
  const char* types[] = {"F32", "F16", "BF16", "F64", "I8", "U8", "I16", "U16", "I32", "U32"};
  const DType dtypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI8,
                          DType::kU8,  DType::kI16, DType::kU16,  DType::kI32, DType::kU32};
  for (int i = 0; i < 10; ++i) {
    const test::SampleTensor t = make_sample_tensor(types[i], 30, 17, 40 + static_cast<uint64_t>(i));
    const uint64_t es = static_cast<uint64_t>(dtype_size(dtypes[i]));
    for (uint64_t row : {uint64_t(1), uint64_t(17), uint64_t(kMaxRow) + 5}) {
      Segment s;
      s.dtype = dtypes[i];
      s.count = t.data.size() / es;
      s.row = row;
      s.col0 = row > 3 ? 3 : 0;
      const std::vector<uint8_t> z = encode({s}, t.data);
      std::vector<uint8_t> back(t.data.size());
      ASSERT_TRUE(tensor_decode(TensorConfig{}, z, back).ok()) << types[i] << " row " << row;
      EXPECT_EQ(back, t.data) << types[i] << " row " << row;
    }
  }
}

TEST(TensorCodec, ExtremeBitPatternsRoundTrip) {
  // Every 16-bit pattern as f16, bf16, i16 and u16; random 32/64-bit patterns.
  std::vector<uint8_t> all16;
  for (uint32_t v = 0; v < 65536; ++v) test::put_le(all16, (v * 40503u) & 0xffff, 2);
  for (DType t : {DType::kF16, DType::kBF16, DType::kI16, DType::kU16}) {
    const std::vector<uint8_t> z = encode({{t, 65536, 256, 0}}, all16);
    std::vector<uint8_t> back(all16.size());
    ASSERT_TRUE(tensor_decode(TensorConfig{}, z, back).ok());
    EXPECT_EQ(back, all16) << dtype_name(t);
  }
  test::SampleRng rng(5);
  std::vector<uint8_t> r(8 * 5000);
  for (auto& b : r) b = static_cast<uint8_t>(rng.next());
  for (DType t : {DType::kF32, DType::kF64, DType::kI32, DType::kU32, DType::kI8, DType::kU8}) {
    const uint64_t n = r.size() / static_cast<uint64_t>(dtype_size(t));
    const std::vector<uint8_t> z = encode({{t, n, 10, 9}}, r);
    std::vector<uint8_t> back(r.size());
    ASSERT_TRUE(tensor_decode(TensorConfig{}, z, back).ok());
    EXPECT_EQ(back, r) << dtype_name(t);
  }
}

TEST(TensorCodec, CorruptPayloadsFailCleanly) {
  const std::vector<uint8_t> file = make_sample_safetensors();
  const std::vector<Segment> segs = block_segments(detect_layout(file, file.size()), 0, file.size());
  const std::vector<uint8_t> z = encode(segs, file);
  std::vector<uint8_t> back(file.size());
  // Every cut fails; flipped bytes either fail or decode to something else
  // (the block checksum catches that), never crash.
  for (size_t cut : {size_t(0), size_t(1), size_t(5), z.size() / 3, z.size() - 1}) {
    std::vector<uint8_t> t(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_FALSE(tensor_decode(TensorConfig{}, t, back).ok()) << cut;
  }
  // Some changes cannot matter (a row length beyond a tensor's end), so
  // only most must be noticed here.
  test::SampleRng rng(11);
  int noticed = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> t = z;
    const size_t at = i < 100 ? static_cast<size_t>(i) : rng.next() % t.size();
    t[at] = static_cast<uint8_t>(t[at] ^ (1 + rng.next() % 255));
    const Status s = tensor_decode(TensorConfig{}, t, back);
    if (!s.ok() || back != file) ++noticed;
  }
  EXPECT_GE(noticed, 270);
  // A segment table that does not cover the block.
  std::vector<uint8_t> small(file.size() - 1);
  EXPECT_EQ(tensor_decode(TensorConfig{}, z, small).code(), ErrorCode::kCorrupt);
}

TEST(TensorCodec, ManyShortSegmentsWithLongRows) {
  // The most segments a block may have, each one element of a row as long
  // as the row state allows: the decoder resets only the columns a segment
  // visits (this once cost a megabyte of stores per segment).
  std::vector<Segment> segs(kMaxSegments, Segment{DType::kU8, 1, kMaxRow, kMaxRow - 1});
  std::vector<uint8_t> in(kMaxSegments);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 7);
  const std::vector<uint8_t> z = encode(segs, in);
  std::vector<uint8_t> back(in.size());
  ASSERT_TRUE(tensor_decode(TensorConfig{}, z, back).ok());
  EXPECT_EQ(back, in);
  segs.push_back(segs.back());
  in.push_back(1);
  std::vector<uint8_t> out;
  EXPECT_FALSE(tensor_encode(TensorConfig{}, segs, in, out).ok());
}

TEST(TensorCodec, ParametersAreChecked) {
  TensorConfig c;
  EXPECT_TRUE(TensorConfig::parse(TensorConfig{}.serialize(), &c).ok());
  std::vector<uint8_t> p = TensorConfig{}.serialize();
  p[0] = 9;
  EXPECT_EQ(TensorConfig::parse(p, &c).code(), ErrorCode::kBadParameters);
  p = TensorConfig{}.serialize();
  p[1] = 9;
  EXPECT_EQ(TensorConfig::parse(p, &c).code(), ErrorCode::kBadParameters);
  p.pop_back();
  EXPECT_EQ(TensorConfig::parse(p, &c).code(), ErrorCode::kBadParameters);
}

// ---- lossy (codec 3) ----------------------------------------------------------

double element_value(DType t, const uint8_t* p) {
  switch (t) {
    case DType::kF32: return float_of_bits(static_cast<uint32_t>(test::read_le(p, 4)));
    case DType::kF16: return f16_to_float(static_cast<uint16_t>(test::read_le(p, 2)));
    case DType::kBF16: return bf16_to_float(static_cast<uint16_t>(test::read_le(p, 2)));
    default: return double_of_bits(test::read_le(p, 8));
  }
}

// Checks every element of `segs`: floats within the bound (relative to the
// largest finite magnitude of the segment), NaN/inf and non-floats exact.
void expect_within_bound(const std::vector<Segment>& segs, const std::vector<uint8_t>& in,
                         const std::vector<uint8_t>& out, const ErrorBound& b) {
  ASSERT_EQ(in.size(), out.size());
  uint64_t pos = 0;
  for (const Segment& s : segs) {
    const uint64_t es = static_cast<uint64_t>(dtype_size(s.dtype));
    const bool is_float = s.dtype == DType::kF32 || s.dtype == DType::kF16 || s.dtype == DType::kBF16 ||
                          s.dtype == DType::kF64;
    if (!is_float) {
      EXPECT_TRUE(std::equal(in.begin() + static_cast<std::ptrdiff_t>(pos),
                             in.begin() + static_cast<std::ptrdiff_t>(pos + s.count * es),
                             out.begin() + static_cast<std::ptrdiff_t>(pos)))
          << dtype_name(s.dtype) << " changed";
      pos += s.count * es;
      continue;
    }
    double max_abs = 0;
    for (uint64_t i = 0; i < s.count; ++i) {
      const double v = element_value(s.dtype, in.data() + pos + i * es);
      if (std::isfinite(v)) max_abs = std::max(max_abs, std::fabs(v));
    }
    const double e = b.mode == ErrorBound::kAbsolute ? b.bound : b.bound * max_abs;
    int bad = 0;
    for (uint64_t i = 0; i < s.count; ++i) {
      const double v = element_value(s.dtype, in.data() + pos + i * es);
      const double w = element_value(s.dtype, out.data() + pos + i * es);
      const bool ok = std::isfinite(v) ? std::fabs(v - w) <= e
                                       : std::memcmp(in.data() + pos + i * es, out.data() + pos + i * es, es) == 0;
      if (!ok && ++bad <= 3) ADD_FAILURE() << dtype_name(s.dtype) << " element " << i << ": " << v << " -> " << w << " (bound " << e << ")";
    }
    pos += s.count * es;
  }
}

TEST(TensorLossy, EveryElementWithinTheBound) {
  const std::vector<uint8_t> file = make_sample_safetensors();
  const std::vector<Segment> segs = block_segments(detect_layout(file, file.size()), 0, file.size());
  const ErrorBound bounds[] = {{ErrorBound::kRelative, 1e-2}, {ErrorBound::kRelative, 1e-4},
                               {ErrorBound::kAbsolute, 1e-3}, {ErrorBound::kAbsolute, 1e-12}};
  for (const ErrorBound& b : bounds) {
    std::vector<uint8_t> z, decoded;
    ASSERT_TRUE(tensor_encode(TensorConfig{}, segs, file, z, &b, &decoded).ok());
    std::vector<uint8_t> back(file.size());
    ASSERT_TRUE(tensor_decode(TensorConfig{}, z, back, true).ok());
    EXPECT_EQ(back, decoded) << "the decoder must produce what the encoder reported";
    expect_within_bound(segs, file, back, b);
    if (b.bound >= 1e-4) {
      EXPECT_NE(back, file);
    }
  }
  // A coarser bound makes a smaller payload.
  std::vector<uint8_t> z1, z2, d;
  const ErrorBound fine{ErrorBound::kRelative, 1e-4}, coarse{ErrorBound::kRelative, 1e-2};
  ASSERT_TRUE(tensor_encode(TensorConfig{}, segs, file, z1, &fine, &d).ok());
  ASSERT_TRUE(tensor_encode(TensorConfig{}, segs, file, z2, &coarse, &d).ok());
  EXPECT_LT(z2.size(), z1.size());
}

TEST(TensorLossy, PredictorsAndExactElements) {
  // A smooth ramp (the left predictor wins), rows that repeat (above wins),
  // and values finer than the bound can reach in f16 (kept exactly).
  std::vector<uint8_t> ramp, rows, fine;
  for (int i = 0; i < 4000; ++i) test::put_le(ramp, bits_of_float(0.001f * static_cast<float>(i) + 3.0f), 4);
  for (int i = 0; i < 4000; ++i) test::put_le(rows, bits_of_float(std::sin(0.37f * static_cast<float>(i % 50))), 4);
  for (int i = 0; i < 4000; ++i) test::put_le(fine, float_to_f16(1.0f + static_cast<float>(i % 64) / 1024.0f), 2);
  // x / step just below 2^30: rounding gives |Q| = 2^30, which must be kept
  // exactly (a residual of 2^31 between +1 and -1 once decoded wrongly).
  std::vector<uint8_t> edge;
  for (int i = 0; i < 600; ++i) test::put_le(edge, bits_of_float((i / 7) % 2 ? -1.0f : 1.0f), 4);
  struct Case {
    std::vector<uint8_t>* data;
    Segment seg;
    ErrorBound b;
  } cases[] = {{&ramp, {DType::kF32, 4000, 100, 0}, {ErrorBound::kAbsolute, 1e-4}},
               {&rows, {DType::kF32, 4000, 50, 0}, {ErrorBound::kRelative, 1e-3}},
               {&fine, {DType::kF16, 4000, 64, 0}, {ErrorBound::kAbsolute, 1e-4}},
               {&edge, {DType::kF32, 600, 7, 0}, {ErrorBound::kAbsolute, 4.6566128745e-10}}};
  for (const Case& c : cases) {
    std::vector<uint8_t> z, decoded, back(c.data->size());
    const std::vector<Segment> one = {c.seg};
    ASSERT_TRUE(tensor_encode(TensorConfig{}, one, *c.data, z, &c.b, &decoded).ok());
    ASSERT_TRUE(tensor_decode(TensorConfig{}, z, back, true).ok());
    EXPECT_EQ(back, decoded);
    expect_within_bound(one, *c.data, back, c.b);
  }
}

TEST(TensorLossy, CorruptPayloadsFailCleanly) {
  const std::vector<uint8_t> file = make_sample_safetensors(12, 20);
  const std::vector<Segment> segs = block_segments(detect_layout(file, file.size()), 0, file.size());
  const ErrorBound b{ErrorBound::kRelative, 1e-3};
  std::vector<uint8_t> z, decoded;
  ASSERT_TRUE(tensor_encode(TensorConfig{}, segs, file, z, &b, &decoded).ok());
  std::vector<uint8_t> back(file.size());
  test::SampleRng rng(3);
  int noticed = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> t = z;
    const size_t at = i < 150 ? static_cast<size_t>(i) : rng.next() % t.size();
    t[at] = static_cast<uint8_t>(t[at] ^ (1 + rng.next() % 255));
    if (!tensor_decode(TensorConfig{}, t, back, true).ok() || back != decoded) ++noticed;
  }
  EXPECT_GE(noticed, 270);
  // A lossless decoder does not read a lossy table.
  EXPECT_FALSE(tensor_decode(TensorConfig{}, z, back, false).ok() && back == decoded);
}

// ---- through the engine ------------------------------------------------------

std::vector<uint16_t> block_codecs(const std::vector<uint8_t>& archive) {
  std::vector<uint16_t> ids;
  size_t pos = format::kFrameHeaderSize;
  while (pos + format::kBlockHeaderFixedSize <= archive.size() && archive[pos] == format::kKindBlock) {
    format::BlockHeader h;
    const size_t size = format::block_header_size({archive.data() + pos, 4});
    if (!format::parse_block_header({archive.data() + pos, size}, format::kMaxBlockLog, &h).ok()) break;
    ids.push_back(h.codec);
    pos += h.encoded_size() + h.coded_size;
  }
  return ids;
}

TEST(TensorEngine, ContainersAreFoundAndBlocksCutAnywhere) {
  std::vector<uint8_t> file = make_sample_safetensors();
  file.insert(file.end(), {1, 2, 3});  // trailing bytes are kept too
  std::vector<uint8_t> first;
  for (int block_log : {0, 10, 12}) {
    for (int threads : {1, 3}) {
      EncodeOptions o;
      o.level = 2;
      o.threads = threads;
      o.block_log = block_log;
      std::vector<uint8_t> z, back;
      ASSERT_TRUE(compress_buffer(file, o, z).ok());
      ASSERT_TRUE(decompress_buffer(z, DecodeOptions{}, back).ok());
      EXPECT_EQ(back, file);
      if (threads == 1) first = z;
      else EXPECT_EQ(z, first) << "archive depends on the thread count";
      const std::vector<uint16_t> ids = block_codecs(z);
      ASSERT_GE(ids.size(), 2u);
      EXPECT_EQ(ids[0], kCodecCm);  // the JSON header, in a block of its own
      EXPECT_EQ(ids[1], kCodecTensor);
    }
  }
  // Told it is bytes, the engine does not look.
  EncodeOptions o;
  o.kind = DataKind::kBytes;
  std::vector<uint8_t> z;
  ASSERT_TRUE(compress_buffer(file, o, z).ok());
  for (uint16_t id : block_codecs(z)) EXPECT_NE(id, kCodecTensor);
}

TEST(TensorEngine, LossyArchivesAreDeterministicAndWithinTheBound) {
  const std::vector<uint8_t> file = make_sample_safetensors();
  const Layout layout = detect_layout(file, file.size());
  std::vector<uint8_t> first;
  for (int block_log : {0, 12}) {
    for (int threads : {1, 3}) {
      EncodeOptions o;
      o.threads = threads;
      o.block_log = block_log;
      o.error_mode = ErrorBound::kRelative;
      o.error_bound = 1e-3;
      o.verify = true;
      std::vector<uint8_t> z, back;
      ASSERT_TRUE(compress_buffer(file, o, z).ok());
      ASSERT_TRUE(decompress_buffer(z, DecodeOptions{}, back).ok());  // checksums are of the decoded data
      if (threads == 1) first = z;
      else EXPECT_EQ(z, first);
      // The header comes back exactly; every element within its bound
      // (per block part: the bound is relative to the part's largest value).
      EXPECT_TRUE(std::equal(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(layout.header_bytes), back.begin()));
      const size_t bs = block_log == 0 ? file.size() : size_t(1) << block_log;
      // Blocks: the header, the rest of the first block, then whole blocks.
      uint64_t start = layout.header_bytes;
      while (start < file.size()) {
        const uint64_t size = std::min<uint64_t>((start / bs + 1) * bs, file.size()) - start;
        const std::vector<Segment> segs = block_segments(layout, start, size);
        const std::vector<uint8_t> a(file.begin() + static_cast<std::ptrdiff_t>(start),
                                     file.begin() + static_cast<std::ptrdiff_t>(start + size));
        const std::vector<uint8_t> c(back.begin() + static_cast<std::ptrdiff_t>(start),
                                     back.begin() + static_cast<std::ptrdiff_t>(start + size));
        expect_within_bound(segs, a, c, {ErrorBound::kRelative, 1e-3});
        start += size;
      }
      const std::vector<uint16_t> ids = block_codecs(z);
      EXPECT_NE(std::find(ids.begin(), ids.end(), kCodecTensorLossy), ids.end());
    }
  }
}

TEST(TensorEngine, RawArraysAndHeaderBiggerThanABlock) {
  const test::SampleTensor t = make_sample_tensor("BF16", 64, 50, 77);
  EncodeOptions o;
  o.kind = DataKind::kTensor;
  o.tensor_dtype = DType::kBF16;
  o.tensor_row = 50;
  std::vector<uint8_t> z, zb, back;
  ASSERT_TRUE(compress_buffer(t.data, o, z).ok());
  ASSERT_TRUE(decompress_buffer(z, DecodeOptions{}, back).ok());
  EXPECT_EQ(back, t.data);
  EXPECT_EQ(block_codecs(z), std::vector<uint16_t>{kCodecTensor});
  o.kind = DataKind::kBytes;
  ASSERT_TRUE(compress_buffer(t.data, o, zb).ok());
  EXPECT_LT(z.size(), zb.size());
  // A header longer than the first block: no layout, still exact.
  std::vector<test::SampleTensor> many;
  for (uint64_t i = 0; i < 40; ++i) many.push_back(make_sample_tensor("F32", 2, 3, 100 + i));
  const std::vector<uint8_t> file = make_safetensors(many);
  EncodeOptions small;
  small.block_log = 10;
  ASSERT_GT(file[0] | file[1] << 8, 1024);
  ASSERT_TRUE(compress_buffer(file, small, z).ok());
  ASSERT_TRUE(decompress_buffer(z, DecodeOptions{}, back).ok());
  EXPECT_EQ(back, file);
}

}  // namespace
}  // namespace sibyl::tensor
