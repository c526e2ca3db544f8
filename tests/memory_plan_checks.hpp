#pragma once

// Checks of the executor's memory plan shared by the CPU tests and the device tests.

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "myelin/app.hpp"
#include "test_util.hpp"

namespace myelin::test {

// Every pair of buffers alive at a common step lies in disjoint memory, and every buffer in the
// arena. Returns the number of pairs that share memory (at steps apart).
inline int expect_no_live_overlap(const MemoryPlanInfo& plan) {
  EXPECT_TRUE(plan.planned);
  int sharing = 0;
  for (std::size_t a = 0; a < plan.buffers.size(); ++a) {
    const MemoryPlanBuffer& x = plan.buffers[a];
    EXPECT_LE(x.first, x.last) << x.name;
    EXPECT_LE(x.offset + x.bytes, plan.arena_bytes) << x.name;
    for (std::size_t b = a + 1; b < plan.buffers.size(); ++b) {
      const MemoryPlanBuffer& y = plan.buffers[b];
      const bool memory = x.bytes > 0 && y.bytes > 0 && x.offset < y.offset + y.bytes &&
                          y.offset < x.offset + x.bytes;
      const bool time = x.first <= y.last && y.first <= x.last;
      EXPECT_FALSE(memory && time)
          << x.name << " [" << x.first << ", " << x.last << "] at " << x.offset << " and " << y.name
          << " [" << y.first << ", " << y.last << "] at " << y.offset;
      sharing += memory ? 1 : 0;
    }
  }
  return sharing;
}

// The default model (784-512-256-10 with batch norm, ReLU and dropout) on `rows` random rows.
struct DefaultModelRun {
  std::vector<double> losses;
  std::vector<std::pair<std::string, Tensor>> weights;
};

inline DefaultModelRun train_default_model(Device device, bool plan_memory, std::int64_t batch,
                                           std::int64_t rows, bool cuda_graphs = true,
                                           std::int64_t epochs = 1) {
  ModelSpec spec = default_model_spec();
  spec.batch_size = batch;
  SequentialModel model = build_model(spec, 784, batch);
  TrainOptions options = train_options(spec, device);
  options.epochs = epochs;
  options.cuda_graphs = cuda_graphs;
  options.executor.plan_memory = plan_memory;
  Optimizer optimizer(spec.optimizer);
  Trainer trainer(model.graph, model.loss, optimizer, options);
  DefaultModelRun run;
  trainer.on_step = [&](const StepInfo& info) { run.losses.push_back(info.loss); };
  trainer.fit({{model.input, random_tensor(Shape{rows, 784}, 1, -1, 1, DType::kFloat32)},
               {model.labels, random_labels(rows, 10, 2)}});
  for (const auto& [name, v] : model.state) run.weights.emplace_back(name, model.graph.tensor(v));
  return run;
}

inline void expect_same_bits(const DefaultModelRun& a, const DefaultModelRun& b) {
  ASSERT_EQ(a.losses.size(), b.losses.size());
  for (std::size_t s = 0; s < a.losses.size(); ++s) {
    EXPECT_EQ(a.losses[s], b.losses[s]) << "step " << s;
  }
  ASSERT_EQ(a.weights.size(), b.weights.size());
  for (std::size_t w = 0; w < a.weights.size(); ++w) {
    EXPECT_TRUE(bitwise_equal(a.weights[w].second, b.weights[w].second)) << a.weights[w].first;
  }
}

// A value that fans out (h feeds fc2 and the residual add), so that its gradient is accumulated
// from two uses, and an activation chain whose gradients run in place.
struct FanOutModel {
  Graph graph{5};
  Value x, y, h, z, loss;
  FanOutModel() {
    x = graph.input("x", Shape{64, 16});
    y = graph.input("y", Shape{64}, DType::kInt64);
    h = graph.relu(graph.linear_layer(x, 32, {}, "fc1"), "h");
    const Value r = graph.add(graph.tanh(graph.linear_layer(h, 32, {}, "fc2")), h, "residual");
    z = graph.sigmoid(graph.relu(r, "r1"), "z");
    loss = graph.softmax_cross_entropy(graph.linear_layer(z, 4, {}, "fc3"), y);
  }
};

// Five SGD steps of the fan-out model; the losses and the weights after them.
inline DefaultModelRun train_fan_out(Device device, bool plan_memory) {
  FanOutModel m;
  ExecutorOptions options;
  options.device = device;
  options.outputs = {m.loss};
  options.plan_memory = plan_memory;
  Executor e(m.graph, options);
  e.set_input(m.x, random_tensor(Shape{64, 16}, 3, -1, 1, DType::kFloat32));
  e.set_input(m.y, random_labels(64, 4, 4));
  Optimizer optimizer(OptimizerOptions::momentum_sgd(0.1, 0.9));
  DefaultModelRun run;
  for (int step = 0; step < 5; ++step) {
    e.forward(Mode::kTrain, static_cast<std::uint64_t>(step));
    e.backward(m.loss);
    optimizer.step(e, GradientClipping{});
    run.losses.push_back(e.value(m.loss).item());
  }
  e.write_back();
  for (Value p : m.graph.parameters()) {
    run.weights.emplace_back(m.graph.name(p), m.graph.tensor(p).clone());
  }
  return run;
}

}  // namespace myelin::test
