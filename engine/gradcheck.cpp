#include "myelin/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "myelin/error.hpp"
#include "myelin/executor.hpp"
#include "myelin/random.hpp"

namespace myelin {

namespace {

// Which side of each of its kinks every element of a non-smooth op's input lies on. Two
// forward passes whose snapshots differ moved some input across a kink.
class KinkWatch {
 public:
  KinkWatch(const Graph& graph, const Executor& exec) : exec_(exec) {
    for (const Node& node : graph.nodes()) {
      const KinkSpec& kink = node.op->kink;
      if (kink.input < 0 || !kink.points) continue;
      const Value in = node.inputs[static_cast<std::size_t>(kink.input)];
      if (in.valid()) watched_.push_back({in, kink.points(node.attrs)});
    }
  }

  std::vector<signed char> snapshot() const {
    std::vector<signed char> sides;
    for (const Watched& w : watched_) {
      const Tensor& t = exec_.value(w.value);
      const double* x = t.data<double>();
      for (std::int64_t i = 0; i < t.numel(); ++i) {
        for (double k : w.points) sides.push_back(x[i] > k ? 1 : (x[i] < k ? -1 : 0));
      }
    }
    return sides;
  }

 private:
  struct Watched {
    Value value;
    std::vector<double> points;
  };
  const Executor& exec_;
  std::vector<Watched> watched_;
};

}  // namespace

double GradcheckReport::worst_error() const {
  double worst = 0.0;
  for (const GradcheckEntry& e : entries) worst = std::max(worst, e.worst_error);
  return worst;
}

std::int64_t GradcheckReport::checked() const {
  std::int64_t n = 0;
  for (const GradcheckEntry& e : entries) n += e.checked;
  return n;
}

std::int64_t GradcheckReport::skipped() const {
  std::int64_t n = 0;
  for (const GradcheckEntry& e : entries) n += e.skipped;
  return n;
}

double GradcheckReport::skipped_share() const {
  const std::int64_t total = checked() + skipped();
  return total == 0 ? 0.0 : static_cast<double>(skipped()) / static_cast<double>(total);
}

std::string GradcheckReport::str() const {
  std::ostringstream out;
  for (const GradcheckEntry& e : entries) {
    out << std::left << std::setw(28) << e.name << " worst " << std::scientific
        << std::setprecision(2) << e.worst_error << "  checked " << e.checked << "  skipped "
        << e.skipped;
    if (e.worst_index >= 0) {
      out << "  (at " << e.worst_index << ": analytic " << std::setprecision(6) << e.analytic
          << ", numeric " << e.numeric << ")";
    }
    out << '\n';
  }
  return out.str();
}

GradcheckReport gradcheck(Graph& graph, Value output,
                          const std::vector<std::pair<Value, Tensor>>& feeds,
                          const GradcheckOptions& options) {
  if (!(options.step > 0.0)) fail("gradcheck: the step must be positive, got ", options.step);
  ExecutorOptions exec_options;
  exec_options.dtype = DType::kFloat64;
  exec_options.input_grads = options.inputs;
  exec_options.share_graph_tensors = false;
  exec_options.outputs = {output};
  // The inputs of kinked ops are read between passes (KinkWatch), so the memory plan keeps them.
  for (const Node& node : graph.nodes()) {
    const KinkSpec& kink = node.op->kink;
    if (kink.input >= 0 && kink.points &&
        node.inputs[static_cast<std::size_t>(kink.input)].valid()) {
      exec_options.outputs.push_back(node.inputs[static_cast<std::size_t>(kink.input)]);
    }
  }
  Executor exec(graph, exec_options);
  for (const auto& [v, t] : feeds) exec.set_input(v, t.clone());  // perturbed in place below

  exec.forward(options.mode, options.run_step);
  const Tensor& out = exec.value(output);
  Tensor cotangent = Tensor::empty(out.shape(), DType::kFloat64);
  {
    Rng rng(options.cotangent_seed);
    double* r = cotangent.data<double>();
    for (std::int64_t i = 0; i < cotangent.numel(); ++i) {
      r[i] = out.numel() == 1 ? 1.0 : rng.uniform(-1.0, 1.0);
    }
  }
  exec.backward(output, cotangent);

  // The checked function: f = sum(output * cotangent), in the same order every time.
  auto evaluate = [&] {
    exec.forward(options.mode, options.run_step);
    const double* y = exec.value(output).data<double>();
    const double* r = cotangent.data<double>();
    double f = 0.0;
    for (std::int64_t i = 0; i < cotangent.numel(); ++i) f += y[i] * r[i];
    return f;
  };
  KinkWatch kinks(graph, exec);
  const std::vector<signed char> base_sides = kinks.snapshot();

  std::vector<Value> targets = exec.trainable_parameters();
  targets.insert(targets.end(), options.inputs.begin(), options.inputs.end());
  GradcheckReport report;
  for (Value v : targets) {
    GradcheckEntry entry;
    entry.name = graph.name(v);
    const Tensor analytic = exec.grad(v).clone();
    // The executor's own tensor of v, perturbed in place: a parameter's, or an input bound to a
    // float64 host tensor (which set_input uses in place).
    const bool is_input = graph.info(v).kind == ValueKind::kInput;
    Tensor x_tensor = is_input ? exec.value(v).clone() : exec.param(v);
    if (is_input) exec.set_input(v, x_tensor);
    double* x = x_tensor.data<double>();
    const double* a = analytic.data<double>();
    const std::int64_t n = x_tensor.numel();
    const std::int64_t count = options.max_elements > 0 ? std::min(n, options.max_elements) : n;
    for (std::int64_t k = 0; k < count; ++k) {
      const std::int64_t i = count == n ? k : k * n / count;  // spread evenly
      const double original = x[i];
      x[i] = original + options.step;
      const double f_plus = evaluate();
      bool crossed = kinks.snapshot() != base_sides;
      x[i] = original - options.step;
      const double f_minus = evaluate();
      crossed = crossed || kinks.snapshot() != base_sides;
      x[i] = original;
      if (crossed) {
        ++entry.skipped;
        continue;
      }
      const double numeric = (f_plus - f_minus) / (2.0 * options.step);
      const double error =
          std::abs(a[i] - numeric) / std::max({std::abs(a[i]), std::abs(numeric), 1.0});
      ++entry.checked;
      if (entry.worst_index < 0 || error > entry.worst_error || std::isnan(error)) {
        entry.worst_error = std::isnan(error) ? INFINITY : error;
        entry.worst_index = i;
        entry.analytic = a[i];
        entry.numeric = numeric;
      }
    }
    report.entries.push_back(entry);
  }
  return report;
}

}  // namespace myelin
