// myelin eval: the test-set report of a trained run: accuracy, per-class precision, recall and
// F1, macro-F1 (the single-number metric), the confusion matrix for error analysis, and the
// bias/variance line from the training and dev errors.
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "session.hpp"

namespace myelin::cli {

int run_eval(const Args& args) {
  if (args.empty() || args[0].rfind("--", 0) == 0) {
    throw UsageError{
        "usage: myelin eval RUN_DIR [--checkpoint last|best|FILE] [--baseline-error X] "
        "[--device D]"};
  }
  const std::string run_dir = args[0];
  const Args rest(args.begin() + 1, args.end());
  check_options(rest, {"--checkpoint", "--baseline-error", "--device"});
  const double baseline = option_number(rest, "--baseline-error", -1.0);
  std::unique_ptr<OpenedRun> run = open_run(run_dir, option(rest, "--checkpoint", "last"),
                                            option(rest, "--device", ""), /*with_test=*/true);
  const ModelSpec& spec = run->spec;
  const DataSplits& data = run->data;
  const std::map<std::string, std::string>& meta = run->metadata;
  if (spec.task != Task::kRegression && baseline > 1.0) {
    throw UsageError{"--baseline-error is an error rate in [0, 1] for " +
                     std::string(task_name(spec.task))};
  }
  if (!option(rest, "--baseline-error", "").empty() && baseline < 0.0) {
    throw UsageError{"--baseline-error must be >= 0"};
  }
  const SplitResult test = run->evaluate(data.test);
  const SplitResult train = run->evaluate(data.train);
  const SplitResult dev = run->evaluate(data.dev);
  const SplitResult train_dev = run->evaluate(data.train_dev);
  std::printf("evaluating %s on %s (%s)\n", run->checkpoint.c_str(), run->device.str().c_str(),
              run->device_note.c_str());
  if (meta.count("best_metric") != 0 && meta.count("epoch") != 0) {
    std::printf("its epoch %s; the best %s so far was %s at epoch %s\n", meta.at("epoch").c_str(),
                meta.at("best_metric").c_str(), meta.at("best_value").c_str(),
                meta.at("best_epoch").c_str());
  }
  std::printf("\n");
  const std::vector<std::string> names = run->names();
  std::printf("%s %s on the test set (%lld rows)\n%s\n", task_name(spec.task),
              spec.task == Task::kRegression ? "errors" : "scores",
              static_cast<long long>(test.rows), test.report(names).c_str());
  BiasVariance bv;
  bv.train_error = train.error();
  bv.dev_error = dev.error();
  bv.baseline_error = baseline;
  bv.test_error = test.error();
  if (data.train_dev.rows() > 0) bv.train_dev_error = train_dev.error();
  std::printf("%s\n", bias_variance_report(bv).c_str());
  std::printf("test loss %.4f\n", test.loss);
  if (spec.task == Task::kClassification) {
    std::printf("test accuracy %.4f\ntest macro-F1 %.4f\n", test.confusion.accuracy(),
                test.confusion.macro_f1());
  } else {
    for (const auto& [name, value] : test.headline()) {
      std::printf("test %s %.4f\n", name.c_str(), value);
    }
  }
  return 0;
}

int run_gradcheck(const Args& args) {
  if (args.empty() || args[0].rfind("--", 0) == 0) {
    throw UsageError{"usage: myelin gradcheck SPEC.json [--batch N] [--elements N]"};
  }
  const Args rest(args.begin() + 1, args.end());
  check_options(rest, {"--batch", "--elements"});
  // Two rows at least: batch norm needs them.
  const std::int64_t batch = option_integer(rest, "--batch", 8, 2);
  const std::int64_t elements = option_integer(rest, "--elements", 200, 1);
  ModelSpec spec;
  try {
    spec = read_model_spec(args[0]);
  } catch (const SpecError& e) {
    throw UsageError{e.what()};
  }
  spec.data.limit = std::max<std::int64_t>(spec.data.limit == 0 ? 0 : spec.data.limit, 0);
  const DataSplits data = load_data(spec.data, spec.seed, false);
  if (batch > data.train.rows()) {
    throw UsageError{"--batch " + std::to_string(batch) + " is more than the " +
                     std::to_string(data.train.rows()) + " training rows"};
  }
  SequentialModel model = build_model(spec, data.features, batch);
  const Normalization norm =
      spec.data.normalize ? fit_normalization(data.train.features) : Normalization{};
  // The first rows of the training split, normalised as in training.
  SplitSource source(data.train, norm, model.input, model.labels);
  ExecutorOptions capture;
  Executor staging(model.graph, capture);
  std::vector<std::int64_t> rows(static_cast<std::size_t>(batch));
  for (std::int64_t i = 0; i < batch; ++i) rows[static_cast<std::size_t>(i)] = i;
  source.bind(staging, rows.data(), batch);
  const Tensor x = staging.value(model.input).clone();
  const Tensor y = staging.value(model.labels).clone();

  GradcheckOptions options;
  options.max_elements = elements;
  const GradcheckReport report =
      gradcheck(model.graph, model.loss, {{model.input, x}, {model.labels, y}}, options);
  std::printf(
      "gradient check of %s on %lld rows (central differences in double, step %g, at most %lld "
      "elements per tensor)\n%s",
      args[0].c_str(), static_cast<long long>(batch), options.step,
      static_cast<long long>(elements), report.str().c_str());
  const double worst = report.worst_error();
  std::printf("worst scaled error %.3e over %lld checked elements (%lld skipped at kinks): %s\n",
              worst, static_cast<long long>(report.checked()),
              static_cast<long long>(report.skipped()),
              worst < 1e-6 ? "pass" : "FAIL (above 1e-6)");
  return worst < 1e-6 ? 0 : 1;
}

}  // namespace myelin::cli
