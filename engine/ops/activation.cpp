// The registration of every activation (kernels/activation_math.hpp lists them and holds their
// math): name, summary, attributes with their defaults and ranges (in the order the math reads
// them), and the points where the activation is not differentiable. Everything else (the op
// table, both backends, specs, `myelin info`, the tests) is derived from this and the math.
#include "ops/activation.hpp"

#include <cmath>

#include "ops/ops.hpp"

namespace myelin {

namespace {

using Kink = std::function<std::vector<double>(const Attrs&)>;

struct Registration {
  Activation kind;
  const char* name;
  const char* summary;
  std::vector<AttrSpec> attrs;
  Kink kink;  // null: smooth
};

std::vector<double> at_zero(const Attrs&) {
  return {0.0};
}

const std::vector<Registration>& registrations() {
  static const std::vector<Registration> all = {
      {Activation::kIdentity, "identity", "y = x", {}, nullptr},
      {Activation::kRelu, "relu", "y = max(x, 0); gradient 0 at 0", {}, at_zero},
      {Activation::kLeakyRelu,
       "leaky_relu",
       "y = x if x > 0 else negative_slope * x",
       {{"negative_slope", 0.01, "slope for x <= 0"}},
       at_zero},
      {Activation::kSigmoid,
       "sigmoid",
       "y = 1 / (1 + exp(-x)), evaluated without overflow",
       {},
       nullptr},
      {Activation::kTanh, "tanh", "y = tanh(x)", {}, nullptr},
      // The derivative jumps from alpha to 1 at 0 (and the curvature for alpha = 1).
      {Activation::kElu,
       "elu",
       "y = x if x > 0 else alpha * (exp(x) - 1)",
       {{"alpha", 1.0, "scale of the negative part"}},
       at_zero},
      {Activation::kAbs, "abs", "y = |x|; subgradient 0 at 0", {}, at_zero},
      {Activation::kGelu,
       "gelu",
       "y = x * Phi(x) (exact, with erf), or its tanh approximation",
       {AttrSpec{"approximate", std::string("none"), "the exact form or the tanh approximation"}
            .one_of({"none", "tanh"})},
       nullptr},
      {Activation::kSilu, "silu", "y = x * sigmoid(x)", {}, nullptr},
      // Switching to y = x above the threshold leaves a step of about exp(-threshold).
      {Activation::kSoftplus,
       "softplus",
       "y = log(1 + exp(beta x)) / beta, and y = x where beta x > threshold",
       {AttrSpec{"beta", 1.0, "sharpness"}.above(0.0),
        {"threshold", 20.0, "beta x above which y = x"}},
       [](const Attrs& a) {
         return std::vector<double>{a.get_float("threshold") / a.get_float("beta")};
       }},
  };
  return all;
}

// The registration of a kind; checks once that every kind has exactly one, in list order.
const Registration& registration(Activation kind) {
  static const bool complete = [] {
    const auto& all = registrations();
    if (all.size() != static_cast<std::size_t>(kNumActivations)) {
      fail("activation registry: ", all.size(), " registrations for ", kNumActivations,
           " activations in MYELIN_ACTIVATIONS");
    }
    for (std::size_t k = 0; k < all.size(); ++k) {
      if (static_cast<std::size_t>(all[k].kind) != k) {
        fail("activation registry: '", all[k].name, "' is registered out of list order");
      }
      if (all[k].attrs.size() > static_cast<std::size_t>(kMaxActivationAttrs)) {
        fail("activation registry: '", all[k].name, "' has more than ", kMaxActivationAttrs,
             " attributes");
      }
    }
    return true;
  }();
  (void)complete;
  return registrations()[static_cast<std::size_t>(kind)];
}

double as_number(const AttrSpec& spec, const AttrValue& value) {
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&value)) return static_cast<double>(*i);
  if (const auto* b = std::get_if<bool>(&value)) return *b ? 1.0 : 0.0;
  if (const auto* s = std::get_if<std::string>(&value)) {
    for (std::size_t c = 0; c < spec.choices.size(); ++c) {
      if (spec.choices[c] == *s) return static_cast<double>(c);
    }
  }
  fail("activation attribute '", spec.name, "' (", attr_to_string(value), ") has no numeric form");
}

}  // namespace

ActivationParams activation_params(Activation kind, const Attrs& attrs) {
  ActivationParams p;
  const std::vector<AttrSpec>& specs = registration(kind).attrs;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    p.attr[i] = as_number(specs[i], attrs.get(specs[i].name));
  }
  return p;
}

namespace ops {

void infer_same_as_input(InferCtx& ctx) {
  ctx.expect_floating(0);
  ctx.set_output(0, ctx.shape(0), ctx.input(0).dtype);
}

namespace {

OpDef make_activation(Activation kind) {
  const Registration& r = registration(kind);
  OpDef d;
  d.name = r.name;
  d.summary = r.summary;
  d.inputs = {{"x"}};
  d.attrs = r.attrs;
  d.infer = infer_same_as_input;
  d.impls[static_cast<int>(Backend::kCpu)] = {cpu::activation_forward(kind),
                                              cpu::activation_backward(kind)};
  MYELIN_CUDA_IMPL(d, cuda::activation_forward(kind), cuda::activation_backward(kind),
                   "activation_forward_kernel", "activation_backward_kernel");
  if (r.kink) d.kink = {0, r.kink};
  d.backward_in_place = true;  // dx[i] depends on dy[i], x[i] and y[i] only
  return d;
}

}  // namespace

const OpDef& activation(Activation kind) {
  static const std::vector<OpDef> defs = [] {
    std::vector<OpDef> all;
    for (int k = 0; k < kNumActivations; ++k) {
      all.push_back(make_activation(static_cast<Activation>(k)));
    }
    return all;
  }();
  return defs[static_cast<std::size_t>(kind)];
}

}  // namespace ops
}  // namespace myelin
