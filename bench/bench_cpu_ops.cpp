// Throughput of the CPU reference path: one op forward + backward per iteration, and a whole
// MLP training step. Items processed are elements (ops) or samples (training step).
#include <benchmark/benchmark.h>

#include <myelin/myelin.hpp>

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

void mlp_training_step(benchmark::State& state) {
  const std::int64_t batch = state.range(0), width = state.range(1);
  Graph g;
  const Value x = g.input("x", Shape{batch, 784});
  const Value labels = g.input("y", Shape{batch}, DType::kInt64);
  Value h = g.relu(g.linear_layer(x, width, {}, "fc1"));
  h = g.relu(g.linear_layer(h, width, {}, "fc2"));
  const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 10, {}, "fc3"), labels);
  Executor e(g);
  e.set_input(x, filled(Shape{batch, 784}, 3));
  Tensor y = Tensor::empty(Shape{batch}, DType::kInt64);
  for (std::int64_t i = 0; i < batch; ++i) y.data<std::int64_t>()[i] = i % 10;
  e.set_input(labels, y);
  Optimizer sgd(OptimizerOptions::sgd(0.01));
  for (auto _ : state) {
    e.forward();
    e.backward(loss);
    sgd.step(e);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

BENCHMARK_CAPTURE(op_step, relu, std::string("relu"))->Args({1024, 1024})->UseRealTime();
BENCHMARK_CAPTURE(op_step, gelu, std::string("gelu"))->Args({1024, 1024})->UseRealTime();
BENCHMARK_CAPTURE(op_step, softmax, std::string("softmax"))->Args({1024, 1024})->UseRealTime();
BENCHMARK(mlp_training_step)->Args({128, 256})->Args({512, 256})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
