#pragma once

// What `myelin train`, `eval` and `gradcheck` share: choosing the device, loading a run's spec
// and data, and evaluating a split.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "myelin/app.hpp"

namespace myelin::cli {

// "auto" picks the first GPU when one is usable, else the CPU; `note` says which and why.
Device choose_device(const std::string& requested, std::string& note);

// The metrics of a split for the model's task: a confusion matrix (classification), per-label
// scores (multi_label) or per-target errors (regression).
struct SplitResult {
  Task task = Task::kClassification;
  std::int64_t rows = 0;
  double loss = 0.0;
  ConfusionMatrix confusion{1};
  std::optional<MultiLabelMetrics> multi_label;
  std::optional<RegressionMetrics> regression;
  Tensor outputs;  // the logits or predictions of every row [rows, classes]

  // The task's error, for bias and variance: 1 - accuracy; 1 - macro accuracy (the share of
  // wrong label decisions); RMSE (in the targets' units).
  double error() const;
  // The headline metrics, in metrics.csv's order: accuracy; macro ROC AUC and macro F1; R² and
  // RMSE.
  std::vector<std::pair<std::string, double>> headline() const;
  double headline_value(const std::string& name) const;  // one of headline() by name
  // The full report (per class, label or target).
  std::string report(const std::vector<std::string>& names) const;
};

// The names of headline(), without a split.
std::vector<std::string> headline_names(Task task);

// The metrics of a split in eval mode (at most `limit` rows; 0: all), through an executor that
// computes the model's loss and logits (myelin::evaluate).
SplitResult evaluate_split(Executor& executor, const SequentialModel& model, const Split& split,
                           const Normalization& normalization, std::int64_t batch_size,
                           std::int64_t limit = 0);

// The normalisation a checkpoint was trained with (none when the spec does not normalise). A
// checkpoint without it (written by PyTorch, say) gets one fitted on the run's training split,
// with a message on stdout.
Normalization checkpoint_normalization(const std::map<std::string, std::string>& metadata,
                                       const std::string& checkpoint, const ModelSpec& spec,
                                       const Split& train);

// A run's checkpoint, ready to evaluate: the run's spec and data, the model holding the
// checkpoint's weights, and an executor computing its loss and logits.
struct OpenedRun {
  ModelSpec spec;
  DataSplits data;
  SequentialModel model;
  std::string checkpoint;                       // the file read
  std::map<std::string, std::string> metadata;  // the checkpoint's
  Normalization normalization;
  Device device;
  std::string device_note;  // why this device
  std::unique_ptr<Executor> executor;

  SplitResult evaluate(const Split& split) {
    return evaluate_split(*executor, model, split, normalization, spec.batch_size);
  }
  // The names of the classes, labels or targets (empty when the data names none).
  std::vector<std::string> names() const;
};

// Opens RUN_DIR's checkpoint `which`: last (model.safetensors), best (best.safetensors, the best
// by the dev metric) or a file. `device` overrides the spec's unless empty; the test split is
// read only when `with_test`. Usage errors name the run directory or the file.
std::unique_ptr<OpenedRun> open_run(const std::string& run_dir, const std::string& which,
                                    const std::string& device, bool with_test);

// Names of the Fashion-MNIST classes when the data is Fashion-MNIST, else empty.
std::vector<std::string> class_names(const DataSpec& data, std::int64_t classes);

// Reads a whole text file.
std::string read_text(const std::string& path);

}  // namespace myelin::cli
