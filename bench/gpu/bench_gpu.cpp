// GPU benchmarks: the backend's kernels as achieved bytes per second against a device-to-device
// copy measured in the same run (and against cuDNN where it has the op), the fused optimizer
// against per-tensor updates, and the default model's training epoch with and without CUDA
// Graphs. Writes a JSON file and prints a table with each goal next to its measured value.
//
//   bench_gpu [--smoke] [--json FILE]
//
// On the emulated device the sizes are those of --smoke and the figures say nothing about speed:
// the run checks that every benchmark runs and that the output is well formed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backends/cuda/context.hpp"
#include "myelin/app.hpp"
#include "op_runner.hpp"

#if defined(MYELIN_BENCH_CUDNN)
#include "cudnn_baseline.hpp"
#endif
#if defined(MYELIN_EMULATED_DEVICE)
#include "myelin_emu/emulator.hpp"
#endif

namespace myelin::bench {
namespace {

struct Sizes {
  int reps;
  std::int64_t elements;  // elementwise ops and the copy
  std::int64_t softmax_rows;
  std::vector<std::int64_t> softmax_cols;
  std::int64_t ce_rows, ce_classes;
  std::vector<std::int64_t> bn_nc, bn_nchw;
  std::int64_t optimizer_tensors, optimizer_tensor_elements;
  std::int64_t mlp_rows, mlp_batch;  // batch 0: the default model's
};

Sizes sizes(bool smoke) {
  if (smoke) return {2, 1 << 14, 4, {128, 1024}, 64, 10, {256, 64}, {4, 8, 8, 8}, 4, 4096, 256, 32};
  return {20,
          1 << 26,  // 256 MiB of floats
          1024,
          {128, 1024, 8192, 32768},
          65536,
          1000,
          {65536, 1024},
          {64, 256, 56, 56},
          100,
          1 << 20,  // 100 tensors of 1M: ~100M parameters
          60000,
          0};
}

double seconds_per_call(ExecutionBackend& backend, int reps, const std::function<void()>& call) {
  call();  // warm-up: plans, workspaces, first-touch
  backend.synchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) call();
  backend.synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / reps;
}

struct Result {
  Result(std::string g, std::string n, std::string s, double b, double t)
      : group(std::move(g)), name(std::move(n)), shape(std::move(s)), bytes(b), seconds(t) {}
  std::string group, name, shape;
  double bytes = 0.0, seconds = 0.0;
  double baseline_seconds = NAN;  // cuDNN or the per-tensor update, same bytes
  std::string baseline;           // its name, "" when none
  double goal_vs_copy = NAN;      // achieved / copy bandwidth at least this
  double goal_vs_baseline = NAN;  // baseline time / our time at least this
};

class Bench {
 public:
  Bench(bool smoke, bool emulated)
      : smoke_(smoke),
        emulated_(emulated),
        size_(sizes(smoke)),
        backend_(make_execution_backend(backend_options())),
        dc_(*backend_->context()) {
#if defined(MYELIN_BENCH_CUDNN)
    cudnn_ = std::make_unique<CudnnBaseline>(dc_.stream);
#endif
    cudaDeviceProp prop{};
    MYELIN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    device_name_ = prop.name;
    MYELIN_CUDA_CHECK(cudaDriverGetVersion(&driver_));
  }

  // Runs every benchmark; with a JSON path, the file is rewritten after each one (a benchmark
  // that fails or hangs leaves the results before it, marked incomplete).
  void run_all(const std::string& json_path) {
    const std::pair<const char*, void (Bench::*)()> sections[] = {
        {"copy", &Bench::copy},
        {"activations", &Bench::activations},
        {"softmax", &Bench::softmax},
        {"cross_entropy", &Bench::cross_entropy},
        {"batch_norm", &Bench::batch_norm},
        {"dropout", &Bench::dropout},
        {"optimizers", &Bench::optimizers},
        {"mlp", &Bench::mlp}};
    for (const auto& [name, run] : sections) {
      (this->*run)();
      finished_.push_back(name);
      if (!json_path.empty()) save(json_path, finished_.size() == std::size(sections));
    }
  }

  nlohmann::json json() const;
  void print_table(std::ostream& out) const;

 private:
  static BackendOptions backend_options() {
    BackendOptions o;
    o.device = Device::cuda(0);
    o.node_labels = {"benchmark node"};
    return o;
  }
  double copy_bandwidth() const {
    return copy_bytes_ / copy_seconds_;
  }

  void copy() {
    const std::size_t bytes = static_cast<std::size_t>(size_.elements) * sizeof(float);
    Tensor a = backend_->allocate(Shape{size_.elements}, DType::kFloat32, false);
    Tensor b = backend_->allocate(Shape{size_.elements}, DType::kFloat32, false);
    backend_->zero(a);
    copy_seconds_ = seconds_per_call(*backend_, size_.reps, [&] {
      MYELIN_CUDA_CHECK(
          cudaMemcpyAsync(b.raw(), a.raw(), bytes, cudaMemcpyDeviceToDevice, dc_.stream));
    });
    copy_bytes_ = 2.0 * static_cast<double>(bytes);
    results_.push_back({"copy", "device-to-device copy", std::to_string(size_.elements) + " floats",
                        copy_bytes_, copy_seconds_});
  }

  // Times `runner`'s forward and backward passes; `fwd_bytes`/`bwd_bytes` model their traffic.
  void time_op(const std::string& group, const std::string& name, const std::string& shape,
               OpRunner& runner, double fwd_bytes, double bwd_bytes, double goal,
               const std::function<void()>& cudnn_fwd = nullptr,
               const std::function<void()>& cudnn_bwd = nullptr) {
    Result f{group, name + " forward", shape, fwd_bytes,
             seconds_per_call(*backend_, size_.reps, [&] { runner.forward(); })};
    f.goal_vs_copy = goal;
    Result b{group, name + " backward", shape, bwd_bytes,
             seconds_per_call(*backend_, size_.reps, [&] { runner.backward(); })};
    b.goal_vs_copy = goal;
    if (cudnn_fwd) {
      f.baseline = b.baseline = "cuDNN";
      f.baseline_seconds = seconds_per_call(*backend_, size_.reps, cudnn_fwd);
      b.baseline_seconds = seconds_per_call(*backend_, size_.reps, cudnn_bwd);
    }
    results_.push_back(f);
    results_.push_back(b);
  }

  static std::string dims(const std::vector<std::int64_t>& d) {
    std::string s;
    for (std::int64_t v : d) s += (s.empty() ? "" : " x ") + std::to_string(v);
    return s;
  }

  void activations() {
    const std::int64_t n = size_.elements;
    for (const OpDef* op : op_table()) {
      if (!op->backward_in_place) continue;  // the elementwise activations
      Graph g(1);
      const Value x = g.input("x", Shape{n});
      g.op(op->name, {x});
      OpRunner runner(*backend_, g, 1);
      const double bytes = 4.0 * static_cast<double>(n);
      std::function<void()> cf, cb;
#if defined(MYELIN_BENCH_CUDNN)
      Tensor x2, y2, dy2, dx2;
      if (CudnnBaseline::has_activation(op->name)) {
        for (Tensor* t : {&x2, &y2, &dy2, &dx2}) {
          *t = backend_->allocate(Shape{n}, DType::kFloat32, false);
          backend_->zero(*t);
        }
        cf = [&] { cudnn_->activation_forward(op->name, n, f32(x2), f32(y2)); };
        cb = [&] {
          cudnn_->activation_backward(op->name, n, f32(x2), f32(y2), f32(dy2), f32(dx2));
        };
      }
#endif
      // Forward reads x and writes y; backward reads x, y and dy and writes dx.
      time_op("activation", op->name, std::to_string(n), runner, 2 * bytes, 4 * bytes, 0.9, cf, cb);
    }
  }

  void softmax() {
    for (const bool log : {false, true}) {
      for (std::int64_t cols : size_.softmax_cols) {
        const std::int64_t rows = size_.softmax_rows;
        Graph g(1);
        const Value x = g.input("x", Shape{rows, cols});
        log ? g.log_softmax(x) : g.softmax(x);
        OpRunner runner(*backend_, g, 2);
        const double bytes = 4.0 * static_cast<double>(rows * cols);
        std::function<void()> cf, cb;
#if defined(MYELIN_BENCH_CUDNN)
        Tensor x2 = backend_->allocate(Shape{rows, cols}, DType::kFloat32, false);
        Tensor y2 = backend_->allocate(Shape{rows, cols}, DType::kFloat32, false);
        Tensor dx2 = backend_->allocate(Shape{rows, cols}, DType::kFloat32, false);
        backend_->zero(x2);
        backend_->zero(y2);
        cf = [&] { cudnn_->softmax_forward(log, rows, cols, f32(x2), f32(y2)); };
        cb = [&] { cudnn_->softmax_backward(log, rows, cols, f32(y2), f32(y2), f32(dx2)); };
#endif
        // Forward reads x, writes y; backward reads y and dy, writes dx.
        time_op("softmax", log ? "log_softmax" : "softmax", dims({rows, cols}), runner, 2 * bytes,
                3 * bytes, 0.9, cf, cb);
      }
    }
  }

  void cross_entropy() {
    const std::int64_t rows = size_.ce_rows, classes = size_.ce_classes;
    Graph g(1);
    const Value logits = g.input("logits", Shape{rows, classes});
    const Value labels = g.input("labels", Shape{rows}, DType::kInt64);
    g.softmax_cross_entropy(logits, labels);
    OpRunner runner(*backend_, g, 3, classes);
    const double fwd = static_cast<double>(runner.input_bytes(false) + runner.output_bytes() +
                                           runner.saved_bytes());
    // Backward reads the labels and what the forward saved, and writes the logits' gradient.
    const double bwd = static_cast<double>(runner.input_bytes(false) - runner.input_bytes(true) +
                                           runner.saved_bytes() + runner.input_bytes(true));
    time_op("loss", "softmax_cross_entropy", dims({rows, classes}), runner, fwd, bwd, NAN);
  }

  void batch_norm() {
    for (const std::vector<std::int64_t>& d : {size_.bn_nc, size_.bn_nchw}) {
      Graph g(1);
      const Value x = g.input("x", Shape(d));
      g.batch_norm_layer(x);
      OpRunner runner(*backend_, g, 4);
      const double in = static_cast<double>(runner.input_bytes(true));
      const double fwd = in + static_cast<double>(runner.output_bytes() + runner.saved_bytes());
      // Backward reads x, dy, the weights and saved statistics, writes dx and the weights'
      // gradients: about twice the forward.
      const double bwd = 2.0 * in + static_cast<double>(runner.saved_bytes());
      std::function<void()> cf, cb;
#if defined(MYELIN_BENCH_CUDNN)
      const std::int64_t c = d[1];
      const std::int64_t count = d[0] * c * (d.size() == 4 ? d[2] * d[3] : 1);
      Tensor x2 = backend_->allocate(Shape{count}, DType::kFloat32, false);
      Tensor y2 = backend_->allocate(Shape{count}, DType::kFloat32, false);
      Tensor dx2 = backend_->allocate(Shape{count}, DType::kFloat32, false);
      Tensor params = backend_->allocate(Shape{8 * c}, DType::kFloat32, false);
      for (Tensor* t : {&x2, &y2, &params}) backend_->zero(*t);
      const std::int64_t h = d.size() == 4 ? d[2] : 1, w = d.size() == 4 ? d[3] : 1;
      cf = [&] { cudnn_->batch_norm_forward(d[0], c, h, w, f32(x2), f32(y2), f32(params)); };
      cb = [&] {
        cudnn_->batch_norm_backward(d[0], c, h, w, f32(x2), f32(y2), f32(dx2), f32(params));
      };
#endif
      time_op("batch_norm", d.size() == 2 ? "batch_norm (N, C)" : "batch_norm (N, C, H, W)",
              dims(d), runner, fwd, bwd, 0.8, cf, cb);
      if (d.size() == 2) {
        results_[results_.size() - 2].goal_vs_baseline = 3.0;
        results_.back().goal_vs_baseline = 3.0;
      }
    }
  }

  void dropout() {
    const std::int64_t n = size_.elements;
    Graph g(1);
    g.dropout(g.input("x", Shape{n}), 0.5);
    OpRunner runner(*backend_, g, 5);
    const double floats = 4.0 * static_cast<double>(n);
    const double mask = static_cast<double>(runner.saved_bytes());
    // Forward reads x, writes y and the mask; backward reads dy and the mask, writes dx.
    time_op("dropout", "dropout", std::to_string(n), runner, 2 * floats + mask, 2 * floats + mask,
            NAN);
  }

  // The global norm and update of every parameter: one fused update of all of them, against
  // per-tensor updates (an optimizer per parameter: its own norm, constants and update launches).
  void optimizers() {
    const std::int64_t tensors = size_.optimizer_tensors, per = size_.optimizer_tensor_elements;
    const std::vector<std::pair<std::string, OptimizerOptions>> rules = {
        {"sgd", OptimizerOptions::sgd(0.01)},
        {"momentum", OptimizerOptions::momentum_sgd(0.01, 0.9)},
        {"rmsprop", OptimizerOptions::rmsprop(0.001)},
        {"adagrad", OptimizerOptions::adagrad(0.01)},
        {"adam", OptimizerOptions::adam(0.001)},
    };
    // Bytes per parameter: the norm reads g; the update reads w and g and writes w, and reads
    // and writes each state slot.
    const std::map<std::string, double> per_param = {
        {"sgd", 16}, {"momentum", 24}, {"rmsprop", 24}, {"adagrad", 24}, {"adam", 32}};
    for (const auto& [name, rule] : rules) {
      // One graph whose loss touches every parameter, so that each has a gradient.
      Graph g(1);
      Value loss;
      for (std::int64_t t = 0; t < tensors; ++t) {
        const Value p = g.parameter("p" + std::to_string(t), Tensor::full(Shape{per}, 0.5));
        const Value target = g.input("t" + std::to_string(t), Shape{per});
        const Value l = g.mse_loss(p, target);
        loss = t == 0 ? l : g.add(loss, l);
      }
      ExecutorOptions options;
      options.device = Device::cuda(0);
      options.outputs = {loss};
      Executor executor(g, options);
      for (std::int64_t t = 0; t < tensors; ++t) {
        executor.set_input(g.find("t" + std::to_string(t)), Tensor::zeros(Shape{per}));
      }
      executor.forward();
      executor.backward(loss);
      Optimizer fused(rule);
      const GradientClipping clipping{1.0, 0.0};
      Result r{"optimizer", name + " (global norm + fused update)",
               std::to_string(tensors) + " x " + std::to_string(per),
               per_param.at(name) * static_cast<double>(tensors * per),
               seconds_per_call(executor.execution_backend(), size_.reps,
                                [&] { fused.step(executor, clipping); })};
      // Per tensor: each parameter its own optimizer, so its own launches.
      std::vector<std::unique_ptr<Graph>> graphs;
      std::vector<std::unique_ptr<Executor>> executors;
      std::vector<std::unique_ptr<Optimizer>> optimizers;
      for (std::int64_t t = 0; t < tensors; ++t) {
        graphs.push_back(std::make_unique<Graph>(1));
        Graph& one = *graphs.back();
        const Value p = one.parameter("p", Tensor::full(Shape{per}, 0.5));
        const Value target = one.input("t", Shape{per});
        const Value l = one.mse_loss(p, target);
        executors.push_back(std::make_unique<Executor>(one, options_for(l)));
        executors.back()->set_input(target, Tensor::zeros(Shape{per}));
        executors.back()->forward();
        executors.back()->backward(l);
        optimizers.push_back(std::make_unique<Optimizer>(rule));
      }
      r.baseline = "per-tensor updates";
      // The per-tensor executors each have a stream: time them all, waiting for each at the end.
      auto per_tensor = [&] {
        for (std::int64_t t = 0; t < tensors; ++t) {
          optimizers[static_cast<std::size_t>(t)]->step(*executors[static_cast<std::size_t>(t)],
                                                        clipping);
        }
      };
      per_tensor();
      for (auto& e : executors) e->synchronize();
      const auto start = std::chrono::steady_clock::now();
      for (int rep = 0; rep < size_.reps; ++rep) per_tensor();
      for (auto& e : executors) e->synchronize();
      r.baseline_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
          size_.reps;
      if (name == "adam") r.goal_vs_copy = 0.85;
      results_.push_back(r);
    }
  }

  static ExecutorOptions options_for(Value loss) {
    ExecutorOptions o;
    o.device = Device::cuda(0);
    o.outputs = {loss};
    return o;
  }

  // One epoch of the default model on random data of Fashion-MNIST's shape, with and without
  // CUDA Graphs: the second epoch of each run is timed (the first places buffers and captures).
  void mlp() {
    Tensor x = Tensor::empty(Shape{size_.mlp_rows, 784});
    Tensor y = Tensor::empty(Shape{size_.mlp_rows}, DType::kInt64);
    Rng rng(7);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      x.data<float>()[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
    }
    for (std::int64_t i = 0; i < y.numel(); ++i) {
      y.data<std::int64_t>()[i] = static_cast<std::int64_t>(rng.below(10));
    }
    for (const bool graphs : {false, true}) {
      ModelSpec spec = default_model_spec();
      if (size_.mlp_batch > 0) spec.batch_size = size_.mlp_batch;
      SequentialModel model = build_model(spec, 784, spec.batch_size);
      TrainOptions options = train_options(spec, Device::cuda(0));
      options.epochs = 2;
      options.cuda_graphs = graphs;
      Optimizer optimizer(spec.optimizer);
      Trainer trainer(model.graph, model.loss, optimizer, options);
      EpochInfo last;
      MlpResult r;
#if defined(MYELIN_EMULATED_DEVICE)
      emu::Counters after_first{};
#endif
      trainer.on_epoch = [&](const EpochInfo& e) {
        last = e;
#if defined(MYELIN_EMULATED_DEVICE)
        if (e.epoch == 0) after_first = emu::counters();
#endif
      };
      trainer.fit({{model.input, x}, {model.labels, y}});
      r.graphs = graphs;
      r.batch = spec.batch_size;
      r.samples_per_second = last.samples_per_second;
      r.epoch_seconds = last.seconds;
      r.steps = last.steps;
#if defined(MYELIN_EMULATED_DEVICE)
      const emu::Counters used = emu::counters() - after_first;
      r.launches_per_step = static_cast<double>(used.launches) / static_cast<double>(r.steps);
      r.graph_launches_per_step =
          static_cast<double>(used.graph_launches) / static_cast<double>(r.steps);
#endif
      mlp_.push_back(r);
    }
  }

  struct MlpResult {
    bool graphs = false;
    std::int64_t batch = 0, steps = 0;
    double samples_per_second = 0.0, epoch_seconds = 0.0;
    double launches_per_step = NAN, graph_launches_per_step = NAN;
  };

  bool smoke_, emulated_;
  Sizes size_;
  std::unique_ptr<ExecutionBackend> backend_;
  DeviceContext& dc_;
#if defined(MYELIN_BENCH_CUDNN)
  std::unique_ptr<CudnnBaseline> cudnn_;
#endif
  double copy_bytes_ = 0.0, copy_seconds_ = 0.0;
  // Writes json() to `path` (a new file renamed over the old one, so a reader never sees half
  // of it), with the sections finished so far and whether that is all of them.
  void save(const std::string& path, bool complete) const {
    nlohmann::json out = json();
    out["complete"] = complete;
    out["finished"] = finished_;
    const std::string temporary = path + ".partial";
    {
      std::ofstream file(temporary);
      file << out.dump(2) << "\n";
      if (!file.flush()) throw Error("bench_gpu: cannot write " + temporary);
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
      throw Error("bench_gpu: cannot replace " + path);
    }
  }

  std::vector<Result> results_;
  std::vector<MlpResult> mlp_;
  std::vector<std::string> finished_;
  std::string device_name_;
  int driver_ = 0;

  static float* f32(Tensor& t) {
    return static_cast<float*>(t.raw());
  }
};

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json Bench::json() const {
  nlohmann::json out;
  const BuildInfo b = build_info();
  out["device"] = emulated_ ? "emulated" : device_name_;
  out["emulated"] = emulated_;
  out["smoke"] = smoke_;
  out["myelin"] = b.version;
  out["cuda_runtime"] = b.cuda_runtime;
  out["cuda_driver"] = driver_;
#if defined(MYELIN_BENCH_CUDNN)
  out["cudnn"] = CudnnBaseline::version();
#else
  out["cudnn"] = nullptr;
#endif
  out["copy_bytes_per_second"] = number_or_null(copy_bandwidth());
  nlohmann::json kernels = nlohmann::json::array();
  for (const Result& r : results_) {
    const double rate = r.bytes / r.seconds;
    nlohmann::json k = {
        {"group", r.group},
        {"name", r.name},
        {"shape", r.shape},
        {"bytes", r.bytes},
        {"seconds", number_or_null(r.seconds)},
        {"bytes_per_second", number_or_null(rate)},
        {"vs_copy", number_or_null(rate / copy_bandwidth())},
        {"baseline", r.baseline.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.baseline)},
        {"baseline_seconds", number_or_null(r.baseline_seconds)},
        {"speedup_vs_baseline", number_or_null(r.baseline_seconds / r.seconds)},
        {"goal_vs_copy", number_or_null(r.goal_vs_copy)},
        {"goal_speedup_vs_baseline", number_or_null(r.goal_vs_baseline)}};
    kernels.push_back(k);
  }
  out["kernels"] = kernels;
  nlohmann::json mlp = nlohmann::json::array();
  for (const MlpResult& m : mlp_) {
    mlp.push_back({{"cuda_graphs", m.graphs},
                   {"batch", m.batch},
                   {"steps", m.steps},
                   {"samples_per_second", number_or_null(m.samples_per_second)},
                   {"epoch_seconds", number_or_null(m.epoch_seconds)},
                   {"host_launches_per_step", number_or_null(m.launches_per_step)},
                   {"graph_launches_per_step", number_or_null(m.graph_launches_per_step)}});
  }
  out["mlp"] = mlp;
  if (mlp_.size() == 2) {
    out["mlp_graph_speedup"] = number_or_null(mlp_[0].epoch_seconds / mlp_[1].epoch_seconds);
    out["mlp_goal_graph_speedup"] = 5.0;
  }
  return out;
}

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// "met", "NOT met", or "-" when there is no goal; on the emulated device no figure counts.
std::string verdict(bool emulated, double goal, double value) {
  if (!std::isfinite(goal)) return "-";
  if (emulated) return ">= " + fixed(goal, 2) + " (emulated: n/a)";
  return ">= " + fixed(goal, 2) + (value >= goal ? " met" : " NOT met");
}

void Bench::print_table(std::ostream& out) const {
  out << "device: " << (emulated_ ? "emulated (figures say nothing about speed)" : device_name_)
      << "; copy " << fixed(copy_bandwidth() / 1e9, 1) << " GB/s\n\n";
  out << "| kernel | shape | GB/s | x copy | goal x copy | baseline | x baseline | goal |\n"
      << "|---|---|---|---|---|---|---|---|\n";
  for (const Result& r : results_) {
    const double rate = r.bytes / r.seconds;
    const double speedup = r.baseline_seconds / r.seconds;
    out << "| " << r.name << " | " << r.shape << " | " << fixed(rate / 1e9, 1) << " | "
        << fixed(rate / copy_bandwidth(), 2) << " | "
        << verdict(emulated_, r.goal_vs_copy, rate / copy_bandwidth()) << " | "
        << (r.baseline.empty() ? "-" : r.baseline) << " | " << fixed(speedup, 2) << " | "
        << verdict(emulated_, r.goal_vs_baseline, speedup) << " |\n";
  }
  out << "\n| default model epoch | samples/s | epoch s | host launches/step | graph launches/step "
         "|\n"
      << "|---|---|---|---|---|\n";
  for (const MlpResult& m : mlp_) {
    out << "| " << (m.graphs ? "CUDA Graph" : "kernel by kernel") << " (batch " << m.batch << ") | "
        << fixed(m.samples_per_second, 0) << " | " << fixed(m.epoch_seconds, 3) << " | "
        << fixed(m.launches_per_step, 1) << " | " << fixed(m.graph_launches_per_step, 1) << " |\n";
  }
  if (mlp_.size() == 2) {
    const double speedup = mlp_[0].epoch_seconds / mlp_[1].epoch_seconds;
    out << "\nCUDA Graph speedup of the epoch: " << fixed(speedup, 2) << "x, goal "
        << verdict(emulated_, 5.0, speedup) << "\n";
  }
  if (!emulated_) {
    out << "(launches per step are counted on the emulated device: tools/bench --gpu there)\n";
  }
}

}  // namespace
}  // namespace myelin::bench

int main(int argc, char** argv) {
  using namespace myelin;
  bool smoke = false;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--smoke") {
      smoke = true;
    } else if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      std::cerr << "usage: bench_gpu [--smoke] [--json FILE]\n";
      return 2;
    }
  }
  try {
    std::string why;
    if (cuda_device_count(&why) == 0) {
      std::cerr << "bench_gpu: no usable CUDA device (" << why << ")\n";
      return 2;
    }
    const bool emulated = build_info().emulated;
    bench::Bench b(smoke || emulated, emulated);
    b.run_all(json_path);
    b.print_table(std::cout);
    if (!json_path.empty()) {
      // Read back: the file must be valid JSON with every section, marked complete.
      std::ifstream in(json_path);
      const nlohmann::json back = nlohmann::json::parse(in);
      for (const char* key : {"device", "copy_bytes_per_second", "kernels", "mlp", "complete"}) {
        if (!back.contains(key)) throw Error(std::string("bench_gpu: the JSON lacks ") + key);
      }
      if (!back["complete"].get<bool>()) throw Error("bench_gpu: the JSON is marked incomplete");
      std::cout << "results written to " << json_path << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_gpu: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
