// Model specs: every bad spec gets one clear error naming the field and what was expected.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "myelin/app.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

std::string spec_error(const std::string& json) {
  try {
    parse_model_spec(json, "spec.json");
  } catch (const SpecError& e) {
    return e.what();
  }
  return "";
}

TEST(Spec, ParsesLayersOptimizerScheduleAndData) {
  const ModelSpec s = parse_model_spec(R"({
    "layers": [{"type": "linear", "out": 32, "init": "kaiming_normal"},
               {"type": "leaky_relu", "negative_slope": 0.2},
               {"type": "dropout", "p": 0.1},
               {"type": "linear", "out": 3, "bias": false}],
    "optimizer": {"type": "sgd", "lr": 0.05, "l2": 0.001},
    "schedule": {"type": "step", "step_epochs": 2, "gamma": 0.5, "warmup_steps": 10},
    "clip_norm": 5, "batch_size": 64, "epochs": 3, "seed": 7, "device": "cpu",
    "data": {"format": "csv", "train_csv": "train.csv", "dev_size": 100}
  })",
                                       "spec.json");
  ASSERT_EQ(s.layers.size(), 4u);
  EXPECT_EQ(s.layers[0].weight_init->kind, Init::Kind::kKaimingNormal);
  EXPECT_EQ(s.layers[1].attrs.get_float("negative_slope"), 0.2);
  EXPECT_FALSE(s.layers[3].bias);
  EXPECT_EQ(s.optimizer.kind, OptimizerKind::kSgd);
  EXPECT_EQ(s.optimizer.l2, 0.001);
  EXPECT_EQ(s.schedule.kind, LrSchedule::Kind::kStep);
  EXPECT_EQ(s.schedule.warmup_steps, 10);
  EXPECT_EQ(s.clip_norm, 5.0);
  EXPECT_EQ(s.data.format, "csv");
  // The spec written back parses to the same settings.
  const ModelSpec again = parse_model_spec(model_spec_json(s), "again.json");
  EXPECT_EQ(model_spec_json(again), model_spec_json(s));
}

TEST(Spec, EveryKindOfMistakeIsNamed) {
  EXPECT_NE(spec_error("{\"epochs\": 3,\n \"batch_size\": }").find("spec.json:2:"),
            std::string::npos)
      << spec_error("{\"epochs\": 3,\n \"batch_size\": }");
  EXPECT_NE(spec_error("{\"epochs\": 3,\n \"batch_size\": }").find("malformed JSON"),
            std::string::npos);
  std::string m = spec_error(R"({"epocs": 3})");
  EXPECT_NE(m.find("epocs: unknown field (did you mean 'epochs'?)"), std::string::npos) << m;
  m = spec_error(R"({"layers": [{"type": "linear", "outt": 3}]})");
  EXPECT_NE(m.find("layers[0].outt: unknown field (did you mean 'out'?)"), std::string::npos) << m;
  m = spec_error(R"({"epochs": "ten"})");
  EXPECT_NE(m.find("epochs: expected an integer"), std::string::npos) << m;
  m = spec_error(R"({"layers": [{"type": "dropout", "p": 1.5}, {"type": "linear", "out": 2}]})");
  EXPECT_NE(m.find("layers[0].p: expected a number in [0, 1), got 1.5"), std::string::npos) << m;
  // p = 1 zeroes every element and scales by 1 / (1 - p): no signal, and a division by zero.
  m = spec_error(R"({"layers": [{"type": "dropout", "p": 1.0}, {"type": "linear", "out": 2}]})");
  EXPECT_NE(m.find("layers[0].p: expected a number in [0, 1), got 1.0"), std::string::npos) << m;
  m = spec_error(
      R"({"layers": [{"type": "linear", "out": 8}, {"type": "linear", "in": 9, "out": 2}]})");
  EXPECT_NE(m.find("layers[1].in: 9 does not chain"), std::string::npos) << m;
  m = spec_error(R"({"layers": [{"type": "linear", "out": 8}, {"type": "relu"}]})");
  EXPECT_NE(m.find("the last layer must be linear"), std::string::npos) << m;
  m = spec_error(R"({"layers": [{"type": "relux"}]})");
  EXPECT_NE(m.find("did you mean 'relu'"), std::string::npos) << m;
  m = spec_error(R"({"optimizer": {"type": "adam", "beta1": 1.0}})");
  EXPECT_NE(m.find("optimizer.beta1"), std::string::npos) << m;
  m = spec_error(R"({"device": "gpu"})");
  EXPECT_NE(m.find("device: expected auto, cpu, cuda or cuda:N"), std::string::npos) << m;
  m = spec_error(R"({"layers": [{"type": "linear", "out": 0}]})");
  EXPECT_NE(m.find("layers[0].out: expected an integer in [1,"), std::string::npos) << m;
}

TEST(Spec, TasksChooseTheLossAndTheLabels) {
  const ModelSpec s = parse_model_spec(R"({
    "task": "multi_label",
    "layers": [{"type": "linear", "out": 8}, {"type": "relu"}, {"type": "linear", "out": 3}],
    "data": {"format": "csv", "train_csv": "a.csv", "label_columns": ["x", 2, -1]}
  })",
                                       "spec.json");
  EXPECT_EQ(s.task, Task::kMultiLabel);
  ASSERT_EQ(s.data.label_columns.size(), 3u);
  EXPECT_EQ(s.data.label_columns[0].name, "x");
  EXPECT_EQ(s.data.label_columns[1].index, 2);
  EXPECT_EQ(s.data.label_columns[2].index, -1);
  EXPECT_EQ(model_spec_json(parse_model_spec(model_spec_json(s), "again")), model_spec_json(s));
  // Multi-label: BCE with logits against [batch, K] targets and a mask; regression: MSE.
  SequentialModel m = build_model(s, 5, 4);
  EXPECT_EQ(m.graph.shape(m.labels), (Shape{4, 3}));
  EXPECT_EQ(m.graph.shape(m.mask), (Shape{4, 3}));
  EXPECT_NE(m.graph.str().find("bce_with_logits"), std::string::npos);
  ModelSpec r = s;
  r.task = Task::kRegression;
  m = build_model(r, 5, 4);
  EXPECT_FALSE(m.mask.valid());
  EXPECT_NE(m.graph.str().find("mse_loss"), std::string::npos);
  EXPECT_EQ(m.graph.info(m.labels).meta.dtype, DType::kFloat32);
  std::string e = spec_error(R"({"task": "multilabel"})");
  EXPECT_NE(e.find("task: 'multilabel' is not one of"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'multi_label'"), std::string::npos) << e;
  e = spec_error(R"({"data": {"format": "csv", "train_csv": "a.csv", "label_columns": []}})");
  EXPECT_NE(e.find("data.label_columns: expected a non-empty list"), std::string::npos) << e;
}

TEST(Spec, EveryFieldItsTypeDoesNotUseIsAnError) {
  // torch.optim.SGD(momentum=0.9) is the momentum rule; spec.json then names it so.
  const ModelSpec s =
      parse_model_spec(R"({"optimizer": {"type": "sgd", "momentum": 0.9}})", "spec.json");
  EXPECT_EQ(s.optimizer.kind, OptimizerKind::kMomentum);
  EXPECT_EQ(s.optimizer.momentum, 0.9);
  EXPECT_EQ(parse_model_spec(R"({"optimizer": {"type": "sgd"}})", "s").optimizer.kind,
            OptimizerKind::kSgd);
  std::string e = spec_error(R"({"optimizer": {"type": "adam", "momentum": 0.9}})");
  EXPECT_NE(e.find("optimizer.momentum: adam does not use momentum"), std::string::npos) << e;
  e = spec_error(R"({"schedule": {"type": "constant", "gamma": 0.5}})");
  EXPECT_NE(e.find("schedule.gamma: constant does not use gamma"), std::string::npos) << e;
  e = spec_error(R"({"data": {"format": "npy", "train_features": "x", "train_labels": "y",
                              "label_column": 3}})");
  EXPECT_NE(e.find("data.label_column: the npy format does not use label_column"),
            std::string::npos)
      << e;
  // What the writer writes, the reader reads: for every optimizer and schedule type.
  for (const char* o :
       {"sgd", "momentum", "momentum_ema", "nesterov", "rmsprop", "adagrad", "adam", "adamw"}) {
    for (const char* sc : {"constant", "step", "exponential", "inverse_time", "cosine"}) {
      const std::string json = std::string(R"({"optimizer": {"type": ")") + o +
                               R"("}, "schedule": {"type": ")" + sc + R"("}})";
      const ModelSpec spec = parse_model_spec(json, "spec.json");
      EXPECT_EQ(model_spec_json(parse_model_spec(model_spec_json(spec), "again")),
                model_spec_json(spec))
          << json;
    }
  }
  // A dev set of its own files: no rows carved from the training file, and saying so is an error.
  const ModelSpec own = parse_model_spec(
      R"({"data": {"dev_features": "dx.npy", "dev_labels": "dy.npy", "train_dev_size": 500}})",
      "s");
  EXPECT_EQ(own.data.dev_size, 0);
  EXPECT_EQ(own.data.train_dev_size, 500);
  EXPECT_EQ(model_spec_json(parse_model_spec(model_spec_json(own), "again")), model_spec_json(own));
  e = spec_error(R"({"data": {"dev_features": "dx.npy", "dev_labels": "dy.npy", "dev_size": 9}})");
  EXPECT_NE(e.find("data.dev_size: the dev set comes from dx.npy"), std::string::npos) << e;
  e = spec_error(R"({"data": {"dev_features": "dx.npy"}})");
  EXPECT_NE(e.find("give dev_features and dev_labels together"), std::string::npos) << e;
  // A cosine schedule without its own horizon follows the run's length; one with it does not.
  EXPECT_TRUE(parse_model_spec(R"({"epochs": 4})", "s").horizon_follows_epochs);
  EXPECT_TRUE(parse_model_spec(R"({"schedule": {"type": "cosine"}})", "s").horizon_follows_epochs);
  EXPECT_FALSE(parse_model_spec(R"({"schedule": {"type": "cosine", "epochs": 3}})", "s")
                   .horizon_follows_epochs);
}

TEST(Metrics, MultiLabelScoresLeaveMissingLabelsOut) {
  // Label 0: scikit-learn's roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75; the fifth
  // row is missing. Label 1: tied scores share their mean rank: AUC 0.5.
  const float nan = std::nanf("");
  const Tensor logits = Tensor::from_vector<float>(
      Shape{5, 2}, {0.1f, 1.0f, 0.4f, 1.0f, 0.35f, 0.0f, 0.8f, 0.0f, 100.0f, 3.0f});
  const Tensor labels = Tensor::from_vector<float>(
      Shape{5, 2}, {0.0f, 1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 0.0f, nan, nan});
  const MultiLabelMetrics m(logits, labels);
  ASSERT_EQ(m.labels().size(), 2u);
  EXPECT_EQ(m.labels()[0].observed, 4);
  EXPECT_EQ(m.labels()[0].positives, 2);
  EXPECT_DOUBLE_EQ(m.labels()[0].roc_auc, 0.75);
  EXPECT_DOUBLE_EQ(m.labels()[1].roc_auc, 0.5);
  // Every logit of label 0 is > 0: all predicted present, so precision 2/4 and recall 1.
  EXPECT_DOUBLE_EQ(m.labels()[0].precision, 0.5);
  EXPECT_DOUBLE_EQ(m.labels()[0].recall, 1.0);
  EXPECT_DOUBLE_EQ(m.labels()[0].accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m.macro().roc_auc, 0.625);
  // The loss is the mean BCE over the 8 observed entries: the missing row's 100 is not in it.
  double bce = 0.0;
  const std::vector<float> z = logits.to_vector<float>(), y = labels.to_vector<float>();
  for (int i = 0; i < 8; ++i) {
    const double x = z[i], t = y[i];
    bce += std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::fabs(x)));
  }
  EXPECT_NEAR(m.loss(), bce / 8.0, 1e-12);
  // A label with one class only has no ROC AUC; the macro mean leaves it out.
  const MultiLabelMetrics one(Tensor::from_vector<float>(Shape{2, 1}, {1.0f, 2.0f}),
                              Tensor::from_vector<float>(Shape{2, 1}, {1.0f, 1.0f}));
  EXPECT_TRUE(std::isnan(one.labels()[0].roc_auc));
}

TEST(Metrics, RegressionScoresAgainstTheMeanPredictor) {
  const Tensor y = Tensor::from_vector<float>(Shape{4, 2}, {1, 10, 2, 20, 3, 30, 4, 40});
  const RegressionMetrics exact(y, y);
  EXPECT_DOUBLE_EQ(exact.overall().r2, 1.0);
  EXPECT_DOUBLE_EQ(exact.overall().mse, 0.0);
  // The mean predictor scores R^2 = 0; its MSE is the targets' variance.
  const Tensor mean =
      Tensor::from_vector<float>(Shape{4, 2}, {2.5f, 25, 2.5f, 25, 2.5f, 25, 2.5f, 25});
  const RegressionMetrics m(mean, y);
  EXPECT_DOUBLE_EQ(m.targets()[0].r2, 0.0);
  EXPECT_DOUBLE_EQ(m.targets()[0].mse, 1.25);
  EXPECT_DOUBLE_EQ(m.targets()[1].mse, 125.0);
  EXPECT_DOUBLE_EQ(m.targets()[0].mae, 1.0);
  EXPECT_DOUBLE_EQ(m.overall().mse, (1.25 + 125.0) / 2.0);
  EXPECT_DOUBLE_EQ(m.overall().rmse, std::sqrt((1.25 + 125.0) / 2.0));
  EXPECT_DOUBLE_EQ(m.error(), m.overall().rmse);
}

TEST(Spec, BuildsAStateDictNamedAsPyTorchsSequential) {
  ModelSpec s = default_model_spec();
  s.layers = {};
  for (const char* t : {"linear", "batch_norm", "relu", "linear"}) {
    LayerSpec l;
    l.type = t;
    l.out = std::string(t) == "linear" ? 4 : 0;
    s.layers.push_back(l);
  }
  s.layers[3].out = 3;
  const SequentialModel m = build_model(s, 5, 2);
  std::vector<std::string> names;
  for (const auto& [name, value] : m.state) names.push_back(name);
  // nn.Sequential(Linear, BatchNorm1d, ReLU, Linear).state_dict().keys()
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias",
                                             "1.running_mean", "1.running_var",
                                             "1.num_batches_tracked", "3.weight", "3.bias"}));
  EXPECT_EQ(m.graph.shape(m.graph.find("0.weight")), (Shape{4, 5}));  // [out, in]
  EXPECT_EQ(m.graph.info(m.graph.find("1.num_batches_tracked")).meta.dtype, DType::kInt64);
  EXPECT_EQ(m.classes, 3);
}

TEST(Checkpoint, SavesAndLoadsAndRejectsAMismatchedSpec) {
  ModelSpec s = default_model_spec();
  const std::string path =
      (std::filesystem::temp_directory_path() / "myelin-ckpt.safetensors").string();
  SequentialModel a = build_model(s, 20, 4);
  save_model(path, a, nullptr, 12, 3, {{"note", "x"}});
  SequentialModel b = build_model(s, 20, 4);
  b.graph.initialize(b.graph.find("0.weight"), Init::zeros());
  const auto meta = load_model(path, b);
  EXPECT_EQ(meta.at("step"), "12");
  EXPECT_EQ(meta.at("format_version"), kCheckpointVersion);
  EXPECT_TRUE(bitwise_equal(a.graph.tensor(a.graph.find("0.weight")),
                            b.graph.tensor(b.graph.find("0.weight"))));
  SequentialModel wider = build_model(s, 21, 4);
  const std::string m = test::error_of([&] { load_model(path, wider); });
  EXPECT_NE(m.find("does not match the spec"), std::string::npos) << m;
  EXPECT_NE(m.find("0.weight"), std::string::npos) << m;
}

}  // namespace
}  // namespace myelin

namespace myelin {
namespace {

ModelSpec search_spec() {
  return parse_model_spec(R"({"layers": [{"type": "linear", "out": 8}, {"type": "relu"},
      {"type": "dropout", "p": 0.1}, {"type": "linear", "out": 10}],
      "search": {"optimizer.lr": {"log_uniform": [1e-4, 1e-1]},
                 "layers[2].p": {"uniform": [0, 0.5]},
                 "batch_size": {"choice": [64, 128, 256]},
                 "layers[0].out": {"uniform": [4, 40]}}})",
                          "s.json");
}

// Draws are a pure function of (seed, trial), within the ranges, log-uniform over decades, and
// integer fields get integers.
TEST(Search, TrialsArePureFunctionsOfSeedAndTrialWithinTheRanges) {
  const SearchSpace space = parse_search(search_spec(), "s.json");
  ASSERT_EQ(space.dimensions.size(), 4u);
  EXPECT_EQ(sample_search(space, 7, 3), sample_search(space, 7, 3));
  EXPECT_NE(sample_search(space, 7, 3), sample_search(space, 7, 4));
  EXPECT_NE(sample_search(space, 7, 3), sample_search(space, 8, 3));
  int below_1e3 = 0;
  for (std::int64_t t = 0; t < 400; ++t) {
    const std::vector<std::string> v = sample_search(space, 1, t);
    const ModelSpec trial = apply_search(search_spec(), space, v, "trial");
    EXPECT_TRUE(trial.search.empty());
    EXPECT_GE(trial.optimizer.lr, 1e-4);
    EXPECT_LE(trial.optimizer.lr, 1e-1);
    below_1e3 += trial.optimizer.lr < 1e-3 ? 1 : 0;
    EXPECT_TRUE(trial.batch_size == 64 || trial.batch_size == 128 || trial.batch_size == 256);
    EXPECT_GE(trial.layers[0].out, 4);
    EXPECT_LE(trial.layers[0].out, 40);
    EXPECT_EQ(v[1].find('.'), std::string::npos) << v[1];  // layers[0].out: an integer
  }
  // Log-uniform: a third of the draws in each decade (400 draws: 133 +- 3 sigma).
  EXPECT_GT(below_1e3, 105);
  EXPECT_LT(below_1e3, 162);
}

TEST(Search, ASecondRoundNarrowsAroundTheBestWithinTheRanges) {
  const SearchSpace space = parse_search(search_spec(), "s.json");
  // Dimensions in path order: batch_size, layers[0].out, layers[2].p, optimizer.lr.
  const SearchSpace fine =
      narrow_search(space, {{"128", "20", "0.2", "0.001"}, {"64", "30", "0.3", "0.004"}});
  EXPECT_EQ(fine.dimensions[0].choices, (std::vector<std::string>{"64", "128"}));
  EXPECT_DOUBLE_EQ(fine.dimensions[2].low, 0.2 - 0.05);
  EXPECT_DOUBLE_EQ(fine.dimensions[2].high, 0.3 + 0.05);
  EXPECT_DOUBLE_EQ(fine.dimensions[3].low, 0.0005);
  EXPECT_DOUBLE_EQ(fine.dimensions[3].high, 0.008);
  const SearchSpace edge = narrow_search(space, {{"64", "4", "0.0", "0.09"}});
  EXPECT_DOUBLE_EQ(edge.dimensions[2].low, 0.0);   // not below the original range
  EXPECT_DOUBLE_EQ(edge.dimensions[3].high, 0.1);  // nor above it
}

TEST(Search, BadPathsAndRangesAreNamed) {
  auto message = [](const std::string& search) {
    try {
      parse_search(parse_model_spec("{\"search\": " + search + "}", "s.json"), "s.json");
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(R"({"optimizer.momentum": {"uniform": [0, 1]}})")
                .find("search.optimizer.momentum: 'optimizer.momentum' is not a field"),
            std::string::npos);
  EXPECT_NE(message(R"({"layers[99].p": {"uniform": [0, 1]}})").find("index 99 is out of range"),
            std::string::npos);
  EXPECT_NE(message(R"({"optimizer.lr": {"log_uniform": [0, 1]}})").find("must be positive"),
            std::string::npos);
  EXPECT_NE(message(R"({"optimizer.lr": {"uniform": [1, 0]}})").find("low must be below high"),
            std::string::npos);
  EXPECT_NE(message(R"({"optimizer.type": {"uniform": [0, 1]}})").find("needs a numeric field"),
            std::string::npos);
  EXPECT_NE(message(R"({"batch_size": {"choice": [64, 0]}})").find("0 makes an invalid spec"),
            std::string::npos);
  EXPECT_NE(message(R"({"optimizer.lr": {"grid": [1, 2]}})").find("unknown range 'grid'"),
            std::string::npos);
}

}  // namespace
}  // namespace myelin
