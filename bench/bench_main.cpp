// Micro-benchmarks (Google Benchmark). Speed goals are met here and in
// ../shared/tools/compare.py runs, never in timed tests.
//   build/bench/sibyl_bench --benchmark_filter=FastCm
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>

#include "sibyl/sibyl.h"

#include "coder/binary_coder.h"
#include "codecs/codec.h"
#include "codecs/levels.h"
#include "codecs/bytes/fast_cm.h"
#include "engine/decoder.h"
#include "engine/encoder.h"

namespace sibyl {
namespace {

std::vector<uint8_t> text_like(size_t n) {
  static const char* words[] = {"compression ", "is ", "prediction; ", "the ", "model ", "learns ", "every ", "bit.\n"};
  std::mt19937 rng(1);
  std::vector<uint8_t> v;
  while (v.size() < n) {
    const char* w = words[rng() % 8];
    v.insert(v.end(), w, w + std::strlen(w));
    if (rng() % 5 == 0) v.push_back(static_cast<uint8_t>('0' + rng() % 10));
  }
  v.resize(n);
  return v;
}

void BM_BinaryEncoder(benchmark::State& state) {
  std::mt19937 rng(2);
  std::vector<uint32_t> probs(1 << 16);
  std::vector<int> bits(probs.size());
  for (size_t i = 0; i < probs.size(); ++i) {
    probs[i] = 1 + rng() % 65535;
    bits[i] = (rng() & 0xffff) < probs[i];
  }
  std::vector<uint8_t> out;
  for (auto _ : state) {
    out.clear();
    BinaryEncoder enc(out);
    for (size_t i = 0; i < probs.size(); ++i) enc.code(bits[i], probs[i]);
    enc.flush();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * probs.size()));
}
BENCHMARK(BM_BinaryEncoder);

void BM_FastCmEncode(benchmark::State& state) {
  const auto in = text_like(1 << 20);
  FastCmConfig c;
  c.variant = static_cast<uint8_t>(state.range(0));
  c.table_log = 16;
  c.match_log = 18;
  std::vector<uint8_t> out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(fast_cm_encode(c, in, out).ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_FastCmEncode)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_FastCmDecode(benchmark::State& state) {
  const auto in = text_like(1 << 20);
  FastCmConfig c;
  c.variant = static_cast<uint8_t>(state.range(0));
  c.table_log = 16;
  c.match_log = 18;
  std::vector<uint8_t> packed, out(in.size());
  (void)fast_cm_encode(c, in, packed);
  for (auto _ : state) benchmark::DoNotOptimize(fast_cm_decode(c, packed, out).ok());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_FastCmDecode)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

// Whole-engine overhead on small inputs at level 1 (one frame per call).
void BM_CompressSmall(benchmark::State& state) {
  const auto in = text_like(static_cast<size_t>(state.range(0)));
  EncodeOptions o;
  o.level = 1;
  std::vector<uint8_t> out;
  for (auto _ : state) benchmark::DoNotOptimize(compress_buffer(in, o, out).ok());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_CompressSmall)->Arg(1024)->Arg(64 << 10);

// The one-shot C API against the codec alone on 1 KiB at -1: the API's
// overhead (frame and block headers, checksums, buffers) is the difference.
// Target: at most 10% of the codec's time.
const std::vector<uint8_t>& kib_input() {
  static const std::vector<uint8_t> in = text_like(1024);
  return in;
}

void BM_Kib1CodecEncode(benchmark::State& state) {
  const LevelPreset p = level_preset(1);
  const Codec* codec = find_codec(p.codec);
  const auto params = codec->fit_params ? codec->fit_params(p.params, kib_input().size()) : p.params;
  std::vector<uint8_t> out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(codec->encode(params, kib_input(), out).ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kib_input().size()));
}
BENCHMARK(BM_Kib1CodecEncode);

void BM_Kib1ApiCompress(benchmark::State& state) {
  std::vector<uint8_t> out(sibyl_compress_bound(kib_input().size()));
  size_t n = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(sibyl_compress(out.data(), out.size(), &n, kib_input().data(), kib_input().size(), 1));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kib_input().size()));
}
BENCHMARK(BM_Kib1ApiCompress);

void BM_Kib1CodecDecode(benchmark::State& state) {
  const LevelPreset p = level_preset(1);
  const Codec* codec = find_codec(p.codec);
  const auto params = codec->fit_params ? codec->fit_params(p.params, kib_input().size()) : p.params;
  std::vector<uint8_t> coded, back(kib_input().size());
  if (!codec->encode(params, kib_input(), coded).ok()) state.SkipWithError("encode failed");
  for (auto _ : state) benchmark::DoNotOptimize(codec->decode(params, coded, back).ok());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kib_input().size()));
}
BENCHMARK(BM_Kib1CodecDecode);

void BM_Kib1ApiDecompress(benchmark::State& state) {
  std::vector<uint8_t> packed(sibyl_compress_bound(kib_input().size())), back(kib_input().size());
  size_t n = 0;
  if (sibyl_compress(packed.data(), packed.size(), &n, kib_input().data(), kib_input().size(), 1) != SIBYL_OK)
    state.SkipWithError("compress failed");
  packed.resize(n);
  for (auto _ : state)
    benchmark::DoNotOptimize(sibyl_decompress(back.data(), back.size(), &n, packed.data(), packed.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kib_input().size()));
}
BENCHMARK(BM_Kib1ApiDecompress);

}  // namespace
}  // namespace sibyl
