// myelin spirals: the quick demo. Trains a small MLP on the two-spirals problem on the CPU
// with plain SGD on the full batch, printing the loss as it falls and the final accuracy.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "myelin/app.hpp"

namespace myelin::cli {

int run_spirals(const Args& args) {
  check_options(args,
                {"--steps", "--lr", "--hidden", "--seed", "--threads", "--points", "--device"});
  const Device device = parse_device(option(args, "--device", "cpu"));
  const std::int64_t steps = option_integer(args, "--steps", 3000, 1);
  const double lr = option_number(args, "--lr", 0.3);
  if (!(lr > 0)) throw UsageError{"--lr expects a number > 0"};
  const std::int64_t hidden = option_integer(args, "--hidden", 64, 1, 1 << 20);
  const auto seed = static_cast<std::uint64_t>(option_integer(args, "--seed", 0, 0));
  const std::int64_t points = option_integer(args, "--points", 500, 1, 1 << 24);
  const int threads = static_cast<int>(option_integer(args, "--threads", 0, 0, 4096));

  const Dataset data = make_spirals(points, 2, 1.5, 0.02, seed);
  const std::int64_t n = data.x.shape()[0];
  Graph g(seed);
  const Value x = g.input("x", Shape{n, 2});
  const Value y = g.input("y", Shape{n}, DType::kInt64);
  Value h = g.tanh(g.linear_layer(x, hidden, {}, "fc1"));
  h = g.tanh(g.linear_layer(h, hidden, {}, "fc2"));
  const Value logits = g.linear_layer(h, 2, {}, "fc3");
  const Value loss = g.softmax_cross_entropy(logits, y, -100, "loss");

  ExecutorOptions options;
  options.num_threads = threads;
  options.device = device;
  Executor exec(g, options);
  exec.set_input(x, data.x);
  exec.set_input(y, data.y);
  Optimizer sgd(OptimizerOptions::sgd(lr));

  std::printf(
      "two spirals on %s: %lld points, MLP 2-%lld-%lld-2 (tanh), SGD lr %g, %lld full-batch "
      "steps\n",
      device.str().c_str(), static_cast<long long>(n), static_cast<long long>(hidden),
      static_cast<long long>(hidden), lr, static_cast<long long>(steps));
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t report_every = std::max<std::int64_t>(1, steps / 15);
  for (std::int64_t step = 0; step < steps; ++step) {
    exec.forward(Mode::kTrain, static_cast<std::uint64_t>(step));
    exec.backward(loss);
    if (step % report_every == 0 || step == steps - 1) {
      std::printf("step %6lld  loss %.5f  accuracy %.3f\n", static_cast<long long>(step),
                  exec.value(loss).item(), accuracy(exec.value(logits), data.y));
      std::fflush(stdout);
    }
    sgd.step(exec);
  }
  exec.forward(Mode::kEval);
  const double acc = accuracy(exec.value(logits), data.y);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("final training loss %.5f, training accuracy %.4f (%.1f s)\n",
              exec.value(loss).item(), acc, seconds);
  return 0;
}

}  // namespace myelin::cli
