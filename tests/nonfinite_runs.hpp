#pragma once

// Training runs that meet non-finite values, shared by the CPU and GPU tests: a ReLU network
// with batch norm on spirals, trained in order (no shuffling, no dropout) so that a run on the
// first rows is a prefix of a run on all of them.

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "myelin/app.hpp"

namespace myelin::test {

struct NonFiniteRun {
  std::vector<StepInfo> steps;  // as on_step saw them
  std::vector<EpochInfo> epochs;
  std::vector<std::pair<std::string, Tensor>> state;  // parameters and buffers after fit
  std::string error;                                  // NonFiniteError's message, if thrown
  StepInfo failed;                                    // and its step
  TrainPosition position;
  std::int64_t optimizer_steps = 0;
};

struct NonFiniteSetup {
  Device device = Device::cpu();
  OptimizerOptions rule = OptimizerOptions::adam(0.01);
  NonFinitePolicy policy = NonFinitePolicy::kStop;
  std::int64_t max_skipped = 10;
  std::int64_t rows = 256;           // of spirals' 256, in batches of 32
  std::int64_t poisoned_batch = -1;  // this batch's first row gets a NaN feature
  std::int64_t epochs = 1;
};

inline NonFiniteRun nonfinite_run(const NonFiniteSetup& s) {
  const Dataset spirals = make_spirals(128, 2, 1.0, 0.05, 6);
  std::vector<float> xs = spirals.x.to_vector<float>();
  std::vector<std::int64_t> ys = spirals.y.to_vector<std::int64_t>();
  xs.resize(static_cast<std::size_t>(s.rows * 2));
  ys.resize(static_cast<std::size_t>(s.rows));
  if (s.poisoned_batch >= 0) xs[static_cast<std::size_t>(s.poisoned_batch * 32 * 2)] = NAN;
  Graph g(7);
  const Value x = g.input("x", Shape{32, 2});
  const Value y = g.input("y", Shape{32}, DType::kInt64);
  const Value h = g.relu(g.batch_norm_layer(g.linear_layer(x, 16, {}, "fc1"), {}, "bn"));
  const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 2, {}, "fc2"), y);
  Optimizer optimizer(s.rule);
  TrainOptions options;
  options.batch_size = 32;
  options.epochs = s.epochs;
  options.shuffle = false;
  options.on_nonfinite = s.policy;
  options.max_skipped = s.max_skipped;
  options.executor.device = s.device;
  Trainer trainer(g, loss, optimizer, options);
  NonFiniteRun run;
  trainer.on_step = [&](const StepInfo& info) { run.steps.push_back(info); };
  trainer.on_epoch = [&](const EpochInfo& info) { run.epochs.push_back(info); };
  try {
    trainer.fit({{x, Tensor::from_vector(Shape{s.rows, 2}, xs)},
                 {y, Tensor::from_vector(Shape{s.rows}, ys)}});
  } catch (const NonFiniteError& e) {
    run.error = e.what();
    run.failed = e.step();
  }
  run.position = trainer.position();
  run.optimizer_steps = optimizer.steps();
  for (Value p : g.parameters()) run.state.emplace_back(g.name(p), g.tensor(p).clone());
  for (Value b : g.buffers()) run.state.emplace_back(g.name(b), g.tensor(b).clone());
  return run;
}

// The names of the state tensors holding a value that is not finite.
inline std::vector<std::string> nonfinite_tensors(const NonFiniteRun& run) {
  std::vector<std::string> out;
  for (const auto& [name, t] : run.state) {
    for (double v : t.to_vector<double>()) {
      if (!std::isfinite(v)) {
        out.push_back(name);
        break;
      }
    }
  }
  return out;
}

}  // namespace myelin::test
