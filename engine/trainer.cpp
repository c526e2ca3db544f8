#include "myelin/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <set>
#include <string>

#include "backends/backend.hpp"
#include "backends/step_log.hpp"
#include "myelin/error.hpp"
#include "myelin/philox.hpp"
#include "myelin/random.hpp"
#include "myelin/regularize.hpp"

namespace myelin {

namespace {

// The activation nodes diagnostics read (with the low and high tails of each).
std::vector<std::pair<int, Value>> watched_activations(const Graph& graph) {
  std::vector<std::pair<int, Value>> out;
  double low = 0.0, high = 0.0;
  for (std::size_t i = 0; i < graph.nodes().size(); ++i) {
    const Node& n = graph.nodes()[i];
    if (n.op != nullptr && n.outputs.size() == 1 && watched_activation(n.op->name, low, high)) {
      out.emplace_back(static_cast<int>(i), n.outputs[0]);
    }
  }
  return out;
}

ExecutorOptions executor_options(const TrainOptions& options, const Graph& graph, Value loss) {
  ExecutorOptions e = options.executor;
  e.outputs = {loss};
  // Diagnostics read the activations after the forward pass: the memory plan keeps them.
  if (options.diagnostics_every > 0) {
    for (const auto& [node, value] : watched_activations(graph)) e.outputs.push_back(value);
  }
  return e;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string number_text(double v) {
  if (std::isnan(v)) return "nan";  // whatever its sign bit
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

// What the step's values were and what usually makes a run diverge.
std::string nonfinite_message(const StepInfo& s, const TrainOptions& options,
                              std::int64_t nonfinite_steps, double last_finite_loss,
                              std::int64_t last_finite_step) {
  std::string what = "training stopped at step " + std::to_string(s.step) + " (epoch " +
                     std::to_string(s.epoch + 1) + ", batch " + std::to_string(s.batch + 1) +
                     " of " + std::to_string(s.batches_per_epoch) + "): ";
  const bool loss_bad = !std::isfinite(s.data_loss), norm_bad = !std::isfinite(s.grad_norm);
  if (loss_bad) what += "the loss is " + number_text(s.data_loss);
  if (loss_bad && norm_bad) what += " and ";
  if (norm_bad) what += "the gradient norm is " + number_text(s.grad_norm);
  if (!loss_bad) what += " (the loss " + number_text(s.data_loss) + ")";
  if (!norm_bad) what += " (the gradient norm " + number_text(s.grad_norm) + ")";
  if (last_finite_step > 0) {
    what += "; the last finite loss was " + number_text(last_finite_loss) + " at step " +
            std::to_string(last_finite_step);
  }
  if (options.on_nonfinite == NonFinitePolicy::kSkip) {
    what += "; that is " + std::to_string(nonfinite_steps) + " non-finite steps, more than the " +
            std::to_string(options.max_skipped) + " the run may skip";
  }
  what += ". ";
  what += norm_bad ? "That update was not applied (a non-finite gradient changes nothing). " : "";
  what +=
      "Usual causes: a learning rate too large for the model (try one 10x smaller), no gradient "
      "clipping (clip_norm), initial weights too large, an optimizer eps of 0, inputs that are "
      "not finite.";
  return what;
}

}  // namespace

NonFiniteError::NonFiniteError(const std::string& what, const StepInfo& step)
    : Error(what), step_(step) {}
NonFiniteError::~NonFiniteError() = default;

Trainer::Trainer(Graph& graph, Value loss, Optimizer& optimizer, const TrainOptions& options)
    : graph_(graph),
      loss_(loss),
      optimizer_(optimizer),
      options_(options),
      executor_(graph, executor_options(options, graph, loss)),
      watched_(options.diagnostics_every > 0 ? watched_activations(graph)
                                             : std::vector<std::pair<int, Value>>{}) {
  auto check = [](bool ok, const char* field, double value, const char* expected) {
    if (!ok) fail("training options: ", field, " = ", value, " is out of range (", expected, ")");
  };
  check(options.batch_size >= 1, "batch_size", static_cast<double>(options.batch_size), ">= 1");
  check(options.epochs >= 0, "epochs", static_cast<double>(options.epochs), ">= 0");
  check(options.accumulation_steps >= 1, "accumulation_steps",
        static_cast<double>(options.accumulation_steps), ">= 1");
  check(options.clip_norm >= 0.0, "clip_norm", options.clip_norm, ">= 0, 0 for off");
  check(options.clip_value >= 0.0, "clip_value", options.clip_value, ">= 0, 0 for off");
  check(options.diagnostics_every >= 0, "diagnostics_every",
        static_cast<double>(options.diagnostics_every), ">= 0, 0 for off");
  check(options.max_skipped >= 0, "max_skipped", static_cast<double>(options.max_skipped), ">= 0");
  options.schedule.validate();
  if (graph.shape(loss).numel() != 1) {
    fail("trainer: the loss '", graph.name(loss), "' must be a scalar, it is ",
         graph.shape(loss).str());
  }
}

std::vector<std::int64_t> Trainer::epoch_order(std::int64_t epoch, std::int64_t rows) const {
  std::vector<std::int64_t> order(static_cast<std::size_t>(rows));
  for (std::int64_t i = 0; i < rows; ++i) order[static_cast<std::size_t>(i)] = i;
  if (!options_.shuffle) return order;
  // Fisher-Yates from the Philox stream of this epoch: the order is a pure function of
  // (seed, epoch), so a resumed run sees the same batches.
  Rng rng(options_.seed, stable_id("shuffle"), static_cast<std::uint64_t>(epoch));
  for (std::int64_t i = rows - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(i + 1)));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

void Trainer::fit(const std::vector<std::pair<Value, Tensor>>& data) {
  TensorSource source(graph_, data);
  fit(source);
}

Evaluation Trainer::evaluate(const std::vector<std::pair<Value, Tensor>>& data,
                             const EvaluateOptions& options) {
  TensorSource source(graph_, data);
  return evaluate(source, options);
}

void Trainer::fit(BatchSource& source) {
  const std::int64_t rows = source.rows();
  if (rows <= 0) fail("trainer: the data has no rows");
  const std::int64_t batch = options_.batch_size;
  const std::int64_t batches = options_.drop_last ? rows / batch : (rows + batch - 1) / batch;
  if (batches == 0) {
    fail("trainer: ", rows, " rows make no full batch of ", batch, " (drop_last is on)");
  }
  // A position from a damaged or foreign training state would skip training silently.
  if (position_.batch < 0 || position_.batch >= batches) {
    fail("trainer: the position's batch ", position_.batch, " is past the ", batches,
         " batches of an epoch");
  }
  if (position_.epoch < 0 || position_.epoch > options_.epochs) {
    fail("trainer: the position's epoch ", position_.epoch, " is past the ", options_.epochs,
         " epochs to train");
  }
  const std::int64_t accumulation = options_.accumulation_steps;
  LrSchedule schedule = options_.schedule;
  schedule.steps_per_epoch = (batches + accumulation - 1) / accumulation;
  stop_ = false;
  bool has_l2 = false;
  for (Value p : executor_.trainable_parameters()) {
    has_l2 = has_l2 || optimizer_.group(graph_.info(p).group).l2 > 0.0;
  }

  ExecutionBackend& runtime = executor_.execution_backend();
  const std::unique_ptr<StepLog> log = runtime.make_step_log(accumulation);
  const GradientClipping clipping{options_.clip_norm, options_.clip_value};
  // CUDA Graphs: a batch size's first step runs kernel by kernel and places its buffers; the
  // next one is captured and launched, later ones launch the graph again. Graphs hold buffer
  // addresses, so they are dropped when the executor's buffers move.
  const bool graphs = options_.cuda_graphs && accumulation == 1 && runtime.supports_graphs();
  std::set<std::int64_t> placed;  // batch sizes whose buffers are placed
  std::uint64_t generation = executor_.buffer_generation();
  // The first step that stops the run, and the last finite loss before it (for the message).
  std::unique_ptr<NonFiniteError> failure;
  double last_finite_loss = 0.0;
  std::int64_t last_finite_step = 0;

  while (position_.epoch < options_.epochs && !stop_) {
    const std::vector<std::int64_t> order = epoch_order(position_.epoch, rows);
    const auto epoch_start = std::chrono::steady_clock::now();
    // A resumed epoch continues the loss sums saved with its position.
    double epoch_loss = position_.batch > 0 ? position_.epoch_loss_sum : 0.0;
    std::int64_t loss_samples = position_.batch > 0 ? position_.epoch_loss_samples : 0;
    std::int64_t epoch_samples = 0, epoch_steps = 0, epoch_nonfinite = 0;
    // Updates whose loss and gradient norm are still on their way back from the device (on
    // CUDA they are reported one update late; on the CPU at once).
    std::deque<StepInfo> pending;
    auto report = [&](bool wait) {
      double loss = 0.0, norm = 0.0;
      while (!pending.empty() && log->take(loss, norm, wait)) {
        StepInfo info = pending.front();
        pending.pop_front();
        info.data_loss = loss;
        info.grad_norm = norm;
        info.loss = info.data_loss + info.penalty;
        info.skipped = !std::isfinite(norm);
        if (std::isfinite(loss)) {  // the epoch's mean is over the finite losses
          epoch_loss += loss * static_cast<double>(info.samples);
          loss_samples += info.samples;
          position_.epoch_loss_sum = epoch_loss;
          position_.epoch_loss_samples = loss_samples;
        }
        if (!info.finite()) {
          ++epoch_nonfinite;
          ++position_.nonfinite_steps;
        } else {
          last_finite_loss = info.loss;
          last_finite_step = info.step;
        }
        if (on_step) on_step(info);
        // Updates already queued behind this one are still reported (they ran); the run stops
        // at the first step that stops it.
        if (!info.finite() && failure == nullptr &&
            (options_.on_nonfinite == NonFinitePolicy::kStop ||
             position_.nonfinite_steps > options_.max_skipped)) {
          failure = std::make_unique<NonFiniteError>(
              nonfinite_message(info, options_, position_.nonfinite_steps, last_finite_loss,
                                last_finite_step),
              info);
          stop_ = true;
        }
      }
    };
    while (position_.batch < batches && !stop_) {
      if (stop_after_ > 0 && optimizer_.steps() >= stop_after_) {
        stop_ = true;
        break;
      }
      // The update's one wait for the device, if any, before its first batch goes up; then what
      // has come back is looked at, so that no update is queued after one that stops the run.
      log->make_room();
      report(/*wait=*/false);
      if (stop_) break;
      const auto step_start = std::chrono::steady_clock::now();
      // Updates group `accumulation` consecutive batches; the last group may be shorter.
      const std::int64_t first = position_.batch;
      const std::int64_t group = std::min(accumulation, batches - first);
      const Tensor seed = Tensor::full(Shape{}, 1.0 / static_cast<double>(group));
      StepInfo info;
      const std::int64_t first_rows = std::min(rows, first * batch + batch) - first * batch;
      if (graphs && executor_.buffer_generation() != generation) {
        runtime.drop_graphs();
        placed.clear();
        generation = executor_.buffer_generation();
      }
      if (graphs && placed.count(first_rows) != 0) {
        source.bind(executor_, order.data() + first * batch, first_rows);
        if (executor_.buffer_generation() != generation) {  // the input moved: start over
          runtime.drop_graphs();
          placed.clear();
          generation = executor_.buffer_generation();
        }
      }
      // Diagnostic steps run kernel by kernel: their statistics are read between the parts.
      const bool diagnose =
          options_.diagnostics_every > 0 && optimizer_.steps() % options_.diagnostics_every == 0;
      Diagnostics diagnostics;
      if (graphs && placed.count(first_rows) != 0 && !diagnose) {
        info.samples = first_rows;
        optimizer_.set_lr_scale(schedule.factor(optimizer_.steps()));
        if (has_l2) info.penalty = l2_penalty(executor_, optimizer_);
        info.lr = optimizer_.lr("weights");
        const auto step = static_cast<std::uint64_t>(position_.forward_passes++);
        runtime.begin_forward(step);  // the dropout step, outside the graph
        const int buffer = log->begin_graphed_update();
        optimizer_.step(executor_, clipping, UpdatePart::kConstants);
        const std::string key = std::to_string(first_rows) + "/" + std::to_string(buffer);
        if (!runtime.has_graph(key)) {
          runtime.begin_capture();
          try {
            executor_.forward(Mode::kTrain, step);
            log->add_loss(executor_.pending_value(loss_), 1.0);
            executor_.backward(loss_, seed, /*accumulate=*/false);
            optimizer_.step(executor_, clipping, UpdatePart::kKernels);
            log->queue_update_copies();
            runtime.end_capture(key);
          } catch (...) {
            runtime.abort_capture();
            throw;
          }
        } else {
          log->replay_loss(1.0);
        }
        runtime.launch_graph(key);
        log->commit_update();
      } else {
        for (std::int64_t k = 0; k < group; ++k) {
          const std::int64_t b = first + k;
          const std::int64_t begin = b * batch, end = std::min(rows, begin + batch);
          source.bind(executor_, order.data() + begin, end - begin);
          executor_.forward(Mode::kTrain, static_cast<std::uint64_t>(position_.forward_passes++));
          if (diagnose && k == group - 1) diagnose_activations(diagnostics);
          log->add_loss(executor_.pending_value(loss_), 1.0 / static_cast<double>(group));
          executor_.backward(loss_, seed, /*accumulate=*/k > 0);
          info.samples += end - begin;
        }
        optimizer_.set_lr_scale(schedule.factor(optimizer_.steps()));
        // The penalty of the weights this update starts from. Reading it waits for the device,
        // so it is only computed when some group has an L2 penalty.
        if (has_l2) info.penalty = l2_penalty(executor_, optimizer_);
        info.lr = optimizer_.lr("weights");
        std::vector<Tensor> before;
        if (diagnose) before = diagnose_gradients(diagnostics);
        optimizer_.step(executor_, clipping);
        if (diagnose) {
          diagnose_updates(diagnostics, before);
          diagnostics.step = optimizer_.steps();
          diagnostics.epoch = position_.epoch;
          if (on_diagnostics) on_diagnostics(diagnostics);
        }
        log->end_update();
        if (graphs) placed.insert(first_rows);
      }

      position_.batch = first + group;
      epoch_samples += info.samples;
      ++epoch_steps;
      info.epoch = position_.epoch;
      info.step = optimizer_.steps();
      info.batch = position_.batch - 1;
      info.batches_per_epoch = batches;
      info.samples_per_second = static_cast<double>(info.samples) / seconds_since(step_start);
      pending.push_back(info);
      report(/*wait=*/false);
    }
    report(/*wait=*/true);
    if (position_.batch < batches) break;  // stopped mid-epoch: resume from here
    EpochInfo epoch;
    epoch.epoch = position_.epoch;
    epoch.steps = epoch_steps;
    epoch.loss = loss_samples > 0 ? epoch_loss / static_cast<double>(loss_samples) : NAN;
    epoch.nonfinite_steps = epoch_nonfinite;
    epoch.seconds = seconds_since(epoch_start);
    epoch.samples_per_second = static_cast<double>(epoch_samples) / epoch.seconds;
    ++position_.epoch;
    position_.batch = 0;
    position_.epoch_loss_sum = 0.0;
    position_.epoch_loss_samples = 0;
    if (on_epoch) on_epoch(epoch);
  }
  executor_.write_back();  // the graph owns the trained weights
  if (failure != nullptr) throw NonFiniteError(*failure);
}

void Trainer::diagnose_activations(Diagnostics& d) {
  ExecutionBackend& runtime = executor_.execution_backend();
  for (const auto& [index, value] : watched_) {
    const Node& node = graph_.nodes()[static_cast<std::size_t>(index)];
    const Tensor& y = executor_.pending_value(value);
    const std::int64_t rows = y.shape().rank() > 0 ? y.shape()[0] : 1;
    double low = 0.0, high = 0.0;
    watched_activation(node.op->name, low, high);
    const std::vector<double> columns = runtime.column_statistics(y, rows, low, high);
    ActivationDiagnostics a;
    a.node = node.name;
    a.op = node.op->name;
    a.rows = rows;
    a.units = static_cast<std::int64_t>(columns.size() / 4);
    double tails = 0.0, sum = 0.0, squares = 0.0;
    std::int64_t dead = 0;
    for (std::size_t c = 0; c + 3 < columns.size(); c += 4) {
      dead += columns[c] == 0.0 ? 1 : 0;
      tails += columns[c + 1];
      sum += columns[c + 2];
      squares += columns[c + 3];
    }
    const double entries = static_cast<double>(rows * a.units);
    if (entries > 0) {
      a.mean = sum / entries;
      a.std = std::sqrt(std::max(0.0, squares / entries - a.mean * a.mean));
    }
    if (a.op == "relu" && a.units > 0) {
      a.dead_fraction = static_cast<double>(dead) / static_cast<double>(a.units);
    }
    if (std::isfinite(low) && entries > 0) a.saturated_fraction = tails / entries;
    d.activations.push_back(a);
  }
}

std::vector<Tensor> Trainer::diagnose_gradients(Diagnostics& d) {
  ExecutionBackend& runtime = executor_.execution_backend();
  std::vector<Tensor> before;
  double total = 0.0;
  for (Value p : executor_.trainable_parameters()) {
    Tensor& w = executor_.param(p);
    ParameterDiagnostics pd;
    pd.name = graph_.name(p);
    pd.rank = w.shape().rank();
    const double squares = runtime.sum_of_squares(executor_.grad(p));
    total += squares;
    pd.grad_norm = std::sqrt(squares);
    pd.weight_norm = std::sqrt(runtime.sum_of_squares(w));
    d.parameters.push_back(pd);
    // A copy of the weights before the update, on the device: the update is their difference.
    Tensor copy = runtime.allocate(w.shape(), w.dtype(), false);
    runtime.zero(copy);
    runtime.accumulate(copy, w);
    before.push_back(copy);
  }
  d.grad_norm = std::sqrt(total);
  return before;
}

void Trainer::diagnose_updates(Diagnostics& d, std::vector<Tensor>& before) {
  ExecutionBackend& runtime = executor_.execution_backend();
  std::size_t i = 0;
  for (Value p : executor_.trainable_parameters()) {
    Tensor& change = before[i];
    runtime.scale(change, -1.0);
    runtime.accumulate(change, executor_.param(p));
    ParameterDiagnostics& pd = d.parameters[i++];
    const double update = std::sqrt(runtime.sum_of_squares(change));
    pd.update_ratio = pd.weight_norm > 0.0 ? update / pd.weight_norm : NAN;
  }
}

Evaluation Trainer::evaluate(BatchSource& source, const EvaluateOptions& options) {
  return myelin::evaluate(executor_, loss_, source, options);
}

}  // namespace myelin
