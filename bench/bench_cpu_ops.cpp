// Throughput of the CPU reference path: one op forward + backward per iteration, a whole MLP
// training step, and the optimizer update. Items processed are elements (ops, updates) or
// samples (training step).
#include <benchmark/benchmark.h>

#include <cblas.h>

#include <myelin/myelin.hpp>
#include <vector>

#include "update_rules.hpp"  // the per-element rules, for the unfused baseline

namespace {

using namespace myelin;

Tensor filled(const Shape& shape, std::uint64_t seed) {
  Tensor t = Tensor::empty(shape, DType::kFloat32);
  Rng rng(seed);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
  return t;
}

// Forward and backward of `op` on a [rows, cols] input, through a sum-like MSE loss.
void op_step(benchmark::State& state, const std::string& op) {
  const std::int64_t rows = state.range(0), cols = state.range(1);
  Graph g;
  const Value x = g.input("x", Shape{rows, cols});
  const Value y = g.op(op, {x});
  const Value t = g.input("t", Shape{rows, cols});
  const Value loss = g.mse_loss(y, t);
  ExecutorOptions options;
  options.input_grads = {x};
  Executor e(g, options);
  e.set_input(x, filled(Shape{rows, cols}, 1));
  e.set_input(t, filled(Shape{rows, cols}, 2));
  for (auto _ : state) {
    e.forward();
    e.backward(loss);
  }
  state.SetItemsProcessed(state.iterations() * rows * cols);
}

// One training step of the plain Fashion-MNIST MLP 784-512-256-10 with Adam at batch B (forward,
// backward, gradient norm, update), on a fixed batch: sgemm_mlp_step at the same batch is its
// matrix products alone, so the ratio of the two is the share of a step spent in them.
void mlp_training_step(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  Graph g;
  const Value x = g.input("x", Shape{batch, 784});
  const Value labels = g.input("y", Shape{batch}, DType::kInt64);
  Value h = g.relu(g.linear_layer(x, 512, {}, "fc1"));
  h = g.relu(g.linear_layer(h, 256, {}, "fc2"));
  const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 10, {}, "fc3"), labels);
  Executor e(g);
  e.set_input(x, filled(Shape{batch, 784}, 3));
  Tensor y = Tensor::empty(Shape{batch}, DType::kInt64);
  for (std::int64_t i = 0; i < batch; ++i) y.data<std::int64_t>()[i] = i % 10;
  e.set_input(labels, y);
  Optimizer adam(OptimizerOptions::adam(0.001));
  for (auto _ : state) {
    e.forward();
    e.backward(loss);
    adam.step(e);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

// The parameters of the Fashion-MNIST MLP 784-512-256-10 (535,818 values) and their gradients.
struct MlpParameters {
  std::vector<Tensor> values, grads;
  MlpParameters() {
    const std::vector<Shape> shapes = {Shape{512, 784}, Shape{512},     Shape{256, 512},
                                       Shape{256},      Shape{10, 256}, Shape{10}};
    std::uint64_t seed = 10;
    for (const Shape& s : shapes) {
      values.push_back(filled(s, seed++));
      grads.push_back(filled(s, seed++));
    }
  }
  std::int64_t count() const {
    std::int64_t n = 0;
    for (const Tensor& t : values) n += t.numel();
    return n;
  }
};

OptimizerOptions rule_options(int rule) {
  switch (rule) {
    case 0:
      return OptimizerOptions::sgd(0.01);
    case 1:
      return OptimizerOptions::momentum_sgd(0.01, 0.9);
    case 2:
      return OptimizerOptions::rmsprop(0.001);
    default:
      return OptimizerOptions::adam(0.001);
  }
}

// Optimizer::step over the MLP's parameters: the fused update, in float.
void optimizer_step(benchmark::State& state) {
  MlpParameters p;
  Optimizer optimizer(rule_options(static_cast<int>(state.range(0))));
  std::vector<ParamRef> refs;
  for (std::size_t i = 0; i < p.values.size(); ++i) {
    refs.push_back({"p" + std::to_string(i), "weights", &p.values[i], &p.grads[i]});
  }
  for (auto _ : state) optimizer.step(refs);
  state.SetItemsProcessed(state.iterations() * p.count());
  state.SetLabel(optimizer_kind_name(rule_options(static_cast<int>(state.range(0))).kind));
}

// The baseline the fused update replaced: every element through the rule chosen at run time, in
// double, one parallel loop per parameter.
void optimizer_step_unfused_double(benchmark::State& state) {
  MlpParameters p;
  const OptimizerOptions o = rule_options(static_cast<int>(state.range(0)));
  UpdateConstants<double> k;
  k.rule = o.kind == OptimizerKind::kSgd        ? UpdateRule::kSgd
           : o.kind == OptimizerKind::kMomentum ? UpdateRule::kMomentum
           : o.kind == OptimizerKind::kRmsprop  ? UpdateRule::kRmsprop
                                                : UpdateRule::kAdam;
  k.lr = o.lr;
  k.momentum = o.momentum;
  k.alpha = o.alpha;
  k.beta1 = o.beta1;
  k.beta2 = o.beta2;
  k.eps = o.eps;
  k.step_size = o.lr;
  std::vector<std::vector<Tensor>> slots(p.values.size());
  for (std::size_t i = 0; i < p.values.size(); ++i) {
    for (int s = 0; s < 3; ++s) slots[i].push_back(Tensor::zeros(p.values[i].shape()));
  }
  for (auto _ : state) {
    for (std::size_t t = 0; t < p.values.size(); ++t) {
      float* w = p.values[t].data<float>();
      const float* g = p.grads[t].data<float>();
      float* s0 = slots[t][0].data<float>();
      float* s1 = slots[t][1].data<float>();
      float* s2 = slots[t][2].data<float>();
      const std::int64_t n = p.values[t].numel();
#pragma omp parallel for schedule(static) if (n > 16384)
      for (std::int64_t i = 0; i < n; ++i) {
        double wi = w[i], a = s0[i], b = s1[i], c = s2[i];
        update_element(k, wi, static_cast<double>(g[i]), a, b, c);
        w[i] = static_cast<float>(wi);
        s0[i] = static_cast<float>(a);
        s1[i] = static_cast<float>(b);
        s2[i] = static_cast<float>(c);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * p.count());
  state.SetLabel(optimizer_kind_name(o.kind));
}

// The SGEMM-bound limit of a training step of the plain MLP 784-512-256-10 at batch B: only its
// matrix products, in OpenBLAS at its best (one call each, all threads, no other work): the
// forward products, the three weight gradients and the input gradients of layers 2 and 3.
// Items are samples, so items/s is the most samples/s any implementation on top of this SGEMM
// can reach. tools/bench-pytorch runs it beside each epoch.
void sgemm_mlp_step(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const int widths[4] = {784, 512, 256, 10};
  std::vector<Tensor> acts, weights, grads, dacts;
  for (int l = 0; l < 4; ++l) acts.push_back(filled(Shape{batch, widths[l]}, 10 + l));
  for (int l = 0; l < 3; ++l) {
    weights.push_back(filled(Shape{widths[l + 1], widths[l]}, 20 + l));
    grads.push_back(Tensor::zeros(Shape{widths[l + 1], widths[l]}));
    dacts.push_back(filled(Shape{batch, widths[l + 1]}, 30 + l));
  }
  std::vector<Tensor> dinputs;
  for (int l = 0; l < 3; ++l) dinputs.push_back(Tensor::zeros(Shape{batch, widths[l]}));
  for (auto _ : state) {
    for (int l = 0; l < 3; ++l) {  // Y = X W^T
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, widths[l + 1], widths[l], 1.0f,
                  acts[l].data<float>(), widths[l], weights[l].data<float>(), widths[l], 0.0f,
                  acts[l + 1].data<float>(), widths[l + 1]);
    }
    for (int l = 2; l >= 0; --l) {
      // dW = dY^T X
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, widths[l + 1], widths[l], batch, 1.0f,
                  dacts[l].data<float>(), widths[l + 1], acts[l].data<float>(), widths[l], 0.0f,
                  grads[l].data<float>(), widths[l]);
      if (l > 0) {  // dX = dY W
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, widths[l], widths[l + 1],
                    1.0f, dacts[l].data<float>(), widths[l + 1], weights[l].data<float>(),
                    widths[l], 0.0f, dinputs[l].data<float>(), widths[l]);
      }
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

BENCHMARK(sgemm_mlp_step)->Arg(32)->Arg(128)->Arg(1024)->UseRealTime();
BENCHMARK_CAPTURE(op_step, relu, std::string("relu"))->Args({1024, 1024})->UseRealTime();
BENCHMARK_CAPTURE(op_step, gelu, std::string("gelu"))->Args({1024, 1024})->UseRealTime();
BENCHMARK_CAPTURE(op_step, softmax, std::string("softmax"))->Args({1024, 1024})->UseRealTime();
BENCHMARK(mlp_training_step)->Arg(32)->Arg(128)->Arg(1024)->UseRealTime();
// 0: SGD, 1: momentum, 2: RMSprop, 3: Adam.
BENCHMARK(optimizer_step)->DenseRange(0, 3)->UseRealTime();
BENCHMARK(optimizer_step_unfused_double)->DenseRange(0, 3)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
