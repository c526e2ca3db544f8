#include "ops/activation.hpp"

#include <cmath>

#include "backends/cpu/cpu_ops.hpp"
#include "ops/ops.hpp"

namespace myelin {

ActivationParams activation_params(Activation kind, const Attrs& attrs) {
  ActivationParams p;
  switch (kind) {
    case Activation::kLeakyRelu:
      p.a = attrs.get_float("negative_slope");
      break;
    case Activation::kElu:
      p.a = attrs.get_float("alpha");
      break;
    case Activation::kSoftplus:
      p.a = attrs.get_float("beta");
      p.b = attrs.get_float("threshold");
      break;
    case Activation::kGelu:
      p.approximate = attrs.get_string("approximate") == "tanh";
      break;
    default:
      break;
  }
  return p;
}

namespace ops {

void infer_same_as_input(InferCtx& ctx) {
  ctx.expect_floating(0);
  ctx.set_output(0, ctx.shape(0), ctx.input(0).dtype);
}

namespace {

void infer_activation(InferCtx& ctx) {
  infer_same_as_input(ctx);
  const Attrs& a = *ctx.attrs;
  if (ctx.op_name == "gelu") {
    const std::string& approx = a.get_string("approximate");
    if (approx != "none" && approx != "tanh") {
      ctx.fail("attribute 'approximate' must be \"none\" or \"tanh\", got \"", approx, "\"");
    }
  }
  if (ctx.op_name == "softplus" && !(a.get_float("beta") > 0.0)) {
    ctx.fail("attribute 'beta' must be positive, got ", a.get_float("beta"));
  }
}

std::vector<double> kink_at_zero(const Attrs&) {
  return {0.0};
}

OpDef make(const char* name, const char* summary, Activation kind, std::vector<AttrSpec> attrs,
           bool kink_at_0) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.inputs = {{"x"}};
  d.attrs = std::move(attrs);
  d.infer = infer_activation;
  d.impls[static_cast<int>(Backend::kCpu)] = {cpu::activation_forward(kind),
                                              cpu::activation_backward(kind)};
  MYELIN_CUDA_IMPL(d, cuda::activation_forward(kind), cuda::activation_backward(kind),
                   "activation_forward_kernel", "activation_backward_kernel");
  if (kink_at_0) d.kink = {0, kink_at_zero};
  return d;
}

OpDef make_activation(Activation kind) {
  switch (kind) {
    case Activation::kIdentity:
      return make("identity", "y = x", kind, {}, false);
    case Activation::kRelu:
      return make("relu", "y = max(x, 0); gradient 0 at 0", kind, {}, true);
    case Activation::kLeakyRelu:
      return make("leaky_relu", "y = x if x > 0 else negative_slope * x (default 0.01)", kind,
                  {{"negative_slope", 0.01}}, true);
    case Activation::kSigmoid:
      return make("sigmoid", "y = 1 / (1 + exp(-x)), evaluated without overflow", kind, {}, false);
    case Activation::kTanh:
      return make("tanh", "y = tanh(x)", kind, {}, false);
    case Activation::kElu:
      // The derivative jumps from alpha to 1 at 0 (and the curvature for alpha = 1).
      return make("elu", "y = x if x > 0 else alpha * (exp(x) - 1) (alpha default 1)", kind,
                  {{"alpha", 1.0}}, true);
    case Activation::kAbs:
      return make("abs", "y = |x|; subgradient 0 at 0", kind, {}, true);
    case Activation::kGelu:
      return make("gelu", "y = x * Phi(x) (exact, erf); approximate=\"tanh\" for the tanh form",
                  kind, {{"approximate", std::string("none")}}, false);
    case Activation::kSilu:
      return make("silu", "y = x * sigmoid(x)", kind, {}, false);
    case Activation::kSoftplus: {
      OpDef d = make("softplus",
                     "y = log(1 + exp(beta x)) / beta, y = x where beta x > threshold (1, 20)",
                     kind, {{"beta", 1.0}, {"threshold", 20.0}}, false);
      // Switching to y = x above the threshold leaves a step of about exp(-threshold).
      d.kink = {0, [](const Attrs& a) {
                  return std::vector<double>{a.get_float("threshold") / a.get_float("beta")};
                }};
      return d;
    }
  }
  return make("identity", "y = x", Activation::kIdentity, {}, false);
}

}  // namespace

const OpDef& activation(Activation kind) {
  static const std::vector<OpDef> defs = [] {
    std::vector<OpDef> all;
    for (int k = 0; k <= static_cast<int>(Activation::kSoftplus); ++k) {
      all.push_back(make_activation(static_cast<Activation>(k)));
    }
    return all;
  }();
  return defs[static_cast<std::size_t>(kind)];
}

}  // namespace ops
}  // namespace myelin
