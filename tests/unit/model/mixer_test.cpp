#include "model/mixer.h"

#include <gtest/gtest.h>

#include <random>

#include "model/adaptive_prob.h"
#include "model/apm.h"

namespace sibyl {
namespace {

TEST(MixerKernel, SimdEqualsScalarReference) {
  std::mt19937 rng(1);
  for (int t = 0; t < 2000; ++t) {
    alignas(16) int16_t x[16], w1[16], w2[16];
    for (int i = 0; i < 16; ++i) {
      x[i] = static_cast<int16_t>(static_cast<int>(rng() % 4095) - 2047);
      w1[i] = w2[i] = static_cast<int16_t>(rng());
    }
    EXPECT_EQ(mixer_kernel::dot(x, w1, 16), mixer_kernel::dot_scalar(x, w1, 16));
    const int err = static_cast<int>(rng() % 57331) - 28665;
    mixer_kernel::train(x, w1, 16, err);
    mixer_kernel::train_scalar(x, w2, 16, err);
    for (int i = 0; i < 16; ++i) ASSERT_EQ(w1[i], w2[i]);
  }
}

#if defined(SIBYL_AVX2_DISPATCH)
TEST(MixerKernel, Avx2EqualsScalarReference) {
  if (simd_cpu_level() < SimdLevel::kAvx2) GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937 rng(4);
  for (int n : {8, 16, 24, 32, 40}) {
    for (int t = 0; t < 2000; ++t) {
      alignas(32) int16_t x[40], w1[40], w2[40];
      for (int i = 0; i < n; ++i) {
        x[i] = static_cast<int16_t>(static_cast<int>(rng() % 4095) - 2047);
        w1[i] = w2[i] = static_cast<int16_t>(rng());
      }
      // Extremes too: saturation and the largest products.
      if (t % 7 == 0) x[0] = -2047, w1[0] = w2[0] = -32768;
      ASSERT_EQ(mixer_kernel::dot_avx2(x, w1, n), mixer_kernel::dot_scalar(x, w1, n)) << n;
      const int err = t % 11 == 0 ? 28665 : static_cast<int>(rng() % 57331) - 28665;
      mixer_kernel::train_avx2(x, w1, n, err);
      mixer_kernel::train_scalar(x, w2, n, err);
      for (int i = 0; i < n; ++i) ASSERT_EQ(w1[i], w2[i]) << n << " " << i;
    }
  }
}
#endif

TEST(Mixer, RegisterInputsEqualMemoryInputs) {
  Mixer<8, 2> a({4, 4}, 1000, 6), b({4, 4}, 1000, 6);
  std::mt19937 rng(9);
  for (int t = 0; t < 5000; ++t) {
    int16_t v[8];
    for (auto& x : v) x = static_cast<int16_t>(static_cast<int>(rng() % 4095) - 2047);
    a.set_inputs8(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    for (int i = 0; i < 8; ++i) b.inputs()[i] = v[i];
    const int sel[2] = {static_cast<int>(rng() % 4), static_cast<int>(rng() % 4)};
    ASSERT_EQ(a.mix(sel), b.mix(sel)) << t;
    const int bit = rng() & 1;
    a.update(bit);
    b.update(bit);
  }
}

// The 16-input register path (mix and training) against inputs written to
// memory, with 11 live inputs as the image codec has; a third mixer mixes
// both ways in turn (inputs() must drop the registers set before).
TEST(Mixer, RegisterInputs16EqualMemoryInputs) {
  Mixer<11, 2> a({4, 6}, 1000, 6), b({4, 6}, 1000, 6), c({4, 6}, 1000, 6);
  std::mt19937 rng(11);
  for (int t = 0; t < 5000; ++t) {
    int16_t v[16] = {};
    for (int i = 0; i < 11; ++i) v[i] = static_cast<int16_t>(static_cast<int>(rng() % 4095) - 2047);
    a.set_inputs16(v);
    for (int i = 0; i < 11; ++i) b.inputs()[i] = v[i];
    if (t % 2) {
      c.set_inputs16(v);
    } else {
      for (int i = 0; i < 11; ++i) c.inputs()[i] = v[i];
    }
    const int sel[2] = {static_cast<int>(rng() % 4), static_cast<int>(rng() % 6)};
    const int m = b.mix(sel);
    ASSERT_EQ(a.mix(sel), m) << t;
    ASSERT_EQ(c.mix(sel), m) << t;
    const int bit = rng() & 1;
    a.update(bit);
    b.update(bit);
    c.update(bit);
  }
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(a.table(k), b.table(k));
    EXPECT_EQ(c.table(k), b.table(k));
  }
}

TEST(Mixer, LearnsToTrustTheGoodInput) {
  // Input 0 predicts the bit well, input 1 is noise: after training the
  // mixer's prediction follows input 0.
  Mixer<2, 1> m({1}, 0, 6);
  std::mt19937 rng(2);
  int correct = 0;
  for (int i = 0; i < 20000; ++i) {
    const int bit = rng() & 1;
    m.inputs()[0] = static_cast<int16_t>(bit ? 500 : -500);
    m.inputs()[1] = static_cast<int16_t>(static_cast<int>(rng() % 1001) - 500);
    const int st = m.mix({0});
    if (i > 10000) correct += (st > 0) == (bit == 1);
    m.update(bit);
  }
  EXPECT_GT(correct, 9900);
}

TEST(AdaptiveProb, ConvergesToFrequency) {
  AdaptiveProb p;
  std::mt19937 rng(3);
  for (int i = 0; i < 100000; ++i) adapt(p, (rng() % 100) < 30, 1023);
  EXPECT_NEAR(p.p / 65536.0, 0.30, 0.03);
  AdaptiveProb q;
  adapt(q, 1, 60);
  EXPECT_EQ(q.p, 54612);  // the first update moves 2/3 of the way (rate 1/1.5)
}

TEST(Apm, RefinesTowardsObservedRate) {
  Apm apm(2, 5);
  for (int i = 0; i < 5000; ++i) {
    apm.refine(0, 1);
    apm.update(1);
  }
  EXPECT_GT(apm.refine(0, 1), 60000);
  EXPECT_NEAR(apm.refine(0, 0), 32768, 200);  // other context untouched
}

}  // namespace
}  // namespace sibyl
