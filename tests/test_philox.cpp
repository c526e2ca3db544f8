// Philox4x32-10 against the known-answer vectors published with Random123 (Salmon et al.,
// SC'11, file kat_vectors), and the integer-only uniform and dropout conventions built on it.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "myelin/philox.hpp"
#include "myelin/random.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

struct KnownAnswer {
  PhiloxWords counter;
  std::uint32_t key0, key1;
  PhiloxWords expected;
};

TEST(Philox, KnownAnswerVectors) {
  const KnownAnswer cases[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const KnownAnswer& c : cases) {
    const PhiloxWords got = philox4x32_10(c.counter, c.key0, c.key1);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(got.w[k], c.expected.w[k]) << "word " << k;
  }
}

TEST(Philox, BlockLayoutPlacesStreamAndStepInTheCounter) {
  const std::uint64_t seed = 0x0123456789abcdefull;
  const PhiloxWords direct = philox4x32_10({{5, 0, 42, 9}}, 0x89abcdefu, 0x01234567u);
  const PhiloxWords via = philox_block(seed, 42, 9, 5);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(direct.w[k], via.w[k]);
  // The high word of the step goes into the key: steps 2^32 apart differ.
  const PhiloxWords later = philox_block(seed, 42, 9 + (std::uint64_t{1} << 32), 5);
  EXPECT_NE(later.w[0], via.w[0]);
}

TEST(Philox, UniformFloatIsExactAndInRange) {
  EXPECT_EQ(uniform_float(0u), 0.0f);
  EXPECT_EQ(uniform_float(0xffffffffu), 16777215.0f / 16777216.0f);
  EXPECT_EQ(uniform_float(0x80000000u), 0.5f);
  EXPECT_EQ(uniform_double(0u, 0u), 0.0);
  EXPECT_LT(uniform_double(0xffffffffu, 0xffffffffu), 1.0);
}

TEST(Philox, RngReadsBlocksInOrder) {
  Rng rng(7, 3, 2);
  for (std::uint64_t block = 0; block < 3; ++block) {
    const PhiloxWords w = philox_block(7, 3, 2, block);
    for (int k = 0; k < 4; ++k) EXPECT_EQ(rng.next_u32(), w.w[k]);
  }
}

TEST(Philox, RngMomentsAreThoseOfTheDistributions) {
  Rng rng(11);
  const int n = 200000;
  double sum = 0.0, sum_sq = 0.0, normal_sum = 0.0, normal_sq = 0.0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    sum += u;
    sum_sq += u * u;
    const double z = rng.normal();
    normal_sum += z;
    normal_sq += z * z;
  }
  // Standard errors: uniform mean 0.29/sqrt(n) = 6.5e-4, normal mean 1/sqrt(n) = 2.2e-3;
  // bounds at about 5 standard errors.
  EXPECT_NEAR(sum / n, 0.5, 3.5e-3);
  EXPECT_NEAR(sum_sq / n - (sum / n) * (sum / n), 1.0 / 12.0, 2e-3);
  EXPECT_NEAR(normal_sum / n, 0.0, 1.2e-2);
  EXPECT_NEAR(normal_sq / n, 1.0, 1.6e-2);
}

TEST(Philox, BelowIsUniformOverSmallRanges) {
  Rng rng(5);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 30000; ++i) ++counts[rng.below(3)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);  // ~6 standard deviations (82)
}

TEST(Philox, DropoutThreshold) {
  EXPECT_EQ(dropout_threshold(0.0), 0u);
  EXPECT_EQ(dropout_threshold(0.5), 0x80000000u);
  EXPECT_EQ(dropout_threshold(0.25), 0x40000000u);
  EXPECT_EQ(dropout_threshold(1.0), 0xffffffffu);
}

TEST(Philox, StableIdIsFnv1a) {
  EXPECT_EQ(stable_id(""), 2166136261u);
  EXPECT_EQ(stable_id("a"), 0xe40c292cu);
  EXPECT_EQ(stable_id("foobar"), 0xbf9cf968u);
}

}  // namespace
}  // namespace myelin
