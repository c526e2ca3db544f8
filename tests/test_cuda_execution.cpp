// The executor and the training loop on the GPU: fan-out gradient accumulation, backward with
// accumulate = true, successive batch uploads without a wait in between (the pinned staging
// buffers), and the training loop's one-step-late readback of losses and gradient norms.
#include <gtest/gtest.h>

#include <cmath>

#include "memory_plan_checks.hpp"
#include "myelin/myelin.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

void expect_close(const Tensor& gpu, const Tensor& cpu, double tolerance, const std::string& what) {
  ASSERT_EQ(gpu.shape(), cpu.shape()) << what;
  const std::vector<double> a = gpu.to_vector<double>(), b = cpu.to_vector<double>();
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(std::isfinite(a[i])) << what << " element " << i;
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  EXPECT_LE(diff, tolerance * std::max(scale, 1e-6)) << what;
}

// h feeds three consumers; its gradient (and fc's) is the sum of three contributions.
TEST(CudaExecution, FanOutGradientsAccumulateAsOnTheCpu) {
  MYELIN_REQUIRE_GPU();
  std::vector<std::vector<Tensor>> grads;
  for (Device device : {Device::cpu(), Device::cuda(0)}) {
    Graph g(3);
    const Value x = g.input("x", Shape{17, 11});
    const Value target = g.input("t", Shape{17, 5});
    const Value h = g.linear_layer(x, 13, {}, "fc");
    const Value out = g.add(g.add(g.relu(h), g.tanh(h)), g.sigmoid(h));
    const Value loss = g.mse_loss(g.linear_layer(out, 5, {}, "head"), target);
    ExecutorOptions options;
    options.device = device;
    options.input_grads = {x};
    Executor e(g, options);
    e.set_input(x, test::random_tensor(Shape{17, 11}, 1, -1, 1, DType::kFloat32));
    e.set_input(target, test::random_tensor(Shape{17, 5}, 2, -1, 1, DType::kFloat32));
    e.forward();
    e.backward(loss);
    std::vector<Tensor> out_grads{e.grad(x).to(Device::cpu())};
    for (Value p : e.trainable_parameters()) out_grads.push_back(e.grad(p).to(Device::cpu()));
    grads.push_back(out_grads);
  }
  for (std::size_t k = 0; k < grads[0].size(); ++k) {
    // GEMMs and reductions in another order: the op tolerance of linear (1e-5).
    expect_close(grads[1][k], grads[0][k], 1e-5, "gradient " + std::to_string(k));
  }
}

// Successive batches uploaded with no wait in between (each through a pinned staging buffer the
// next upload may reuse), their gradients summed by backward(..., accumulate = true).
TEST(CudaExecution, SuccessiveUploadsAndAccumulatedBackwardPassesMatchTheCpu) {
  MYELIN_REQUIRE_GPU();
  std::vector<std::vector<Tensor>> results;
  for (Device device : {Device::cpu(), Device::cuda(0)}) {
    Graph g(4);
    const Value x = g.input("x", Shape{9, 6});
    const Value t = g.input("t", Shape{9, 3});
    const Value loss =
        g.mse_loss(g.linear_layer(g.tanh(g.linear_layer(x, 8, {}, "a")), 3, {}, "b"), t);
    ExecutorOptions options;
    options.device = device;
    Executor e(g, options);
    for (int k = 0; k < 6; ++k) {
      e.set_input(x, test::random_tensor(Shape{9, 6}, 10 + k, -1, 1, DType::kFloat32));
      e.set_input(t, test::random_tensor(Shape{9, 3}, 20 + k, -1, 1, DType::kFloat32));
      e.forward(Mode::kTrain, static_cast<std::uint64_t>(k));
      e.backward(loss, Tensor::full(Shape{}, 0.5 + k), /*accumulate=*/k > 0);
    }
    std::vector<Tensor> out;
    for (Value p : e.trainable_parameters()) out.push_back(e.grad(p).to(Device::cpu()));
    results.push_back(out);
  }
  for (std::size_t k = 0; k < results[0].size(); ++k) {
    expect_close(results[1][k], results[0][k], 1e-5, "accumulated gradient " + std::to_string(k));
  }
}

struct Reported {
  std::vector<double> losses, norms;
};

// Trains `batches` batches with the Trainer (on the GPU its losses and gradient norms come back
// one update late, without waiting), or, with `manual`, with the same steps written out and the
// loss read back synchronously after each forward pass.
Reported train(Device device, bool manual) {
  const std::int64_t batch = 16, batches = 6;
  Graph g(9);
  const Value x = g.input("x", Shape{batch, 8});
  const Value y = g.input("y", Shape{batch}, DType::kInt64);
  Value h = g.relu(
      g.batch_norm_layer(g.linear_layer(x, 12, LinearOptions{false, {}, {}}, "fc1"), {}, "bn"));
  h = g.dropout(h, 0.2, "drop");
  const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 3, {}, "fc2"), y);
  const Tensor data_x = test::random_tensor(Shape{batch * batches, 8}, 5, -2, 2, DType::kFloat32);
  const Tensor data_y = test::random_labels(batch * batches, 3, 6);
  Optimizer adam(OptimizerOptions::adam(0.01));
  const GradientClipping clipping{0.5, 0.0};
  Reported r;
  if (!manual) {
    TrainOptions options;
    options.batch_size = batch;
    options.shuffle = false;
    options.clip_norm = clipping.max_norm;
    options.executor.device = device;
    Trainer trainer(g, loss, adam, options);
    trainer.on_step = [&](const StepInfo& s) {
      r.losses.push_back(s.data_loss);
      r.norms.push_back(s.grad_norm);
    };
    trainer.fit({{x, data_x}, {y, data_y}});
    return r;
  }
  ExecutorOptions options;
  options.device = device;
  options.outputs = {loss};
  Executor e(g, options);
  for (std::int64_t b = 0; b < batches; ++b) {
    std::vector<float> rows(data_x.to_vector<float>());
    e.set_input(x, Tensor::from_vector<float>(
                       Shape{batch, 8}, std::vector<float>(rows.begin() + b * batch * 8,
                                                           rows.begin() + (b + 1) * batch * 8)));
    const std::vector<std::int64_t> labels = data_y.to_vector<std::int64_t>();
    e.set_input(y, Tensor::from_vector<std::int64_t>(
                       Shape{batch}, std::vector<std::int64_t>(labels.begin() + b * batch,
                                                               labels.begin() + (b + 1) * batch)));
    e.forward(Mode::kTrain, static_cast<std::uint64_t>(b));
    r.losses.push_back(e.value(loss).item());  // read at once: the host waits
    e.backward(loss, Tensor::full(Shape{}, 1.0));
    adam.step(e, clipping);
    r.norms.push_back(adam.last_grad_norm());
  }
  return r;
}

TEST(CudaTrainer, OneStepLateLossesEqualSynchronouslyReadOnes) {
  MYELIN_REQUIRE_GPU();
  const Reported late = train(Device::cuda(0), false);
  const Reported sync = train(Device::cuda(0), true);
  ASSERT_EQ(late.losses.size(), 6u);
  // The same device, the same steps: the same bits, whichever way they were read.
  EXPECT_EQ(late.losses, sync.losses);
  EXPECT_EQ(late.norms, sync.norms);
  // And the CPU trainer, which reads them at once, within the training comparison's tolerance.
  const Reported cpu = train(Device::cpu(), false);
  for (std::size_t s = 0; s < cpu.losses.size(); ++s) {
    EXPECT_NEAR(late.losses[s], cpu.losses[s], 1e-5 * std::abs(cpu.losses[s])) << "step " << s;
    EXPECT_NEAR(late.norms[s], cpu.norms[s], 1e-5 * std::abs(cpu.norms[s])) << "step " << s;
  }
}

// The training loop asks whether an update's readback has arrived and whether a staging buffer is
// free without waiting; on a device those queries mostly answer "not ready", which the runtime
// also records as the last error. A training run must take that as an answer, under every
// schedule of the emulated device, and give the same bits whatever the answers were.
TEST(CudaTrainer, QueriesAnsweringNotReadyAreAnswersNotErrors) {
  MYELIN_REQUIRE_GPU();
  std::vector<test::DefaultModelRun> runs;
#if defined(MYELIN_EMULATED_DEVICE)
  const emu::Counters before = emu::counters();
#endif
  for (const std::uint64_t seed : {1, 2, 3}) {
    test::ScheduleSeed scope(seed);
    runs.push_back(test::train_default_model(Device::cuda(0), true, 16, 96, true, 1));
  }
#if defined(MYELIN_EMULATED_DEVICE)
  EXPECT_GT((emu::counters() - before).not_ready, 0u) << "every query found its work done";
#endif
  test::expect_same_bits(runs[1], runs[0]);
  test::expect_same_bits(runs[2], runs[0]);
}

}  // namespace
}  // namespace myelin
