// myelin train: trains a model spec (the default: an MLP on Fashion-MNIST) on the GPU when one is
// usable, else on the CPU. A run directory keeps the spec, metrics.csv (a row per epoch),
// steps.jsonl (a line per update) and the checkpoint of the last epoch; Ctrl-C saves a
// checkpoint and stops, and --resume continues exactly where the run stopped.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "commands.hpp"
#include "run_directory.hpp"
#include "session.hpp"

namespace myelin::cli {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) {
  g_interrupted = 1;
}

std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return text;
}

// A loss or metric on the screen: 4 decimals, or 4 significant digits once it is large.
std::string shown_number(double value) {
  return csv_number(value, std::fabs(value) < 1e5 ? "%.4f" : "%.4g");
}

// Terminal progress: one line redrawn in place, at most ten times a second.
class Progress {
 public:
  explicit Progress(bool terminal) : terminal_(terminal) {}

  void step(const StepInfo& s, std::int64_t epochs) {
    // The mean loss of the epoch so far: one update's loss is too noisy to read.
    if (s.epoch != epoch_) {
      epoch_ = s.epoch;
      loss_sum_ = 0.0;
      loss_samples_ = 0;
    }
    if (std::isfinite(s.loss)) {
      loss_sum_ += s.loss * static_cast<double>(s.samples);
      loss_samples_ += s.samples;
    }
    if (!terminal_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && s.batch + 1 != s.batches_per_epoch) return;
    last_ = now;
    throughput_ =
        throughput_ == 0.0 ? s.samples_per_second : 0.9 * throughput_ + 0.1 * s.samples_per_second;
    const double done = static_cast<double>(s.batch + 1) / static_cast<double>(s.batches_per_epoch);
    const int width = 24;
    std::string bar(static_cast<std::size_t>(width), ' ');
    for (int i = 0; i < static_cast<int>(done * width); ++i) bar[static_cast<std::size_t>(i)] = '=';
    const double left_batches =
        static_cast<double>(s.batches_per_epoch - s.batch - 1) +
        static_cast<double>(epochs - s.epoch - 1) * static_cast<double>(s.batches_per_epoch);
    const double eta =
        throughput_ > 0 ? left_batches * static_cast<double>(s.samples) / throughput_ : 0.0;
    std::printf("\r\033[Kepoch %lld/%lld [%s] %lld/%lld loss %s %8.0f samples/s  left %s",
                static_cast<long long>(s.epoch + 1), static_cast<long long>(epochs), bar.c_str(),
                static_cast<long long>(s.batch + 1), static_cast<long long>(s.batches_per_epoch),
                shown_number(mean_loss()).c_str(), throughput_, format_duration(eta).c_str());
    std::fflush(stdout);
  }

  void end_line() {
    if (terminal_) std::printf("\r\033[K");
  }

  double mean_loss() const {  // NaN while no step of the epoch had a finite loss
    return loss_samples_ > 0 ? loss_sum_ / static_cast<double>(loss_samples_) : NAN;
  }

 private:
  bool terminal_;
  std::int64_t epoch_ = -1;
  double loss_sum_ = 0.0;
  std::int64_t loss_samples_ = 0;
  double throughput_ = 0.0;
  std::chrono::steady_clock::time_point last_{};
};

// A resumed run must be the run its checkpoint continues: spec.json may change its epochs and
// device, nothing that defines the run (data, split, seed, batch size, model, optimizer).
void check_resumable(const std::string& run_dir, const std::string& checkpoint,
                     const ModelSpec& spec) {
  const std::map<std::string, std::string> meta = read_safetensors(checkpoint).metadata;
  const auto saved = meta.find("spec");
  if (saved == meta.end()) fail(checkpoint, ": has no spec in its metadata to resume from");
  for (const SpecDifference& d :
       spec_differences(parse_model_spec(saved->second, checkpoint), spec)) {
    // What a step that is not finite does is a policy, not part of the run's definition.
    if (d.field == "epochs" || d.field == "device" || d.field == "on_nonfinite" ||
        d.field == "max_skipped" || d.field == "diagnostics_every" ||
        d.field.rfind("early_stopping", 0) == 0) {
      continue;
    }
    throw UsageError{
        d.field + ": " + d.before + " in the checkpoint, " + d.after + " in " + run_dir +
        "/spec.json (a resumed run keeps what defines it: only epochs, " +
        "device, on_nonfinite, max_skipped, early_stopping and diagnostics_every may change)"};
  }
}

// A resume that runs past the epochs the run started with says what learning rates the extra
// epochs get: the schedule was fixed when the run started (the replayed steps keep theirs).
void describe_extension(const std::string& run_dir, const std::string& checkpoint,
                        const ModelSpec& spec) {
  const std::map<std::string, std::string> meta = read_safetensors(checkpoint).metadata;
  const ModelSpec saved = parse_model_spec(meta.at("spec"), checkpoint);
  if (spec.epochs <= saved.epochs) return;
  const LrSchedule& s = spec.schedule;
  std::string what;
  char text[200];
  if (s.kind == LrSchedule::Kind::kCosine && spec.epochs > s.cosine_epochs) {
    std::snprintf(text, sizeof text,
                  "the cosine schedule's horizon stays %lld epochs, so epochs past it run at its "
                  "floor, min_factor x lr = %.3g",
                  static_cast<long long>(s.cosine_epochs), s.min_factor * spec.optimizer.lr);
    what = text;
  } else if (s.kind == LrSchedule::Kind::kConstant) {
    what = "the learning rate stays constant";
  } else {
    what = "the " + s.str() + " schedule goes on as it would have";
  }
  std::printf(
      "%s: extended from %lld to %lld epochs; %s (the schedule is fixed when a run "
      "starts)\n",
      run_dir.c_str(), static_cast<long long>(saved.epochs), static_cast<long long>(spec.epochs),
      what.c_str());
}

// What in this spec can make a run diverge, beyond the library's usual causes.
std::string divergence_advice(const ModelSpec& spec) {
  std::vector<std::string> lines;
  char text[256];
  const OptimizerOptions& o = spec.optimizer;
  std::snprintf(text, sizeof text,
                "optimizer.lr is %.3g (%s): try %.3g, or search it on a log scale", o.lr,
                optimizer_kind_name(o.kind), o.lr / 10.0);
  lines.push_back(text);
  if (spec.clip_norm == 0.0) {
    lines.push_back("clip_norm is off: \"clip_norm\": 1.0 bounds every update's size");
  }
  const bool has_eps = o.kind == OptimizerKind::kAdam || o.kind == OptimizerKind::kAdamW ||
                       o.kind == OptimizerKind::kRmsprop || o.kind == OptimizerKind::kAdagrad;
  if (has_eps && o.eps == 0.0) {
    lines.push_back(
        "optimizer.eps is 0: a weight whose gradients are all 0 divides 0 by 0; use "
        "1e-8");
  }
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    if (spec.layers[i].weight_init || spec.layers[i].bias_init) {
      lines.push_back("layers[" + std::to_string(i) +
                      "] sets its own initialiser: the default (He for ReLU, Xavier otherwise) "
                      "keeps activations and gradients in range");
    }
  }
  if (spec.on_nonfinite == "stop") {
    lines.push_back(
        "\"on_nonfinite\": \"skip\" skips the odd non-finite batch instead of "
        "stopping (not a cure for a diverging run)");
  }
  std::string out = "in this run:\n";
  for (const std::string& line : lines) out += "  - " + line + "\n";
  return out;
}

// The best epoch by a dev metric and how many epochs have passed without beating it.
class BestModel {
 public:
  // Continues the count a checkpoint's metadata holds (when it tracked the same metric).
  BestModel(std::string metric, const std::map<std::string, std::string>& saved)
      : metric_(std::move(metric)), lower_(lower_is_better(metric_)) {
    const auto name = saved.find("best_metric");
    if (name == saved.end()) return;
    if (name->second != metric_) {
      std::printf("the best model was chosen by %s; from now on by %s\n", name->second.c_str(),
                  metric_.c_str());
      return;
    }
    value_ = std::strtod(saved.at("best_value").c_str(), nullptr);
    epoch_ = std::stoll(saved.at("best_epoch"));
    bad_epochs_ = std::stoll(saved.at("bad_epochs"));
  }

  // Records an epoch's value; true when it is the new best (better by more than min_delta).
  // NaN is never the best.
  bool update(double value, std::int64_t epoch, double min_delta) {
    const bool better =
        std::isfinite(value) &&
        (epoch_ == 0 || (lower_ ? value < value_ - min_delta : value > value_ + min_delta));
    if (better) {
      value_ = value;
      epoch_ = epoch;
      bad_epochs_ = 0;
    } else {
      ++bad_epochs_;
    }
    return better;
  }

  void describe(std::map<std::string, std::string>& meta) const {
    if (epoch_ == 0) return;
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", value_);
    meta["best_metric"] = metric_;
    meta["best_value"] = text;
    meta["best_epoch"] = std::to_string(epoch_);
    meta["bad_epochs"] = std::to_string(bad_epochs_);
  }

  const std::string& metric() const { return metric_; }
  double value() const { return value_; }
  std::int64_t epoch() const { return epoch_; }  // 1-based; 0: none yet
  std::int64_t bad_epochs() const { return bad_epochs_; }

 private:
  std::string metric_;
  bool lower_;
  double value_ = 0.0;
  std::int64_t epoch_ = 0;
  std::int64_t bad_epochs_ = 0;
};

// A copy of a file just written (a hard link where the file system allows one).
void copy_model_file(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_hard_link(from, to, ec);
  if (!ec) return;
  fs::copy_file(from, to, ec);
  if (ec) fail(to, ": cannot write the best model (", ec.message(), ")");
}

// A diagnostics.jsonl line: the step's per-parameter and per-activation figures and the kinds of
// warning they raised (non-finite values as null).
std::string diagnostics_json(const Diagnostics& d, const std::vector<DiagnosticWarning>& warnings) {
  std::string line = "{\"step\": " + std::to_string(d.step) +
                     ", \"epoch\": " + std::to_string(d.epoch + 1) +
                     ", \"grad_norm\": " + json_number(d.grad_norm, 6) + ", \"parameters\": [";
  for (std::size_t i = 0; i < d.parameters.size(); ++i) {
    const ParameterDiagnostics& p = d.parameters[i];
    line += std::string(i > 0 ? ", " : "") + "{\"name\": \"" + p.name +
            "\", \"grad_norm\": " + json_number(p.grad_norm, 6) +
            ", \"weight_norm\": " + json_number(p.weight_norm, 6) +
            ", \"update_ratio\": " + json_number(p.update_ratio, 6) + "}";
  }
  line += "], \"activations\": [";
  for (std::size_t i = 0; i < d.activations.size(); ++i) {
    const ActivationDiagnostics& a = d.activations[i];
    line += std::string(i > 0 ? ", " : "") + "{\"layer\": \"" + a.node + "\", \"op\": \"" + a.op +
            "\", \"mean\": " + json_number(a.mean, 6) + ", \"std\": " + json_number(a.std, 6) +
            ", \"dead_fraction\": " + json_number(a.dead_fraction, 6) +
            ", \"saturated_fraction\": " + json_number(a.saturated_fraction, 6) + "}";
  }
  line += "], \"warnings\": [";
  for (std::size_t i = 0; i < warnings.size(); ++i) {
    line += std::string(i > 0 ? ", " : "") + "\"" + warnings[i].kind + "\"";
  }
  return line + "]}\n";
}

// Layer indices given as "0,1,4".
std::vector<std::int64_t> layer_list(const Args& args, const std::string& name) {
  std::vector<std::int64_t> out;
  std::stringstream in(option(args, name, ""));
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const long long value = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || value < 0) {
      throw UsageError{name + " takes layer indices like 0,1,4, not '" + item + "'"};
    }
    out.push_back(value);
  }
  return out;
}

}  // namespace

int run_train(const Args& args) {
  check_options(args, {"--out", "--resume", "--init", "--reinit", "--refit-normalization",
                       "--freeze", "--frozen-batch-norm", "--epochs", "--device", "--limit",
                       "--dev-size", "--stop-after", "--spec", "--cuda-graphs"});
  const std::string graphs_option = option(args, "--cuda-graphs", "on");
  if (graphs_option != "on" && graphs_option != "off") {
    throw UsageError{"--cuda-graphs takes on or off, not '" + graphs_option + "'"};
  }
  const std::string resume = option(args, "--resume", "");
  std::string run_dir = option(args, "--out", "");
  const std::string spec_path = option(args, "--spec", "");
  if (!resume.empty() && (!run_dir.empty() || !spec_path.empty())) {
    throw UsageError{"--resume continues a run directory: it takes no --out or --spec"};
  }

  // Everything is checked before anything is written.
  ModelSpec spec;
  std::string spec_source = "the default model";
  try {
    if (!resume.empty()) {
      run_dir = resume;
      spec = read_model_spec(run_dir + "/spec.json");
      spec_source = run_dir + "/spec.json";
    } else if (!spec_path.empty()) {
      spec = read_model_spec(spec_path);
      spec_source = spec_path;
    } else {
      spec = default_model_spec();
    }
  } catch (const SpecError& e) {
    throw UsageError{e.what()};
  }
  if (!spec.search.empty()) {
    throw UsageError{spec_source +
                     ": search: is for myelin tune, which trains a spec for each "
                     "trial (myelin train trains one: tune's best_spec.json, say)"};
  }
  const std::int64_t epochs_override = option_integer(args, "--epochs", -1, 0);
  if (epochs_override >= 0) {
    spec.epochs = epochs_override;
    // A schedule whose horizon is the run's length follows it. It is fixed when the run starts:
    // a resume reads it from spec.json, so replayed steps keep their learning rates.
    if (resume.empty() && spec.horizon_follows_epochs &&
        spec.schedule.kind == LrSchedule::Kind::kCosine) {
      spec.schedule.cosine_epochs = std::max<std::int64_t>(1, spec.epochs);
    }
  }
  const std::string device_override = option(args, "--device", "");
  if (!device_override.empty()) spec.device = device_override;
  const std::int64_t limit = option_integer(args, "--limit", -1, 0);
  if (limit >= 0) {
    if (!resume.empty()) throw UsageError{"--limit cannot change the data of a run being resumed"};
    spec.data.limit = limit;
  }
  const std::int64_t dev_size = option_integer(args, "--dev-size", -1, 0);
  if (dev_size >= 0) {
    if (!resume.empty()) {
      throw UsageError{"--dev-size cannot change the data of a run being resumed"};
    }
    spec.data.dev_size = dev_size;
  }
  // Transfer learning: what starts from another checkpoint, what starts fresh, what stays fixed.
  const std::string init = option(args, "--init", "");
  const std::vector<std::int64_t> reinit = layer_list(args, "--reinit");
  const std::string refit = option(args, "--refit-normalization", "");
  if (!refit.empty() && refit != "on" && refit != "off") {
    throw UsageError{"--refit-normalization takes on or off, not '" + refit + "'"};
  }
  if (init.empty() && (!reinit.empty() || !refit.empty())) {
    throw UsageError{
        "--reinit and --refit-normalization go with --init (the checkpoint to start "
        "from)"};
  }
  if (!resume.empty()) {
    for (const char* name : {"--init", "--freeze", "--frozen-batch-norm"}) {
      if (!option(args, name, "").empty()) {
        throw UsageError{std::string(name) + " starts a run: a resumed run keeps its own (" +
                         run_dir + "/spec.json)"};
      }
    }
  }
  if (!option(args, "--freeze", "").empty()) spec.freeze = layer_list(args, "--freeze");
  const std::string frozen_bn = option(args, "--frozen-batch-norm", "");
  if (!frozen_bn.empty()) spec.frozen_batch_norm = frozen_bn;
  const std::int64_t stop_after = option_integer(args, "--stop-after", 0, 1);
  // A run killed before its first checkpoint has none: resuming it starts it from the beginning
  // (its data order and masks are pure functions of the seed, so it ends as it would have).
  const CheckpointFiles checkpoint =
      resume.empty() ? CheckpointFiles{} : committed_checkpoint(run_dir);
  const bool has_checkpoint = checkpoint.present();
  const bool fresh = resume.empty() || !has_checkpoint;
  if (has_checkpoint) {
    check_resumable(run_dir, checkpoint.model, spec);
    describe_extension(run_dir, checkpoint.model, spec);
  }
  // The options are checked as the spec's fields are: the spec.json this run writes (and a
  // resume reads) must be one the reader accepts.
  try {
    spec = parse_model_spec(model_spec_json(spec), spec_source + " with the command-line options");
  } catch (const SpecError& e) {
    throw UsageError{e.what()};
  }
  if (run_dir.empty()) {
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
    run_dir = std::string("runs/") + stamp;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (resume.empty() && fs::exists(run_dir, ec) && !fs::is_directory(run_dir, ec)) {
    throw UsageError{run_dir + " exists and is not a directory (choose another --out)"};
  }
  if (resume.empty() && fs::exists(run_dir, ec) && !fs::is_empty(run_dir, ec)) {
    throw UsageError{"run directory " + run_dir +
                     " exists and is not empty (continue it with --resume " + run_dir +
                     ", or choose another --out)"};
  }
  for (fs::path p = fs::path(run_dir).parent_path(); !p.empty(); p = p.parent_path()) {
    if (fs::exists(p, ec)) {
      if (!fs::is_directory(p, ec)) {
        throw UsageError{run_dir + ": " + p.string() + " is a file, not a directory"};
      }
      break;
    }
    if (p == p.parent_path()) break;
  }

  std::printf("loading data (%s)\n", spec.data.format.c_str());
  const DataSplits data = load_data(spec.data, spec.seed, /*with_test=*/false, spec.task);
  SequentialModel model;
  try {
    model = build_model(spec, data.features, spec.batch_size);
  } catch (const SpecError& e) {
    throw UsageError{spec_source + ": " + e.what()};
  }
  if (spec.task == Task::kClassification && data.classes > model.classes) {
    throw UsageError{spec_source + ": the last layer has " + std::to_string(model.classes) +
                     " outputs, but the labels go up to " + std::to_string(data.classes - 1)};
  }
  if (spec.task != Task::kClassification && data.classes != model.classes) {
    throw UsageError{spec_source + ": the last layer has " + std::to_string(model.classes) +
                     " outputs, but the data has " + std::to_string(data.classes) + " " +
                     (spec.task == Task::kMultiLabel ? "labels" : "targets") + " per row (a " +
                     task_name(spec.task) + " model has one output for each)"};
  }
  check_labels(data.dev, model.classes, "dev split");
  std::string device_note;
  const Device device = choose_device(spec.device, device_note);

  Normalization norm;
  std::map<std::string, std::string> loaded;
  Optimizer optimizer(spec.optimizer);
  TrainPosition position;
  if (has_checkpoint) {
    loaded = load_model(checkpoint.model, model);
    position = load_training_state(checkpoint.optimizer, optimizer);
    if (spec.data.normalize)
      norm = Normalization::from_json(loaded["normalization"], checkpoint.model);
  } else if (!init.empty()) {
    for (std::int64_t layer : reinit) {
      if (layer >= static_cast<std::int64_t>(spec.layers.size())) {
        throw UsageError{"--reinit " + std::to_string(layer) + ": the model has " +
                         std::to_string(spec.layers.size()) + " layers"};
      }
    }
    const InitReport report = load_matching(init, model, reinit);
    std::printf("--init %s: loaded %zu tensors:", init.c_str(), report.loaded.size());
    for (const std::string& name : report.loaded) std::printf(" %s", name.c_str());
    std::printf("\n");
    for (const auto& [name, why] : report.fresh) {
      std::printf("  %s starts from the spec's initialiser (%s)\n", name.c_str(), why.c_str());
    }
    for (const std::string& name : report.unused) {
      std::printf("  %s of the file is not used (the model has no such tensor)\n", name.c_str());
    }
    // Layers trained on the checkpoint's inputs see them scaled as in its training.
    const auto saved = report.metadata.find("normalization");
    if (!spec.data.normalize) {
    } else if (refit == "on") {
      norm = fit_normalization(data.train.features);
      std::printf("normalisation: refitted on this training split (--refit-normalization on)\n");
    } else if (saved == report.metadata.end()) {
      norm = fit_normalization(data.train.features);
      std::printf(
          "normalisation: %s has none (a checkpoint written by PyTorch?), so it is fitted "
          "on this training split\n",
          init.c_str());
    } else {
      norm = Normalization::from_json(saved->second, init);
      if (static_cast<std::int64_t>(norm.mean.size()) != data.features) {
        throw UsageError{init + ": its normalisation has " + std::to_string(norm.mean.size()) +
                         " features, the data " + std::to_string(data.features) +
                         " (--refit-normalization on fits it to this data)"};
      }
      std::printf(
          "normalisation: the checkpoint's, as its layers were trained with "
          "(--refit-normalization on fits it to this data instead)\n");
    }
  } else if (spec.data.normalize) {
    norm = fit_normalization(data.train.features);
  }
  std::printf("%s", model_summary(spec, model).c_str());

  TrainOptions train = train_options(spec, device);
  if (!device.is_cuda() && !option(args, "--cuda-graphs", "").empty()) {
    throw UsageError{"--cuda-graphs applies to a CUDA device, and this run trains on " +
                     device.str()};
  }
  train.cuda_graphs = graphs_option == "on";
  Trainer trainer(model.graph, model.loss, optimizer, train);
  trainer.set_position(position);
  SplitSource train_source(data.train, norm, model.input, model.labels, model.mask);

  // Every input is checked: the run directory is written now, all at once.
  std::string metrics_header = "epoch";
  const bool has_train_dev = data.train_dev.rows() > 0;
  for (const char* split : {"train", "train_dev", "dev"}) {
    if (std::string(split) == "train_dev" && !has_train_dev) continue;
    metrics_header += std::string(",") + split + "_loss";
    for (const std::string& name : headline_names(spec.task)) {
      metrics_header += std::string(",") + split + "_" + name;
    }
  }
  metrics_header += ",lr,seconds,samples_per_second\n";
  if (resume.empty()) {
    create_run_directory(run_dir, {{"spec.json", model_spec_json(spec)},
                                   {"metrics.csv", metrics_header},
                                   {"steps.jsonl", ""},
                                   {"diagnostics.jsonl", ""}});
  } else {
    tidy_run_directory(run_dir);
    if (fresh) {
      std::printf("no checkpoint in %s yet: starting from the beginning\n", run_dir.c_str());
      write_file_atomically(run_dir + "/spec.json", model_spec_json(spec));
      write_file_atomically(run_dir + "/metrics.csv", metrics_header);
      write_file_atomically(run_dir + "/steps.jsonl", "");
      write_file_atomically(run_dir + "/diagnostics.jsonl", "");
    } else {
      // Lines logged after the checkpoint (by a run killed before its next one) are logged again
      // as training repeats those updates: the logs go back to where the checkpoint left them.
      for (const char* log : {"steps.jsonl", "metrics.csv", "diagnostics.jsonl"}) {
        const std::string key = std::string(log).substr(0, std::string(log).find('.')) + "_bytes";
        const auto length = loaded.find(key);
        if (length == loaded.end()) continue;
        if (!cut_log(run_dir + "/" + log, std::stoull(length->second))) {
          std::fprintf(stderr, "warning: %s/%s is shorter than at the checkpoint\n",
                       run_dir.c_str(), log);
        }
      }
    }
  }
  RunLog steps(run_dir + "/steps.jsonl");
  RunLog metrics(run_dir + "/metrics.csv");
  RunLog diagnostics_log(run_dir + "/diagnostics.jsonl");

  const std::string train_dev_rows =
      has_train_dev ? std::to_string(data.train_dev.rows()) + " train-dev rows, " : "";
  std::printf(
      "training on %s (%s): %s, %lld training rows, %s%lld dev rows, %lld features, "
      "%lld %s\n",
      device.str().c_str(), device_note.c_str(), task_name(spec.task),
      static_cast<long long>(data.train.rows()), train_dev_rows.c_str(),
      static_cast<long long>(data.dev.rows()), static_cast<long long>(data.features),
      static_cast<long long>(model.classes),
      spec.task == Task::kClassification ? "classes"
      : spec.task == Task::kMultiLabel   ? "labels"
                                         : "targets");
  if (position.epoch > 0 || position.batch > 0) {
    std::printf("resuming at epoch %lld, batch %lld\n", static_cast<long long>(position.epoch + 1),
                static_cast<long long>(position.batch));
  }

  const bool terminal = isatty(STDOUT_FILENO) != 0;
  Progress progress(terminal);
  const std::map<std::string, std::string> meta = {{"normalization", norm.to_json()},
                                                   {"spec", model_spec_json(spec)}};
  // The best model by the dev metric, and the epochs since it: kept in the checkpoint's metadata,
  // so that a resumed run goes on counting.
  BestModel best(spec.early_stopping.metric, loaded);
  auto save = [&](bool best_now) {
    const TrainPosition& p = trainer.position();
    // The logs' lengths at this checkpoint: a resume cuts what was logged after it.
    std::map<std::string, std::string> checkpoint_meta = meta;
    checkpoint_meta["steps_bytes"] = std::to_string(steps.sync());
    checkpoint_meta["metrics_bytes"] = std::to_string(metrics.sync());
    checkpoint_meta["diagnostics_bytes"] = std::to_string(diagnostics_log.sync());
    best.describe(checkpoint_meta);
    commit_checkpoint(run_dir, [&](const std::string& directory) {
      save_model(directory + "/model.safetensors", model, &trainer.executor(), optimizer.steps(),
                 p.epoch, checkpoint_meta);
      save_training_state(directory + "/optimizer.safetensors", optimizer, p);
      if (best_now)
        copy_model_file(directory + "/model.safetensors", directory + "/best.safetensors");
    });
  };
  bool stopped_early = false;
  int nonfinite_named = 0;
  trainer.on_step = [&](const StepInfo& s) {
    steps.append(
        "{\"step\": " + std::to_string(s.step) + ", \"epoch\": " + std::to_string(s.epoch + 1) +
        ", \"batch\": " + std::to_string(s.batch) + ", \"loss\": " + json_number(s.loss, 9) +
        ", \"grad_norm\": " + json_number(s.grad_norm, 9) + ", \"lr\": " + json_number(s.lr, 9) +
        ", \"samples_per_second\": " + json_number(s.samples_per_second, 6) +
        ", \"skipped\": " + (s.skipped ? "true" : "false") + "}\n");
    // The first few non-finite steps are named as they happen; the epoch lines count them all.
    if (!s.finite() && spec.on_nonfinite == "skip" && ++nonfinite_named <= 5) {
      progress.end_line();
      std::printf(
          "step %lld: %s%s\n", static_cast<long long>(s.step),
          std::isfinite(s.loss) ? "the gradient norm is not finite" : "the loss is not finite",
          s.skipped ? ": the update is skipped" : " (the gradient is: the update ran)");
    }
    progress.step(s, spec.epochs);
    if (!terminal && (s.batch + 1) % std::max<std::int64_t>(1, s.batches_per_epoch / 4) == 0 &&
        s.batch + 1 != s.batches_per_epoch) {
      std::printf("epoch %lld/%lld step %lld/%lld loss %s %.0f samples/s\n",
                  static_cast<long long>(s.epoch + 1), static_cast<long long>(spec.epochs),
                  static_cast<long long>(s.batch + 1), static_cast<long long>(s.batches_per_epoch),
                  shown_number(progress.mean_loss()).c_str(), s.samples_per_second);
      std::fflush(stdout);
    }
    if (g_interrupted) trainer.request_stop();
  };
  // Exactly: a stop requested from the step callback would come one update late on a device.
  trainer.stop_after_updates(stop_after);
  // Diagnostics: a line per diagnostic step, and each kind of warning on the screen the first
  // time it shows.
  Diagnostics previous_diagnostics;
  bool has_previous = false;
  std::set<std::string> warned;
  trainer.on_diagnostics = [&](const Diagnostics& d) {
    const std::vector<DiagnosticWarning> warnings =
        diagnostic_warnings(d, has_previous ? &previous_diagnostics : nullptr);
    diagnostics_log.append(diagnostics_json(d, warnings));
    for (const DiagnosticWarning& w : warnings) {
      if (!warned.insert(w.kind).second) continue;
      progress.end_line();
      std::printf("warning at step %lld: %s\n", static_cast<long long>(d.step), w.message.c_str());
    }
    previous_diagnostics = d;
    has_previous = true;
  };
  trainer.on_epoch = [&](const EpochInfo& e) {
    const SplitResult train_eval =
        evaluate_split(trainer.executor(), model, data.train, norm, spec.batch_size, 10000);
    const SplitResult dev =
        evaluate_split(trainer.executor(), model, data.dev, norm, spec.batch_size);
    progress.end_line();
    std::string text, row = std::to_string(e.epoch + 1);
    char field[64];
    auto add = [&](const char* split, double loss, const SplitResult& r) {
      text += std::string("  ") + split + " loss " + shown_number(loss);
      row += "," + csv_number(loss, "%.6f");
      for (const auto& [name, value] : r.headline()) {
        text += " " + name + " " + shown_number(value);
        row += "," + csv_number(value, "%.6f");
      }
    };
    add("train", e.loss, train_eval);
    if (has_train_dev) {
      const SplitResult train_dev =
          evaluate_split(trainer.executor(), model, data.train_dev, norm, spec.batch_size);
      add("train-dev", train_dev.loss, train_dev);
    }
    add("dev", dev.loss, dev);
    if (e.nonfinite_steps > 0) {
      std::snprintf(field, sizeof field, "  %lld non-finite steps",
                    static_cast<long long>(e.nonfinite_steps));
      text += field;
    }
    std::printf("epoch %lld/%lld%s  lr %.3g  %.1f s  %.0f samples/s\n",
                static_cast<long long>(e.epoch + 1), static_cast<long long>(spec.epochs),
                text.c_str(), optimizer.lr("weights"), e.seconds, e.samples_per_second);
    std::fflush(stdout);
    std::snprintf(field, sizeof field, ",%.6g,%.3f,%.1f\n", optimizer.lr("weights"), e.seconds,
                  e.samples_per_second);
    row += field;
    metrics.append(row);
    const double value = best.metric() == "dev_loss"
                             ? dev.loss
                             : dev.headline_value(best.metric().substr(std::strlen("dev_")));
    const bool improved = best.update(value, e.epoch + 1, spec.early_stopping.min_delta);
    save(improved);
    if (spec.early_stopping.enabled && best.bad_epochs() >= spec.early_stopping.patience &&
        e.epoch + 1 < spec.epochs) {
      stopped_early = true;
      trainer.request_stop();
    }
  };

  std::signal(SIGINT, on_interrupt);
  try {
    trainer.fit(train_source);
  } catch (const NonFiniteError& e) {
    std::signal(SIGINT, SIG_DFL);
    progress.end_line();
    std::fprintf(stderr, "myelin train: error: %s\n%s", e.what(), divergence_advice(spec).c_str());
    // The weights are those of the last finite update; a checkpoint of them lets the run be
    // examined (myelin eval) or continued with another policy. One that is not finite is not
    // written (save_model refuses it): the last checkpoint stays.
    try {
      save(false);
      std::fprintf(stderr, "the last finite weights are saved in %s (epoch %lld, batch %lld)\n",
                   run_dir.c_str(), static_cast<long long>(trainer.position().epoch + 1),
                   static_cast<long long>(trainer.position().batch));
    } catch (const Error& not_saved) {
      const CheckpointFiles kept = committed_checkpoint(run_dir);
      std::fprintf(stderr, "%s\n%s\n", not_saved.what(),
                   kept.present() ? ("the last checkpoint stays in " + run_dir).c_str()
                                  : "the run has no checkpoint");
    }
    return 1;
  }
  std::signal(SIGINT, SIG_DFL);
  progress.end_line();
  const bool stopped_by_request = stop_after > 0 && optimizer.steps() >= stop_after;
  const TrainPosition& p = trainer.position();
  if (stopped_early) {
    std::printf(
        "early stopping after epoch %lld: %s has not improved by more than %g for %lld epochs; "
        "the best, %s at epoch %lld, is in %s/best.safetensors (myelin eval %s --checkpoint "
        "best)\n",
        static_cast<long long>(p.epoch), best.metric().c_str(), spec.early_stopping.min_delta,
        static_cast<long long>(best.bad_epochs()), shown_number(best.value()).c_str(),
        static_cast<long long>(best.epoch()), run_dir.c_str(), run_dir.c_str());
    return 0;
  }
  if (p.epoch < spec.epochs) {
    save(false);
    std::printf(
        "%s at epoch %lld, batch %lld: checkpoint saved in %s; continue with: myelin train "
        "--resume %s\n",
        g_interrupted ? "interrupted" : "stopped", static_cast<long long>(p.epoch + 1),
        static_cast<long long>(p.batch), run_dir.c_str(), run_dir.c_str());
    return g_interrupted && !stopped_by_request ? 130 : 0;
  }
  if (spec.epochs == 0) {  // no epoch ended, so no checkpoint yet: write the initial model
    save(false);
    std::printf(
        "done: 0 epochs; the initial (untrained) model is in %s/model.safetensors; test it with: "
        "myelin eval %s\n",
        run_dir.c_str(), run_dir.c_str());
    return 0;
  }
  if (p.nonfinite_steps > 0) {
    std::printf("%lld non-finite steps in the run (max_skipped %lld): their updates were skipped\n",
                static_cast<long long>(p.nonfinite_steps),
                static_cast<long long>(spec.max_skipped));
  }
  if (best.epoch() > 0) {
    std::printf(
        "the best %s, %s at epoch %lld, is in %s/best.safetensors (myelin eval %s --checkpoint "
        "best)\n",
        best.metric().c_str(), shown_number(best.value()).c_str(),
        static_cast<long long>(best.epoch()), run_dir.c_str(), run_dir.c_str());
  }
  std::printf(
      "done: %lld epochs; the model is in %s/model.safetensors; test it with: myelin eval %s\n",
      static_cast<long long>(spec.epochs), run_dir.c_str(), run_dir.c_str());
  return 0;
}

}  // namespace myelin::cli
