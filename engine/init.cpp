#include "myelin/init.hpp"

#include <cmath>
#include <sstream>

#include "myelin/error.hpp"
#include "myelin/random.hpp"

namespace myelin {

double calculate_gain(Nonlinearity nonlinearity, double negative_slope) {
  switch (nonlinearity) {
    case Nonlinearity::kLinear:
    case Nonlinearity::kSigmoid:
      return 1.0;
    case Nonlinearity::kTanh:
      return 5.0 / 3.0;
    case Nonlinearity::kRelu:
      return std::sqrt(2.0);
    case Nonlinearity::kLeakyRelu:
      return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope));
  }
  return 1.0;
}

Fans compute_fans(const Shape& shape) {
  if (shape.rank() < 2) {
    fail("fan in and fan out need a tensor of rank 2 or more, got shape ", shape.str());
  }
  std::int64_t receptive = 1;
  for (int a = 2; a < shape.rank(); ++a) receptive *= shape[a];
  return {shape[1] * receptive, shape[0] * receptive};
}

Init Init::zeros() {
  return Init{};
}

Init Init::constant(double value) {
  Init i;
  i.kind = Kind::kConstant;
  i.a = value;
  return i;
}

Init Init::uniform(double low, double high) {
  if (!(low <= high)) fail("uniform initialisation needs low <= high, got ", low, " and ", high);
  Init i;
  i.kind = Kind::kUniform;
  i.a = low;
  i.b = high;
  return i;
}

Init Init::normal(double mean, double stddev) {
  if (!(stddev >= 0.0)) fail("normal initialisation needs stddev >= 0, got ", stddev);
  Init i;
  i.kind = Kind::kNormal;
  i.a = mean;
  i.b = stddev;
  return i;
}

Init Init::xavier_uniform(double gain) {
  Init i;
  i.kind = Kind::kXavierUniform;
  i.gain = gain;
  return i;
}

Init Init::xavier_normal(double gain) {
  Init i;
  i.kind = Kind::kXavierNormal;
  i.gain = gain;
  return i;
}

Init Init::kaiming_uniform(Nonlinearity nonlinearity, double negative_slope, FanMode mode) {
  Init i;
  i.kind = Kind::kKaimingUniform;
  i.nonlinearity = nonlinearity;
  i.negative_slope = negative_slope;
  i.mode = mode;
  return i;
}

Init Init::kaiming_normal(Nonlinearity nonlinearity, double negative_slope, FanMode mode) {
  Init i = kaiming_uniform(nonlinearity, negative_slope, mode);
  i.kind = Kind::kKaimingNormal;
  return i;
}

Init Init::linear_default() {
  return kaiming_uniform(Nonlinearity::kLeakyRelu, std::sqrt(5.0));
}

std::string Init::str() const {
  static const char* const kNonlinearity[] = {"linear", "sigmoid", "tanh", "relu", "leaky_relu"};
  std::ostringstream out;
  switch (kind) {
    case Kind::kZeros:
      out << "zeros";
      break;
    case Kind::kConstant:
      out << "constant(" << a << ")";
      break;
    case Kind::kUniform:
      out << "uniform(" << a << ", " << b << ")";
      break;
    case Kind::kNormal:
      out << "normal(mean=" << a << ", std=" << b << ")";
      break;
    case Kind::kXavierUniform:
      out << "xavier_uniform(gain=" << gain << ")";
      break;
    case Kind::kXavierNormal:
      out << "xavier_normal(gain=" << gain << ")";
      break;
    case Kind::kKaimingUniform:
    case Kind::kKaimingNormal:
      out << (kind == Kind::kKaimingUniform ? "kaiming_uniform(" : "kaiming_normal(")
          << kNonlinearity[static_cast<int>(nonlinearity)];
      if (nonlinearity == Nonlinearity::kLeakyRelu) out << ", a=" << negative_slope;
      out << (mode == FanMode::kFanIn ? ", fan_in)" : ", fan_out)");
      break;
  }
  return out.str();
}

void initialize(Tensor& tensor, const Init& init, std::uint64_t seed, std::uint32_t stream) {
  if (!tensor.defined() || !is_floating(tensor.dtype())) {
    fail("initialize: needs a defined floating-point tensor, got ",
         tensor.defined() ? tensor.str() : std::string("an undefined one"));
  }
  using Kind = Init::Kind;
  double low = 0.0, high = 0.0, mean = 0.0, stddev = 0.0;
  bool normal = false;
  switch (init.kind) {
    case Kind::kZeros:
    case Kind::kConstant:
      tensor.fill(init.kind == Kind::kZeros ? 0.0 : init.a);
      return;
    case Kind::kUniform:
      low = init.a;
      high = init.b;
      break;
    case Kind::kNormal:
      normal = true;
      mean = init.a;
      stddev = init.b;
      break;
    case Kind::kXavierUniform:
    case Kind::kXavierNormal: {
      const Fans f = compute_fans(tensor.shape());
      const double sum = static_cast<double>(f.fan_in + f.fan_out);
      if (sum == 0) fail("xavier initialisation of an empty tensor ", tensor.shape().str());
      stddev = init.gain * std::sqrt(2.0 / sum);
      normal = init.kind == Kind::kXavierNormal;
      high = std::sqrt(3.0) * stddev;  // = gain * sqrt(6 / (fan_in + fan_out))
      low = -high;
      break;
    }
    case Kind::kKaimingUniform:
    case Kind::kKaimingNormal: {
      const Fans f = compute_fans(tensor.shape());
      const std::int64_t fan = init.mode == FanMode::kFanIn ? f.fan_in : f.fan_out;
      if (fan == 0) fail("kaiming initialisation of an empty tensor ", tensor.shape().str());
      stddev = calculate_gain(init.nonlinearity, init.negative_slope) /
               std::sqrt(static_cast<double>(fan));
      normal = init.kind == Kind::kKaimingNormal;
      high = std::sqrt(3.0) * stddev;
      low = -high;
      break;
    }
  }
  Tensor host = Tensor::empty(tensor.shape(), DType::kFloat64);
  double* p = host.data<double>();
  Rng rng(seed, stream);
  for (std::int64_t i = 0; i < host.numel(); ++i) {
    p[i] = normal ? mean + stddev * rng.normal() : rng.uniform(low, high);
  }
  tensor.copy_from(host);
}

}  // namespace myelin
