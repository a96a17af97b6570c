// Micro-benchmarks (Google Benchmark). Speed goals are met here and in
// ../shared/tools/compare.py runs, never in timed tests.
//   build/bench/sibyl_bench --benchmark_filter=FastCm
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>

#include "coder/binary_coder.h"
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

}  // namespace
}  // namespace sibyl
