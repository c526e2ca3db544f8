#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "myelin/error.hpp"
#include "myelin/export.hpp"
#include "myelin/graph.hpp"
#include "myelin/init.hpp"
#include "myelin/optimizer.hpp"
#include "myelin/schedule.hpp"
#include "myelin/trainer.hpp"

namespace myelin {

// A model spec: a stack of layers (the equivalent of torch.nn.Sequential) with its training
// settings and data, read from JSON (see the README for every field). A bad spec throws
// SpecError naming the field and what was expected.
class MYELIN_API SpecError : public Error {
 public:
  using Error::Error;
  ~SpecError() override;
};

// A layer: "linear", or an op of the op table that maps one tensor to one (batch_norm, dropout,
// the activations, softmax, ...), whose fields are the op's attributes.
struct LayerSpec {
  std::string type;
  // linear
  std::int64_t in = 0;  // optional: checked against the previous layer
  std::int64_t out = 0;
  bool bias = true;
  std::optional<Init> weight_init;  // default: nn.Linear's
  std::optional<Init> bias_init;
  // Every other layer: the op's attributes, complete (defaults filled in by the reader).
  Attrs attrs;
};

// The layer types a spec accepts besides "linear", in op-table order.
MYELIN_API std::vector<std::string> spec_layer_ops();

// What a model learns, which fixes its loss, its labels and its metrics:
//   classification  softmax cross-entropy; one class index per row (labels [N])
//   multi_label     one sigmoid output per label, BCE with logits; labels [N, K] of 0 or 1, NaN
//                   (an empty CSV cell) where a label is missing: masked out of loss and metrics
//   regression      mean squared error; targets [N, K] of finite numbers
enum class Task { kClassification, kMultiLabel, kRegression };
MYELIN_API const char* task_name(Task task);
// The task's headline metrics, as training logs them per split (accuracy; macro_auc and
// macro_f1; r2 and rmse).
MYELIN_API std::vector<std::string> task_metrics(Task task);
// Whether a smaller value of a metric (a loss, an error, "rmse") is the better one.
MYELIN_API bool lower_is_better(const std::string& metric);

// Stopping when a dev metric stops improving, and which checkpoint is the best
// (best.safetensors in a run directory).
struct EarlyStoppingSpec {
  bool enabled = false;             // off: the run trains every epoch; the best is still kept
  std::string metric = "dev_loss";  // dev_loss or dev_<a task metric>
  std::int64_t patience = 5;        // epochs without an improvement before the run stops
  double min_delta = 0.0;           // an improvement is by more than this
};

// A CSV column: by its header name, or by index (negative counts from the end) when name is
// empty.
struct ColumnRef {
  std::string name;
  std::int64_t index = 0;
};

struct DataSpec {
  std::string format = "idx";  // idx, npy or csv
  // idx and npy: feature and label files; csv: one file per split, labels in label_column.
  std::string train_features, train_labels, test_features, test_labels;
  std::string train_csv, test_csv;
  // A dev set from its own files (the distribution the model is meant for, when training data
  // differs): then no dev rows are carved from the training file.
  std::string dev_features, dev_labels, dev_csv;
  std::int64_t label_column = -1;        // csv: negative counts from the end
  std::vector<ColumnRef> label_columns;  // csv: the label (or target) columns, in output order
  std::int64_t dev_size = 5000;          // rows carved from the training file for the dev split
  std::int64_t train_dev_size = 0;       // rows carved from it for train-dev (data mismatch)
  std::int64_t limit = 0;                // use only the first `limit` training rows (0: all)
  bool normalize = true;  // per-feature standardisation, statistics of the train split
  bool has_dev_files() const { return !dev_features.empty() || !dev_csv.empty(); }
};

struct ModelSpec {
  Task task = Task::kClassification;
  std::vector<LayerSpec> layers;
  OptimizerOptions optimizer = OptimizerOptions::adam();
  LrSchedule schedule;
  double clip_norm = 0.0;
  double clip_value = 0.0;
  // A step whose loss or gradient norm is not finite: "stop" the run (the default) or "skip" it,
  // at most max_skipped times in the run (see NonFinitePolicy).
  std::string on_nonfinite = "stop";
  std::int64_t max_skipped = 10;
  EarlyStoppingSpec early_stopping;
  // Steps between training diagnostics (0: off): diagnostics.jsonl and warnings on vanishing or
  // exploding gradients, dead ReLUs and saturated units.
  std::int64_t diagnostics_every = 100;
  // The hyper-parameter ranges myelin tune samples (JSON text; empty: none). myelin train
  // refuses a spec with one: see myelin/app/search.hpp.
  std::string search;
  std::int64_t batch_size = 128;
  std::int64_t epochs = 10;
  std::uint64_t seed = 0;
  std::string device = "auto";  // auto (a GPU when one is usable), cpu, cuda, cuda:N
  DataSpec data;
  // Transfer learning: the layers whose parameters stay fixed, and what their batch norms do:
  // "eval" (normalise with the running statistics and keep them, as module.eval() in PyTorch)
  // or "train" (batch statistics, running statistics updated: requires_grad=False alone).
  std::vector<std::int64_t> freeze;
  std::string frozen_batch_norm = "eval";
  // Set by the reader when the schedule's horizon is the run's length (a cosine schedule whose
  // "epochs" the spec leaves out): an --epochs override then moves it too. Not a spec field.
  bool horizon_follows_epochs = false;
};

// Parses a spec; `source` (a file name) prefixes every error message.
MYELIN_API ModelSpec parse_model_spec(const std::string& json, const std::string& source);
MYELIN_API ModelSpec read_model_spec(const std::string& path);
// The spec as JSON with every field spelled out (what a run directory keeps as spec.json).
MYELIN_API std::string model_spec_json(const ModelSpec& spec);
// A field in which two specs differ: its path ("batch_size", "layers[1].type", "data.dev_size")
// and its two values as JSON text.
struct SpecDifference {
  std::string field;
  std::string before, after;
};
// Every field in which `after` differs from `before`, in field order.
MYELIN_API std::vector<SpecDifference> spec_differences(const ModelSpec& before,
                                                        const ModelSpec& after);
// The default model: an MLP for Fashion-MNIST (see the README for how it was chosen).
MYELIN_API ModelSpec default_model_spec();

// A spec built into a graph. Layer i is node "i"; its parameters and buffers are named as in
// PyTorch's state_dict of the equivalent nn.Sequential ("0.weight", "1.running_mean", ...).
struct MYELIN_API SequentialModel {
  Graph graph;
  Task task = Task::kClassification;
  Value input;   // [batch, features] float32
  Value labels;  // classification: [batch] int64; otherwise [batch, classes] float32 targets
  Value mask;    // multi_label: [batch, classes] float32, 1 where the label is observed
  Value logits;  // [batch, classes]
  Value loss;    // the task's loss
  std::int64_t features = 0;
  // The last layer's width: classes, labels (multi_label) or targets (regression).
  std::int64_t classes = 0;
  // The state_dict entries in PyTorch's order: per layer weight, bias, then batch norm's
  // running_mean, running_var and num_batches_tracked.
  std::vector<std::pair<std::string, Value>> state;

  SequentialModel() = default;
  SequentialModel(SequentialModel&&) = default;
  SequentialModel& operator=(SequentialModel&&) = default;
};

// The training-loop settings of a spec (batch size, epochs, seed, clipping, schedule), for a
// device.
MYELIN_API TrainOptions train_options(const ModelSpec& spec, Device device = Device::cpu());

// Builds the spec for inputs of `features` columns; the last linear layer's width is the number
// of classes (or labels, or targets), and the loss is the task's. The frozen layers' parameters
// are frozen (their batch norms in eval mode unless frozen_batch_norm is "train"); freezing a
// layer without parameters, or every layer with them, is a SpecError. Throws SpecError when the
// layers do not chain or end in a linear layer.
MYELIN_API SequentialModel build_model(const ModelSpec& spec, std::int64_t features,
                                       std::int64_t batch_size);

// A table of the model: per layer its type, output shape, parameters, and whether they train;
// then the totals (as torchinfo's summary).
MYELIN_API std::string model_summary(const ModelSpec& spec, const SequentialModel& model);

}  // namespace myelin
