// myelin predict RUN_DIR --input FILE --out FILE.npy: the model's outputs for new rows (IDX, .npy
// or CSV features), normalised with the run's own statistics, in eval mode.
#include <cmath>
#include <cstdio>

#include "commands.hpp"
#include "session.hpp"

namespace myelin::cli {

namespace {

bool ends_with(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

// The rows of FILE as float32 [N, features]. A CSV may hold the run's label columns too (a file
// laid out as the training CSV): those are left out.
Tensor read_inputs(const std::string& path, const ModelSpec& spec, std::int64_t features) {
  Tensor x;
  if (ends_with(path, ".csv")) {
    const CsvTable table = read_csv(path);
    const std::int64_t cols = table.values.shape()[1];
    const std::int64_t labels =
        spec.task == Task::kClassification
            ? 1
            : std::max<std::int64_t>(1, static_cast<std::int64_t>(spec.data.label_columns.size()));
    if (cols == features) {
      x = table.values;
    } else if (spec.data.format == "csv" && cols == features + labels) {
      DataSpec layout = spec.data;
      layout.train_csv = path;
      layout.dev_size = 0;
      layout.limit = 0;
      // Read as the training file is, for the same columns; the labels are not used.
      x = load_data(layout, 0, false, spec.task).train.features;
    } else {
      fail(path, ": has ", cols, " columns; the model takes ", features, " features",
           spec.data.format == "csv" ? " (or the training CSV's layout with its label columns)"
                                     : "");
    }
  } else {
    x = ends_with(path, ".npy") ? read_npy(path) : read_idx(path);
    if (x.shape().rank() < 1) fail(path, ": expected rows of features, got a scalar");
    std::int64_t f = 1;
    for (int a = 1; a < x.shape().rank(); ++a) f *= x.shape()[a];
    x = x.reshaped(Shape{x.shape()[0], f});
    if (f != features) {
      fail(path, ": has ", f, " features per row; the model takes ", features);
    }
  }
  x = x.to(DType::kFloat32);
  const float* v = x.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    if (!std::isfinite(v[i])) {
      fail(path, ": row ", i / features, ", column ", i % features, ": ", v[i],
           " is not a finite number");
    }
  }
  return x;
}

}  // namespace

int run_predict(const Args& args) {
  const char* usage =
      "usage: myelin predict RUN_DIR --input FILE --out FILE.npy [--output "
      "logits|probabilities|classes|values] [--checkpoint FILE] [--device D]";
  if (args.empty() || args[0].rfind("--", 0) == 0) throw UsageError{usage};
  const std::string run_dir = args[0];
  const Args rest(args.begin() + 1, args.end());
  check_options(rest, {"--input", "--out", "--output", "--checkpoint", "--device"});
  const std::string input = option(rest, "--input", "");
  const std::string out = option(rest, "--out", "");
  if (input.empty() || out.empty())
    throw UsageError{std::string("--input and --out are needed; ") + usage};
  if (!ends_with(out, ".npy")) throw UsageError{"--out writes a .npy file: " + out};
  const std::string checkpoint = option(rest, "--checkpoint", run_dir + "/model.safetensors");

  ModelSpec spec;
  try {
    spec = read_model_spec(run_dir + "/spec.json");
  } catch (const SpecError& e) {
    throw UsageError{e.what()};
  }
  const std::string fallback_output = spec.task == Task::kClassification ? "classes"
                                      : spec.task == Task::kMultiLabel   ? "probabilities"
                                                                         : "values";
  const std::string output = option(rest, "--output", fallback_output);
  const std::vector<std::string> outputs =
      spec.task == Task::kRegression
          ? std::vector<std::string>{"values"}
          : std::vector<std::string>{"logits", "probabilities", "classes"};
  bool known = false;
  for (const std::string& o : outputs) known = known || o == output;
  if (!known) {
    std::string list;
    for (const std::string& o : outputs) list += (list.empty() ? "" : ", ") + o;
    throw UsageError{"--output " + output + ": a " + task_name(spec.task) + " model writes " +
                     list};
  }
  const std::string device_override = option(rest, "--device", "");
  if (!device_override.empty()) spec.device = device_override;

  // The model's sizes come from the checkpoint: its first weight's columns are the features.
  const std::int64_t features = checkpoint_features(checkpoint, spec);
  SequentialModel model = build_model(spec, features, spec.batch_size);
  const std::map<std::string, std::string> meta = load_model(checkpoint, model);
  // The training split is read only when the checkpoint lacks the normalisation statistics.
  const Normalization norm =
      spec.data.normalize && meta.find("normalization") == meta.end()
          ? checkpoint_normalization(
                meta, checkpoint, spec,
                load_data(spec.data, spec.seed, /*with_test=*/false, spec.task).train)
          : checkpoint_normalization(meta, checkpoint, spec, Split{});

  Tensor x = read_inputs(input, spec, features);
  if (norm.enabled()) {
    float* v = x.data<float>();
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const auto c = static_cast<std::size_t>(i % features);
      v[i] = (v[i] - norm.mean[c]) / norm.stddev[c];
    }
  }
  std::string note;
  ExecutorOptions options;
  options.device = choose_device(spec.device, note);
  const Tensor logits =
      predict(model.graph, model.logits, {{model.input, x}}, options, spec.batch_size);
  const std::int64_t rows = logits.shape()[0], k = logits.shape()[1];
  Tensor result = logits;
  if (output == "classes" && spec.task == Task::kClassification) {
    result = predicted_classes(logits);
  } else if (output == "classes" || output == "probabilities") {
    result = Tensor::empty(logits.shape(), output == "classes" ? DType::kInt64 : DType::kFloat32);
    const float* z = logits.data<float>();
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* row = z + r * k;
      if (spec.task == Task::kMultiLabel) {
        for (std::int64_t j = 0; j < k; ++j) {
          if (output == "classes") {
            result.data<std::int64_t>()[r * k + j] = row[j] >= 0.0f ? 1 : 0;
          } else {
            result.data<float>()[r * k + j] =
                static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(row[j]))));
          }
        }
      } else {  // softmax, in double
        double top = row[0], sum = 0.0;
        for (std::int64_t j = 1; j < k; ++j) top = std::max(top, static_cast<double>(row[j]));
        for (std::int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(row[j]) - top);
        for (std::int64_t j = 0; j < k; ++j) {
          result.data<float>()[r * k + j] =
              static_cast<float>(std::exp(static_cast<double>(row[j]) - top) / sum);
        }
      }
    }
  }
  write_npy(out, result);
  std::printf("%s of %lld rows (%s) written to %s: %s %s, on %s\n", output.c_str(),
              static_cast<long long>(rows), input.c_str(), out.c_str(), dtype_name(result.dtype()),
              result.shape().str().c_str(), options.device.str().c_str());
  return 0;
}

}  // namespace myelin::cli
