#pragma once

#include <cstdint>
#include <string>

#include "myelin/export.hpp"
#include "myelin/shape.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// Initialisation of parameters, following torch.nn.init. Values are drawn on the host from the
// Philox stream named after the parameter (stable_id(name)) under a seed, so the same seed gives
// the same weights on every machine, whichever device trains them afterwards.

enum class Nonlinearity { kLinear, kSigmoid, kTanh, kRelu, kLeakyRelu };

// torch.nn.init.calculate_gain: linear and sigmoid 1, tanh 5/3, relu sqrt(2),
// leaky_relu sqrt(2 / (1 + negative_slope^2)).
MYELIN_API double calculate_gain(Nonlinearity nonlinearity, double negative_slope = 0.01);

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (rank >= 2), as
// PyTorch computes them for a weight stored [out, in, ...].
struct Fans {
  std::int64_t fan_in = 0;
  std::int64_t fan_out = 0;
};
MYELIN_API Fans compute_fans(const Shape& shape);

enum class FanMode { kFanIn, kFanOut };

struct MYELIN_API Init {
  enum class Kind {
    kZeros,
    kConstant,        // value a
    kUniform,         // U(a, b)
    kNormal,          // N(mean a, std b)
    kXavierUniform,   // U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out))
    kXavierNormal,    // N(0, gain * sqrt(2 / (fan_in + fan_out)))
    kKaimingUniform,  // U(-bound, bound), bound = sqrt(3) * gain / sqrt(fan)
    kKaimingNormal,   // N(0, gain / sqrt(fan))
  };
  Kind kind = Kind::kZeros;
  double a = 0.0;
  double b = 0.0;
  double gain = 1.0;                                     // Xavier
  Nonlinearity nonlinearity = Nonlinearity::kLeakyRelu;  // Kaiming
  double negative_slope = 0.0;                           // Kaiming with leaky_relu
  FanMode mode = FanMode::kFanIn;                        // Kaiming

  static Init zeros();
  static Init constant(double value);
  static Init uniform(double low = 0.0, double high = 1.0);
  static Init normal(double mean = 0.0, double stddev = 1.0);
  static Init xavier_uniform(double gain = 1.0);
  static Init xavier_normal(double gain = 1.0);
  // PyTorch's defaults: leaky_relu with slope 0 (gain sqrt(2), the "He" initialisation), fan_in.
  static Init kaiming_uniform(Nonlinearity nonlinearity = Nonlinearity::kLeakyRelu,
                              double negative_slope = 0.0, FanMode mode = FanMode::kFanIn);
  static Init kaiming_normal(Nonlinearity nonlinearity = Nonlinearity::kLeakyRelu,
                             double negative_slope = 0.0, FanMode mode = FanMode::kFanIn);
  // nn.Linear's default weight: Kaiming uniform with a = sqrt(5), i.e. U(+-1/sqrt(fan_in)).
  static Init linear_default();

  // "xavier_uniform(gain=1)" and the like.
  std::string str() const;
};

// Fills `tensor` (host, floating) per `init`, drawing from Philox stream `stream` under `seed`.
MYELIN_API void initialize(Tensor& tensor, const Init& init, std::uint64_t seed,
                           std::uint32_t stream);

}  // namespace myelin
