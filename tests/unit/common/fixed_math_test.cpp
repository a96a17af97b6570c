#include "common/fixed_math.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sibyl {
namespace {

TEST(FixedMath, SquashIsMonotoneAndBounded) {
  int prev = 0;
  for (int d = -2047; d <= 2047; ++d) {
    const int p = squash(d);
    EXPECT_GE(p, 1);
    EXPECT_LE(p, 4095);
    EXPECT_GE(p, prev) << d;
    prev = p;
  }
  EXPECT_EQ(squash(0), 2048);
  EXPECT_EQ(squash(100000), squash(2047));
  EXPECT_EQ(squash(-100000), squash(-2047));
}

TEST(FixedMath, StretchInvertsSquash) {
  for (int p = 1; p < 4096; ++p) {
    const int d = stretch(p);
    EXPECT_LE(std::abs(squash(d) - p), 1 + p / 64) << p;
  }
  EXPECT_EQ(stretch(2048), 0);
}

TEST(FixedMath, TablesMatchLibm) {
  // The tables are built without libm so they are identical everywhere;
  // they must still be the logistic function to within rounding.
  for (int d = -2047; d <= 2047; d += 7) {
    const double ref = 4096.0 / (1.0 + std::exp(-d / 256.0));
    EXPECT_LE(std::fabs(squash(d) - ref), 0.5 + 1e-9) << d;
  }
  EXPECT_NEAR(det_exp(1.0), std::exp(1.0), 1e-14);
  EXPECT_NEAR(det_log(10.0), std::log(10.0), 1e-14);
}

TEST(FixedMath, Ilog2) {
  EXPECT_EQ(ilog2(1), 0);
  EXPECT_EQ(ilog2(2), 1);
  EXPECT_EQ(ilog2(255), 7);
  EXPECT_EQ(ilog2(256), 8);
  EXPECT_EQ(ilog2(0xffffffffu), 31);
}

}  // namespace
}  // namespace sibyl
