// Model specs: every bad spec gets one clear error naming the field and what was expected.
#include <gtest/gtest.h>

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
