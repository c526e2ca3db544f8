// Trains a two-layer graph through the installed libmyelin.so and catches a myelin::Error
// thrown inside the library.
#include <myelin/myelin.hpp>

#include <cstdio>

int main() {
  myelin::Graph g(1);
  const myelin::Dataset data = myelin::make_spirals(50, 2, 0.5, 0.0, 1);
  const myelin::Value x = g.input("x", myelin::Shape{100, 2});
  const myelin::Value y = g.input("y", myelin::Shape{100}, myelin::DType::kInt64);
  const myelin::Value h = g.relu(g.linear_layer(x, 16, {}, "hidden"));
  const myelin::Value logits = g.linear_layer(h, 2, {}, "out");
  const myelin::Value loss = g.softmax_cross_entropy(logits, y);

  if (data.x.shape() != myelin::Shape{100, 2}) {  // Shape's operators are part of the API too
    std::printf("consumer: spirals of shape %s\n", data.x.shape().str().c_str());
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
