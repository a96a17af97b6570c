// Tuning bench of the probabilistic-circuit model: trains an HCLT on one
// training set and reports bits per variable on another (the model's own
// likelihood and the cost after quantisation for the range coder), with
// the coder's speed.
//   sibyl_pc_tune TRAIN TEST [latent=32 epochs=20 threads=2 n=0 lp=0.1 tp=0.1 mis=10000 bins=16 save=FILE]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "coder/quantize.h"
#include "dataset.h"
#include "model/pc/hclt.h"

using namespace sibyl;

static void progress(void*, uint32_t epoch, double bpv) {
  std::fprintf(stderr, "epoch %u: train %.4f bits/var\n", epoch, bpv);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: sibyl_pc_tune TRAIN TEST [key=value...]\n");
    return 2;
  }
  pc::TrainOptions opt;
  opt.threads = 2;
  size_t limit = 0, test_limit = 0;
  std::string save;
  for (int i = 3; i < argc; ++i) {
    const char* a = argv[i];
    const char* eq = std::strchr(a, '=');
    if (!eq) return 2;
    const std::string k(a, eq);
    const double v = std::atof(eq + 1);
    if (k == "latent") opt.latent = uint32_t(v);
    else if (k == "epochs") opt.epochs = uint32_t(v);
    else if (k == "threads") opt.threads = int(v);
    else if (k == "n") limit = size_t(v);
    else if (k == "tn") test_limit = size_t(v);
    else if (k == "lp") opt.leaf_pseudocount = v;
    else if (k == "tp") opt.trans_pseudocount = v;
    else if (k == "mis") opt.mi_samples = uint32_t(v);
    else if (k == "bins") opt.mi_bins = uint32_t(v);
    else if (k == "batch") opt.batch = uint32_t(v);
    else if (k == "step") opt.step = v;
    else if (k == "save") save = eq + 1;
    else { std::fprintf(stderr, "unknown knob %s\n", k.c_str()); return 2; }
  }
  cli::Dataset train, test;
  Status s = cli::load_dataset({argv[1]}, &train);
  if (s.ok()) s = cli::load_dataset({argv[2]}, &test);
  if (!s.ok()) { std::fprintf(stderr, "%s\n", s.message().c_str()); return 1; }
  if (limit && limit < train.count) train.count = limit;
  if (test_limit && test_limit < test.count) test.count = test_limit;
  const uint32_t values = 256;
  opt.progress = progress;
  auto t0 = std::chrono::steady_clock::now();
  pc::Hclt m;
  s = pc::train_hclt(train.records.data(), train.count, uint32_t(train.record_size), values, opt, &m);
  if (!s.ok()) { std::fprintf(stderr, "%s\n", s.message().c_str()); return 1; }
  auto t1 = std::chrono::steady_clock::now();
  std::fprintf(stderr, "trained in %.1f s\n", std::chrono::duration<double>(t1 - t0).count());
  if (!save.empty()) {
    const auto bytes = pc::write_prior(m);
    FILE* f = std::fopen(save.c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  pc::TreeOrder tree;
  (void)tree.build(m.parent);
  std::vector<float> scratch;
  double ll = 0;
  for (size_t r = 0; r < test.count; ++r) ll += pc::record_bits(m, tree, &test.records[r * test.record_size], scratch);
  const std::vector<float> tt = pc::transpose_transitions(m);
  pc::HcltCoder coder(m, tree, tt.data());
  std::vector<float> dist(values);
  std::vector<uint32_t> freq(values);
  double coded = 0;
  auto t2 = std::chrono::steady_clock::now();
  for (size_t r = 0; r < test.count; ++r) {
    const uint8_t* x = &test.records[r * test.record_size];
    coder.reset();
    for (uint32_t i = 0; i < m.vars; ++i) {
      coder.predict(i, dist.data());
      quantize_distribution(dist.data(), values, 16, freq.data());
      const uint8_t v = x[tree.order[i]];
      coded += 16 - std::log2(double(freq[v]));
      coder.observe(i, v);
    }
  }
  auto t3 = std::chrono::steady_clock::now();
  const double sec = std::chrono::duration<double>(t3 - t2).count();
  const double dims = double(test.count) * m.vars;
  std::printf("latent %u epochs %u lp %g tp %g: test %.4f bits/var (model), %.4f (quantised), %.0f records/s\n",
              opt.latent, opt.epochs, opt.leaf_pseudocount, opt.trans_pseudocount, ll / dims, coded / dims,
              test.count / sec);
  return 0;
}
