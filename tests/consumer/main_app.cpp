// Uses the installed application layer (libmyelin_app.so), as the myelin tool does: a model spec
// built into a sequential model, trained on generated spirals, evaluated into a confusion
// matrix, checkpointed and loaded into a second model; a bad spec is a SpecError.
#include <myelin/app.hpp>

#include <cstdio>
#include <filesystem>

int main() {
  const myelin::ModelSpec spec = myelin::parse_model_spec(R"({
    "layers": [{"type": "linear", "out": 64}, {"type": "relu"}, {"type": "linear", "out": 2}],
    "optimizer": {"type": "adam", "lr": 0.02},
    "batch_size": 20, "epochs": 60, "seed": 3, "device": "cpu"
  })",
                                                          "consumer.json");
  const myelin::Dataset data = myelin::make_spirals(100, 2, 0.75, 0.0, 1);
  myelin::SequentialModel model = myelin::build_model(spec, 2, spec.batch_size);
  myelin::Optimizer optimizer(spec.optimizer);
  myelin::Trainer trainer(model.graph, model.loss, optimizer, myelin::train_options(spec));
  trainer.fit({{model.input, data.x}, {model.labels, data.y}});

  myelin::EvaluateOptions what;
  what.logits = model.logits;
  what.labels = model.labels;
  const myelin::Evaluation evaluation =
      trainer.evaluate({{model.input, data.x}, {model.labels, data.y}}, what);
  myelin::ConfusionMatrix confusion(model.classes);
  confusion.add_predictions(evaluation.predictions, evaluation.labels);
  std::printf("consumer_app: loss %.4f, accuracy %.3f, macro-F1 %.3f\n%s", evaluation.loss,
              confusion.accuracy(), confusion.macro_f1(), confusion.report().c_str());
  if (confusion.total() != 200 || confusion.accuracy() != evaluation.accuracy ||
      !(evaluation.accuracy > 0.8)) {
    return 1;
  }

  // The checkpoint holds the state_dict of the equivalent nn.Sequential.
  const std::string path =
      (std::filesystem::temp_directory_path() / "myelin-consumer-app.safetensors").string();
  myelin::save_model(path, model, &trainer.executor(), optimizer.steps(), 1, {{"note", "app"}});
  myelin::SequentialModel copy = myelin::build_model(spec, 2, spec.batch_size);
  const auto meta = myelin::load_model(path, copy);
  if (meta.at("note") != "app" || copy.state.front().first != "0.weight" ||
      copy.graph.tensor(copy.state.front().second).to_vector<float>() !=
          model.graph.tensor(model.state.front().second).to_vector<float>()) {
    std::printf("consumer_app: load_model did not restore the weights\n");
    return 1;
  }

  try {
    myelin::parse_model_spec(R"({"epocs": 3})", "bad.json");
  } catch (const myelin::SpecError& e) {
    std::printf("consumer_app: caught SpecError: %s\n", e.what());
    return 0;
  }
  std::printf("consumer_app: expected a SpecError\n");
  return 1;
}
