// Trains a two-layer graph through the installed libmyelin.so and the core's headers only, as a
// user would: an executor loop, the Trainer, evaluate, predict, graph checkpoints, the op table,
// and a myelin::Error thrown inside the library.
#include <myelin/myelin.hpp>

#include <cstdio>
#include <filesystem>

int main() {
  myelin::Graph g(1);
  // Two classes split by a circle: points inside radius 0.8 (half of the square) are class 1.
  struct {
    myelin::Tensor x = myelin::Tensor::empty(myelin::Shape{100, 2}, myelin::DType::kFloat32);
    myelin::Tensor y = myelin::Tensor::empty(myelin::Shape{100}, myelin::DType::kInt64);
  } data;
  myelin::Rng rng(3);
  for (int i = 0; i < 100; ++i) {
    const double a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
    data.x.data<float>()[2 * i] = static_cast<float>(a);
    data.x.data<float>()[2 * i + 1] = static_cast<float>(b);
    data.y.data<std::int64_t>()[i] = a * a + b * b < 0.64 ? 1 : 0;
  }
  const myelin::Value x = g.input("x", myelin::Shape{100, 2});
  const myelin::Value y = g.input("y", myelin::Shape{100}, myelin::DType::kInt64);
  const myelin::Value h = g.relu(g.linear_layer(x, 16, {}, "hidden"));
  const myelin::Value logits = g.linear_layer(h, 2, {}, "out");
  const myelin::Value loss = g.softmax_cross_entropy(logits, y);

  if (data.x.shape() != myelin::Shape{100, 2}) {  // Shape's operators are part of the API too
    std::printf("consumer: data of shape %s\n", data.x.shape().str().c_str());
    return 1;
  }
  myelin::Executor exec(g);
  exec.set_input(x, data.x);
  exec.set_input(y, data.y);
  myelin::Optimizer sgd(myelin::OptimizerOptions::sgd(0.5));
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 200; ++step) {
    exec.forward();
    exec.backward(loss);
    sgd.step(exec);
    (step == 0 ? first : last) = exec.value(loss).item();
  }
  std::printf("consumer: loss %.4f -> %.4f\n", first, last);
  if (!(last < first)) {
    std::printf("consumer: the loss did not fall\n");
    return 1;
  }

  // The Trainer leaves the trained weights in the graph; predict needs no labels.
  myelin::Optimizer adam(myelin::OptimizerOptions::adam(0.01));
  myelin::TrainOptions options;
  options.batch_size = 20;
  options.epochs = 20;
  myelin::Trainer trainer(g, loss, adam, options);
  trainer.fit({{x, data.x}, {y, data.y}});
  const myelin::Tensor predicted = myelin::predict(g, logits, {{x, data.x}});
  const double acc = myelin::accuracy(predicted, data.y);
  std::printf("consumer: accuracy after fit %.3f\n", acc);
  if (predicted.shape() != myelin::Shape{100, 2} || !(acc > 0.6)) return 1;
  myelin::EvaluateOptions what;
  what.logits = logits;
  what.labels = y;
  const myelin::Evaluation evaluation = trainer.evaluate({{x, data.x}, {y, data.y}}, what);
  std::printf("consumer: evaluate: loss %.4f, accuracy %.3f\n", evaluation.loss,
              evaluation.accuracy);
  if (evaluation.rows != 100 || evaluation.accuracy != acc ||
      evaluation.predictions.to_vector<std::int64_t>() !=
          myelin::predicted_classes(predicted).to_vector<std::int64_t>()) {
    std::printf("consumer: evaluate disagrees with predict\n");
    return 1;
  }

  // A checkpoint of the graph by parameter names, into a graph built the same way.
  const std::string path =
      (std::filesystem::temp_directory_path() / "myelin-consumer.safetensors").string();
  myelin::save_graph(path, g);
  myelin::Graph copy(2);
  const myelin::Value cx = copy.input("x", myelin::Shape{100, 2});
  const myelin::Value clogits = copy.linear_layer(
      copy.gelu(copy.linear_layer(cx, 16, {}, "hidden"), myelin::GeluApproximation::kTanh), 2, {},
      "out");
  myelin::load_graph(path, copy);
  if (copy.tensor(copy.find("out.weight")).to_vector<float>() !=
      g.tensor(g.find("out.weight")).to_vector<float>()) {
    std::printf("consumer: load_graph did not restore the weights\n");
    return 1;
  }
  if (!(clogits != cx) || copy.find("out") != clogits) return 1;  // Value's operators

  // The op table describes every op's attributes.
  const myelin::OpDef& softplus = myelin::find_op("softplus");
  if (softplus.attrs.empty() || softplus.attrs[0].expected() != "a number > 0") {
    std::printf("consumer: softplus's beta is not described\n");
    return 1;
  }

  bool caught = false;
  try {
    g.linear(x, g.find("out.weight"));  // [100, 2] against a [2, 16] weight: a shape mismatch
  } catch (const myelin::Error& e) {
    caught = true;
    std::printf("consumer: caught myelin::Error: %s\n", e.what());
  }
  if (!caught) {
    std::printf("consumer: expected a myelin::Error\n");
    return 1;
  }
  return 0;
}
