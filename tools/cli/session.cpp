#include "session.hpp"

#include "commands.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace myelin::cli {

Device choose_device(const std::string& requested, std::string& note) {
  std::string why;
  if (requested != "auto") {
    const Device d = parse_device(requested);
    if (d.is_cuda()) {
      if (!build_info().cuda) {
        throw UsageError{d.str() +
                         ": this myelin was built without the CUDA backend (build it with "
                         "-DMYELIN_CUDA=ON, or use --device cpu)"};
      }
      const int count = cuda_device_count(&why);
      if (count == 0) throw UsageError{d.str() + ": no usable GPU (" + why + ")"};
      if (d.index >= count) {
        throw UsageError{d.str() + ": there is no such GPU (" + std::to_string(count) +
                         " usable: cuda:0 to cuda:" + std::to_string(count - 1) + ")"};
      }
    }
    note = "as the spec asks";
    return d;
  }
  if (build_info().emulated) {  // a test device: runs kernels on the CPU, far slower
    // MYELIN_EMU_AUTO=cuda: as a build on a real GPU would (the tool's tests run that way).
    const char* emulated_auto = std::getenv("MYELIN_EMU_AUTO");
    if (emulated_auto != nullptr && std::strcmp(emulated_auto, "cuda") == 0 &&
        cuda_device_count(&why) > 0) {
      note = "the emulated device, as MYELIN_EMU_AUTO=cuda asks";
      return Device::cuda(0);
    }
    if (emulated_auto != nullptr && *emulated_auto != '\0' &&
        std::strcmp(emulated_auto, "cuda") != 0 && std::strcmp(emulated_auto, "cpu") != 0) {
      throw UsageError{std::string("MYELIN_EMU_AUTO=") + emulated_auto + ": expected cuda or cpu"};
    }
    note = "the CUDA device is emulated (choose it with --device cuda, or MYELIN_EMU_AUTO=cuda)";
    return Device::cpu();
  }
  if (cuda_device_count(&why) > 0) {
    note = "a GPU is usable";
    return Device::cuda(0);
  }
  note = "no usable GPU: " + why;
  return Device::cpu();
}

double SplitResult::error() const {
  if (multi_label) return multi_label->error();
  if (regression) return regression->error();
  return confusion.error();
}

std::vector<std::string> headline_names(Task task) {
  return task_metrics(task);
}

std::vector<std::pair<std::string, double>> SplitResult::headline() const {
  const std::vector<std::string> names = headline_names(task);
  std::vector<double> values;
  if (multi_label) {
    values = {multi_label->macro().roc_auc, multi_label->macro().f1};
  } else if (regression) {
    values = {regression->overall().r2, regression->overall().rmse};
  } else {
    values = {confusion.accuracy()};
  }
  std::vector<std::pair<std::string, double>> out;
  for (std::size_t i = 0; i < names.size(); ++i) out.emplace_back(names[i], values[i]);
  return out;
}

double SplitResult::headline_value(const std::string& name) const {
  for (const auto& [metric, value] : headline()) {
    if (metric == name) return value;
  }
  fail("no metric '", name, "' for ", task_name(task));
}

std::string SplitResult::report(const std::vector<std::string>& names) const {
  if (multi_label) return multi_label->report(names);
  if (regression) return regression->report(names);
  return confusion.report(names);
}

SplitResult evaluate_split(Executor& executor, const SequentialModel& model, const Split& split,
                           const Normalization& normalization, std::int64_t batch_size,
                           std::int64_t limit) {
  SplitResult result;
  result.task = model.task;
  result.confusion = ConfusionMatrix(model.classes);
  if (split.rows() == 0) return result;  // an empty dev split (dev_size 0)
  SplitSource source(split, normalization, model.input, model.labels, model.mask);
  EvaluateOptions options;
  options.batch_size = batch_size;
  options.limit = limit;
  options.outputs = model.logits;
  if (model.task == Task::kClassification) {
    options.logits = model.logits;
    options.labels = model.labels;
  }
  const Evaluation evaluation = evaluate(executor, model.loss, source, options);
  result.rows = evaluation.rows;
  result.loss = evaluation.loss;
  result.outputs = evaluation.outputs;
  if (model.task == Task::kClassification) {
    result.confusion.add_predictions(evaluation.predictions, evaluation.labels);
    return result;
  }
  // The labels of the rows evaluated (the first `rows`), as the metrics take them.
  Tensor labels = split.labels;
  if (evaluation.rows != split.rows()) {
    labels = Tensor::empty(Shape{evaluation.rows, split.labels.shape()[1]}, DType::kFloat32);
    std::memcpy(labels.raw(), split.labels.raw(), labels.nbytes());
  }
  if (model.task == Task::kMultiLabel) {
    result.multi_label.emplace(evaluation.outputs, labels);
    result.loss = result.multi_label->loss();  // over observed entries, not weighted by batch
  } else {
    result.regression.emplace(evaluation.outputs, labels);
    result.loss = result.regression->overall().mse;
  }
  return result;
}

Normalization checkpoint_normalization(const std::map<std::string, std::string>& metadata,
                                       const std::string& checkpoint, const ModelSpec& spec,
                                       const Split& train) {
  if (!spec.data.normalize) return {};
  const auto it = metadata.find("normalization");
  if (it != metadata.end()) return Normalization::from_json(it->second, checkpoint);
  std::printf(
      "%s has no normalisation statistics (a checkpoint written by PyTorch?): fitted on "
      "the training split\n",
      checkpoint.c_str());
  return fit_normalization(train.features);
}

std::unique_ptr<OpenedRun> open_run(const std::string& run_dir, const std::string& which,
                                    const std::string& device, bool with_test) {
  const bool best = which == "best";
  auto run = std::make_unique<OpenedRun>();
  run->checkpoint = which == "last" ? run_dir + "/model.safetensors"
                    : best          ? run_dir + "/best.safetensors"
                                    : which;
  if (best && !std::filesystem::exists(run->checkpoint)) {
    throw UsageError{run_dir +
                     " has no best.safetensors: it is written at the end of an epoch "
                     "whose dev metric is finite and the best so far"};
  }
  try {
    run->spec = read_model_spec(run_dir + "/spec.json");
  } catch (const SpecError& e) {
    throw UsageError{e.what()};
  }
  ModelSpec& spec = run->spec;
  if (!device.empty()) spec.device = device;
  run->data = load_data(spec.data, spec.seed, with_test, spec.task);
  run->model = build_model(spec, run->data.features, spec.batch_size);
  run->metadata = load_model(run->checkpoint, run->model);
  run->normalization =
      checkpoint_normalization(run->metadata, run->checkpoint, spec, run->data.train);
  if (with_test) check_labels(run->data.test, run->model.classes, "test set");
  ExecutorOptions options;
  run->device = choose_device(spec.device, run->device_note);
  options.device = run->device;
  options.outputs = {run->model.loss, run->model.logits};
  run->executor = std::make_unique<Executor>(run->model.graph, options);
  return run;
}

std::vector<std::string> OpenedRun::names() const {
  return spec.task == Task::kClassification ? class_names(spec.data, model.classes)
                                            : data.label_names;
}

std::vector<std::string> class_names(const DataSpec& data, std::int64_t classes) {
  if (classes == 10 && data.train_features.find("fashion-mnist") != std::string::npos) {
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  }
  return {};
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace myelin::cli
