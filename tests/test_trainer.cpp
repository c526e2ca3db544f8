// The mini-batch training loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "myelin/app.hpp"
#include "nonfinite_runs.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

// A small classifier on spirals with every stochastic part on: dropout, batch norm, shuffling.
struct Model {
  Graph g{5};
  Value x, y, loss;
  Dataset data = make_spirals(150, 2, 1.0, 0.05, 2);
  explicit Model(bool stochastic = true) {
    x = g.input("x", Shape{32, 2});
    y = g.input("y", Shape{32}, DType::kInt64);
    Value h = g.linear_layer(x, 16, {}, "fc1");
    if (stochastic) h = g.batch_norm_layer(h, {}, "bn");
    h = g.relu(h);
    if (stochastic) h = g.dropout(h, 0.2, "drop");
    loss = g.softmax_cross_entropy(g.linear_layer(h, 2, {}, "fc2"), y);
  }
  std::vector<std::pair<Value, Tensor>> feeds() const { return {{x, data.x}, {y, data.y}}; }
  std::vector<Tensor> weights() {
    std::vector<Tensor> out;
    for (Value p : g.parameters()) out.push_back(g.tensor(p).clone());
    for (Value b : g.buffers()) out.push_back(g.tensor(b).clone());
    return out;
  }
};

bool same_bits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!bitwise_equal(a[i], b[i])) return false;
  }
  return true;
}

TEST(Trainer, BatchesPartialBatchesAndCallbacks) {
  for (bool drop_last : {false, true}) {
    Model m;
    Optimizer opt(OptimizerOptions::adam(0.01));
    TrainOptions options;
    options.batch_size = 32;
    options.epochs = 2;
    options.drop_last = drop_last;
    Trainer t(m.g, m.loss, opt, options);
    std::vector<StepInfo> steps;
    std::vector<EpochInfo> epochs;
    t.on_step = [&](const StepInfo& s) { steps.push_back(s); };
    t.on_epoch = [&](const EpochInfo& e) { epochs.push_back(e); };
    t.fit(m.feeds());
    // 300 rows: 9 full batches of 32 and one of 12, or 9 when the last is dropped.
    const std::int64_t per_epoch = drop_last ? 9 : 10;
    ASSERT_EQ(static_cast<std::int64_t>(steps.size()), 2 * per_epoch);
    ASSERT_EQ(epochs.size(), 2u);
    EXPECT_EQ(steps.back().samples, drop_last ? 32 : 12);
    EXPECT_EQ(steps.back().step, 2 * per_epoch);
    EXPECT_EQ(steps.back().batches_per_epoch, per_epoch);
    EXPECT_EQ(epochs[1].steps, per_epoch);
    for (const StepInfo& s : steps) {
      EXPECT_GT(s.grad_norm, 0.0);
      EXPECT_DOUBLE_EQ(s.lr, 0.01);
      EXPECT_GT(s.samples_per_second, 0.0);
      EXPECT_TRUE(std::isfinite(s.loss));
    }
    EXPECT_LT(epochs[1].loss, steps.front().loss);
  }
}

// Transfer learning's frozen body: a frozen batch norm in eval mode uses and keeps its running
// statistics (num_batches_tracked too), and its eval-mode backward is the true gradient.
TEST(Trainer, AFrozenBatchNormInEvalModeKeepsItsStatisticsBitForBit) {
  Model m;
  m.g.tensor(m.g.find("bn.running_mean")).fill(0.5);
  m.g.tensor(m.g.find("bn.running_var")).fill(3.0);
  m.g.freeze_prefix("fc1.");
  m.g.freeze_prefix("bn.");
  m.g.set_eval_mode("bn", true);
  EXPECT_NE(m.g.str().find("(eval mode)"), std::string::npos);
  std::vector<std::pair<std::string, Tensor>> before;
  for (Value v : m.g.parameters()) before.emplace_back(m.g.name(v), m.g.tensor(v).clone());
  for (Value v : m.g.buffers()) before.emplace_back(m.g.name(v), m.g.tensor(v).clone());
  Optimizer opt(OptimizerOptions::adam(0.01));
  TrainOptions options;
  options.batch_size = 32;
  options.epochs = 2;
  Trainer t(m.g, m.loss, opt, options);
  t.fit(m.feeds());
  for (const auto& [name, tensor] : before) {
    const bool body = name.rfind("fc1.", 0) == 0 || name.rfind("bn.", 0) == 0;
    EXPECT_EQ(bitwise_equal(m.g.tensor(m.g.find(name)), tensor), body) << name;
  }
  EXPECT_THROW(m.g.set_eval_mode("nb", true), Error);

  // The eval-mode backward against central differences, with the body trainable.
  Graph g(3);
  const Value x = g.input("x", Shape{6, 3});
  const Value y = g.input("y", Shape{6}, DType::kInt64);
  const Value h = g.tanh(g.batch_norm_layer(g.linear_layer(x, 4, {}, "fc1"), {}, "bn"));
  const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 2, {}, "fc2"), y);
  g.tensor(g.find("bn.running_mean")).fill(0.1);
  g.tensor(g.find("bn.running_var")).fill(0.7);
  g.set_eval_mode("bn", true);
  const Tensor xs = Tensor::from_vector<float>(
      Shape{6, 3}, {0.1f, -0.4f, 0.9f, 1.2f, 0.3f, -0.8f, -0.5f, 0.7f, 0.2f, 0.6f, -1.1f, 0.4f,
                    -0.2f, 0.8f, -0.6f, 1.0f, 0.05f, -0.3f});
  const Tensor ys = Tensor::from_vector<std::int64_t>(Shape{6}, {0, 1, 1, 0, 1, 0});
  const GradcheckReport report = gradcheck(g, loss, {{x, xs}, {y, ys}});
  EXPECT_LT(report.worst_error(), 1e-6) << report.str();
}

TEST(Trainer, ShufflingIsAPureFunctionOfSeedAndEpoch) {
  Model m;
  Optimizer opt(OptimizerOptions::sgd());
  TrainOptions options;
  options.seed = 11;
  Trainer t(m.g, m.loss, opt, options);
  const std::vector<std::int64_t> a = t.epoch_order(3, 100);
  EXPECT_EQ(a, t.epoch_order(3, 100));
  EXPECT_NE(a, t.epoch_order(4, 100));
  std::vector<std::int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[static_cast<std::size_t>(i)], i);
}

TEST(Trainer, ScheduleDrivesTheLearningRate) {
  Model m(false);
  Optimizer opt(OptimizerOptions::sgd(0.1));
  TrainOptions options;
  options.batch_size = 100;  // 3 updates per epoch
  options.epochs = 3;
  options.schedule = LrSchedule::step(1, 0.5);
  Trainer t(m.g, m.loss, opt, options);
  std::vector<double> lrs;
  t.on_step = [&](const StepInfo& s) { lrs.push_back(s.lr); };
  t.fit(m.feeds());
  EXPECT_EQ(lrs, (std::vector<double>{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025}));
}

TEST(Trainer, AccumulatingTwoHalfBatchesMatchesOneFullBatch) {
  // Without batch norm and dropout, the mean gradient of two halves is the gradient of the whole.
  Model a(false), b(false);
  Optimizer opt_a(OptimizerOptions::sgd(0.5)), opt_b(OptimizerOptions::sgd(0.5));
  TrainOptions full;
  full.batch_size = 100;
  full.shuffle = false;
  TrainOptions halves = full;
  halves.batch_size = 50;
  halves.accumulation_steps = 2;
  Trainer ta(a.g, a.loss, opt_a, full), tb(b.g, b.loss, opt_b, halves);
  std::int64_t updates_b = 0;
  tb.on_step = [&](const StepInfo&) { ++updates_b; };
  ta.fit(a.feeds());
  tb.fit(b.feeds());
  EXPECT_EQ(updates_b, 3);
  const std::vector<Tensor> wa = a.weights(), wb = b.weights();
  for (std::size_t i = 0; i < wa.size(); ++i) {
    const std::vector<float> x = wa[i].to_vector<float>(), y = wb[i].to_vector<float>();
    // Sums split in two and rounded in float32: a few ulps apart.
    for (std::size_t k = 0; k < x.size(); ++k)
      EXPECT_NEAR(x[k], y[k], 1e-5f * std::max(1.0f, std::abs(x[k])));
  }
}

TEST(Trainer, OneAndTwoThreadsGiveTheSameBits) {
  std::vector<Tensor> results[2];
  for (int threads : {1, 2}) {
    Model m;
    Optimizer opt(OptimizerOptions::adam(0.01));
    TrainOptions options;
    options.epochs = 2;
    options.clip_norm = 1.0;
    options.executor.num_threads = threads;
    Trainer t(m.g, m.loss, opt, options);
    t.fit(m.feeds());
    results[threads - 1] = m.weights();
  }
  EXPECT_TRUE(same_bits(results[0], results[1]));
}

TEST(Trainer, StoppedAndResumedMidEpochEqualsUninterrupted) {
  TrainOptions options;
  options.epochs = 2;
  options.seed = 3;
  Model whole;
  Optimizer opt_whole(OptimizerOptions::adam(0.01));
  std::vector<double> whole_losses, parts_losses;
  {
    Trainer t(whole.g, whole.loss, opt_whole, options);
    t.on_epoch = [&](const EpochInfo& e) { whole_losses.push_back(e.loss); };
    t.fit(whole.feeds());
  }

  Model parts;
  Optimizer opt_parts(OptimizerOptions::adam(0.01));
  TrainPosition stopped_at;
  {
    Trainer first(parts.g, parts.loss, opt_parts, options);
    first.on_step = [&](const StepInfo& s) {
      if (s.step == 13) first.request_stop();  // epoch 1, batch 3
    };
    first.on_epoch = [&](const EpochInfo& e) { parts_losses.push_back(e.loss); };
    first.fit(parts.feeds());
    stopped_at = first.position();
  }
  EXPECT_EQ(stopped_at.epoch, 1);
  EXPECT_EQ(stopped_at.batch, 3);
  EXPECT_EQ(stopped_at.epoch_loss_samples, 3 * 32);  // the epoch's loss so far goes with it
  Trainer second(parts.g, parts.loss, opt_parts, options);
  second.set_position(stopped_at);
  second.on_epoch = [&](const EpochInfo& e) { parts_losses.push_back(e.loss); };
  second.fit(parts.feeds());
  EXPECT_TRUE(same_bits(whole.weights(), parts.weights()));
  // The resumed epoch's loss is over the whole epoch, the same bits as without the stop.
  EXPECT_EQ(parts_losses, whole_losses);
}

// A position read from a damaged or foreign training state must not skip training silently.
TEST(Trainer, APositionOutsideTheRunIsAnError) {
  Model m;
  Optimizer opt(OptimizerOptions::adam(0.01));
  TrainOptions options;
  options.epochs = 2;  // 300 rows in batches of 32: 10 batches per epoch
  Trainer t(m.g, m.loss, opt, options);
  t.set_position({0, 1000000, 0});
  std::string message = test::error_of([&] { t.fit(m.feeds()); });
  EXPECT_NE(message.find("batch 1000000 is past the 10 batches of an epoch"), std::string::npos)
      << message;
  t.set_position({5, 0, 0});
  message = test::error_of([&] { t.fit(m.feeds()); });
  EXPECT_NE(message.find("epoch 5 is past the 2 epochs to train"), std::string::npos) << message;
  t.set_position({2, 0, 0});  // a finished run: nothing left to do, not an error
  t.fit(m.feeds());
  EXPECT_EQ(opt.steps(), 0);
}

// A diverging run (SGD with lr 1e6) stops at its first non-finite step, with a message naming
// the step and the usual causes, and the graph keeps the weights of the last finite update.
TEST(Trainer, ADivergingRunStopsAtItsFirstNonFiniteStep) {
  test::NonFiniteSetup setup;
  setup.rule = OptimizerOptions::sgd(1e6);
  setup.epochs = 5;
  const test::NonFiniteRun run = test::nonfinite_run(setup);
  ASSERT_FALSE(run.error.empty()) << "the run did not diverge";
  ASSERT_FALSE(run.steps.empty());
  // The CPU reads each step's values at once: the step that stopped the run is the last one.
  EXPECT_EQ(run.steps.back().step, run.failed.step);
  EXPECT_FALSE(run.failed.finite());
  for (std::size_t i = 0; i + 1 < run.steps.size(); ++i) {
    EXPECT_TRUE(run.steps[i].finite()) << "step " << run.steps[i].step;
  }
  EXPECT_NE(run.error.find("training stopped at step " + std::to_string(run.failed.step) + " "),
            std::string::npos)
      << run.error;
  EXPECT_NE(run.error.find("learning rate too large"), std::string::npos) << run.error;
  EXPECT_EQ(test::nonfinite_tensors(run), std::vector<std::string>{});
  EXPECT_EQ(run.position.nonfinite_steps, 1);
  std::cout << "diverging run: " << run.error << "\n";
}

// Under kSkip the update of a batch with a non-finite input changes nothing: the weights and the
// running statistics are those of the run without that batch, bit for bit, and the epoch's loss
// is the mean over the finite steps.
TEST(Trainer, ASkippedStepChangesNoWeightOrRunningStatistic) {
  test::NonFiniteSetup setup;
  setup.policy = NonFinitePolicy::kSkip;
  setup.poisoned_batch = 7;  // the last of 8
  const test::NonFiniteRun poisoned = test::nonfinite_run(setup);
  setup.poisoned_batch = -1;
  setup.rows = 7 * 32;
  const test::NonFiniteRun prefix = test::nonfinite_run(setup);
  EXPECT_EQ(poisoned.error, "");
  ASSERT_EQ(poisoned.steps.size(), 8u);
  for (std::size_t k = 0; k < 7; ++k) EXPECT_TRUE(poisoned.steps[k].finite()) << k;
  EXPECT_TRUE(poisoned.steps[7].skipped);
  EXPECT_TRUE(std::isnan(poisoned.steps[7].loss));
  EXPECT_EQ(poisoned.position.nonfinite_steps, 1);
  ASSERT_EQ(poisoned.epochs.size(), 1u);
  EXPECT_EQ(poisoned.epochs[0].nonfinite_steps, 1);
  EXPECT_EQ(poisoned.epochs[0].loss, prefix.epochs[0].loss);
  EXPECT_EQ(poisoned.optimizer_steps, 8);  // a skipped step still counts (see Optimizer::step)
  ASSERT_EQ(poisoned.state.size(), prefix.state.size());
  for (std::size_t k = 0; k < poisoned.state.size(); ++k) {
    const auto& [name, value] = poisoned.state[k];
    if (name == "bn.num_batches_tracked") {  // counts the forward passes, the skipped one too
      EXPECT_EQ(value.item(), 8.0);
      EXPECT_EQ(prefix.state[k].second.item(), 7.0);
    } else {
      EXPECT_TRUE(bitwise_equal(value, prefix.state[k].second)) << name;
    }
  }
}

// Past max_skipped, a kSkip run stops as a kStop run does, and says how many it met.
TEST(Trainer, PastMaxSkippedTheRunStops) {
  test::NonFiniteSetup setup;
  setup.policy = NonFinitePolicy::kSkip;
  setup.max_skipped = 1;
  setup.poisoned_batch = 2;
  setup.epochs = 3;
  const test::NonFiniteRun run = test::nonfinite_run(setup);
  EXPECT_EQ(run.failed.step, 8 + 3);  // epoch 2's batch 2: the second non-finite step
  EXPECT_EQ(run.steps.size(), 11u);
  EXPECT_NE(run.error.find("that is 2 non-finite steps, more than the 1 the run may skip"),
            std::string::npos)
      << run.error;
  EXPECT_EQ(run.position.nonfinite_steps, 2);
  EXPECT_EQ(test::nonfinite_tensors(run), std::vector<std::string>{});
}

TEST(Trainer, BadOptionsAndDataAreNamed) {
  Model m;
  Optimizer opt(OptimizerOptions::sgd());
  TrainOptions bad;
  bad.batch_size = 0;
  EXPECT_NE(test::error_of([&] { Trainer(m.g, m.loss, opt, bad); }).find("batch_size = 0"),
            std::string::npos);
  TrainOptions options;
  options.batch_size = 1000;
  options.drop_last = true;
  Trainer t(m.g, m.loss, opt, options);
  EXPECT_NE(test::error_of([&] { t.fit(m.feeds()); }).find("make no full batch"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              t.fit({{m.x, m.data.x}, {m.y, Tensor::zeros(Shape{5}, DType::kInt64)}});
            }).find("has 5 rows"),
            std::string::npos);
}

}  // namespace
}  // namespace myelin

namespace myelin {
namespace {

// predict needs only the inputs its output depends on, and gives what an executor gives.
TEST(Predict, ReturnsTheOutputsOfEveryRowWithoutLabels) {
  Model m(/*stochastic=*/false);
  const Value logits = m.g.find("fc2");
  const Tensor out = predict(m.g, logits, {{m.x, m.data.x}}, {}, 64);
  ASSERT_EQ(out.shape(), (Shape{300, 2}));
  ExecutorOptions options;
  options.outputs = {logits};
  Executor e(m.g, options);
  e.set_input(m.x, m.data.x);
  e.forward(Mode::kEval);
  EXPECT_TRUE(bitwise_equal(out, e.value(logits)));
  EXPECT_NEAR(accuracy(out, m.data.y), accuracy(e.value(logits), m.data.y), 0.0);
  const std::string message = test::error_of([&] {
    predict(m.g, logits, {{m.x, m.data.x}}, {}, 0);
  });
  EXPECT_NE(message.find("batch_size must be >= 1"), std::string::npos) << message;
}

// evaluate measures in eval mode what predict gives, batch by batch: the loss weighted by batch
// size, the predicted classes in row order, the labels they are scored against, the accuracy.
TEST(Evaluate, GivesTheLossPredictionsAndAccuracyOfEveryRow) {
  Model m;  // dropout and batch norm: eval mode must turn the one off and freeze the other
  Optimizer opt(OptimizerOptions::adam(0.01));
  TrainOptions options;
  options.epochs = 20;
  Trainer t(m.g, m.loss, opt, options);
  t.fit(m.feeds());
  const Value logits = m.g.find("fc2");
  EvaluateOptions what;
  what.batch_size = 64;  // 300 rows: four full batches and one of 44
  what.logits = logits;
  what.labels = m.y;
  const Evaluation ev = t.evaluate(m.feeds(), what);
  ASSERT_EQ(ev.rows, 300);
  const Tensor out = predict(m.g, logits, {{m.x, m.data.x}}, {}, 300);
  EXPECT_TRUE(bitwise_equal(ev.predictions, predicted_classes(out)));
  EXPECT_TRUE(bitwise_equal(ev.labels, m.data.y));
  EXPECT_DOUBLE_EQ(ev.accuracy, accuracy(out, m.data.y));
  EXPECT_GT(ev.accuracy, 0.6);
  // The mean over all rows at once; the batched sum differs by float32 rounding only.
  Executor whole(m.g);
  whole.set_input(m.x, m.data.x);
  whole.set_input(m.y, m.data.y);
  whole.forward(Mode::kEval);
  EXPECT_NEAR(ev.loss, whole.value(m.loss).item(), 1e-5);

  what.limit = 100;
  const Evaluation first = t.evaluate(m.feeds(), what);
  EXPECT_EQ(first.rows, 100);
  const std::vector<std::int64_t> all = ev.predictions.to_vector<std::int64_t>();
  EXPECT_EQ(first.predictions.to_vector<std::int64_t>(),
            std::vector<std::int64_t>(all.begin(), all.begin() + 100));
  // The loss alone, for a model without a classifier's outputs.
  const Evaluation loss_only = t.evaluate(m.feeds());
  EXPECT_FALSE(loss_only.predictions.defined());
  EXPECT_NEAR(loss_only.loss, ev.loss, 1e-5);  // batches of 256 instead of 64

  EvaluateOptions bad = what;
  bad.labels = logits;
  EXPECT_NE(test::error_of([&] { t.evaluate(m.feeds(), bad); }).find("must be a graph input"),
            std::string::npos);
  bad = what;
  bad.batch_size = 0;
  EXPECT_NE(test::error_of([&] { t.evaluate(m.feeds(), bad); }).find("batch_size must be >= 1"),
            std::string::npos);
}

TEST(Evaluate, PredictedClassesAreTheFirstLargestLogit) {
  const Tensor logits = Tensor::from_vector<float>(Shape{3, 3}, {1, 1, 0, 0, 2, 2, -1, -3, -2});
  EXPECT_EQ(predicted_classes(logits).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{0, 1, 0}));
  EXPECT_NE(test::error_of([] {
              predicted_classes(Tensor::zeros(Shape{3}, DType::kFloat32));
            }).find("expected logits [N, C]"),
            std::string::npos);
}

TEST(GraphCheckpoint, SavesAndLoadsAnyGraphByParameterNames) {
  Model trained;
  Optimizer opt(OptimizerOptions::adam(0.01));
  TrainOptions options;
  options.epochs = 1;
  Trainer t(trained.g, trained.loss, opt, options);
  t.fit(trained.feeds());
  const std::string path =
      (std::filesystem::temp_directory_path() / "myelin-graph-checkpoint.safetensors").string();
  save_graph(path, trained.g, {{"note", "spirals"}});

  Model fresh;  // same architecture, its own initial weights
  EXPECT_FALSE(same_bits(fresh.weights(), trained.weights()));
  const auto meta = load_graph(path, fresh.g);
  EXPECT_EQ(meta.at("note"), "spirals");
  EXPECT_TRUE(same_bits(fresh.weights(), trained.weights()));

  // A checkpoint holds finite values only: a diverged model is refused, the file left as it was.
  Model diverged;
  diverged.g.tensor(diverged.g.find("fc1.weight")).data<float>()[3] = NAN;
  const std::string refused = test::error_of([&] { save_graph(path, diverged.g); });
  EXPECT_NE(refused.find("not written: 'fc1.weight' holds 1 non-finite values of 32"),
            std::string::npos)
      << refused;
  EXPECT_EQ(load_graph(path, fresh.g).at("note"), "spirals");

  Model other(/*stochastic=*/false);  // no batch norm: the file has tensors it lacks
  const std::string message = test::error_of([&] { load_graph(path, other.g); });
  EXPECT_NE(message.find("does not match the graph"), std::string::npos) << message;
  EXPECT_NE(message.find("bn."), std::string::npos) << message;
}

}  // namespace
}  // namespace myelin
