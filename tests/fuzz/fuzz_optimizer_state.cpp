// libFuzzer target: the optimizer state of a checkpoint (optimizer.safetensors), loaded into an
// Adam optimizer and then used for an update of two parameters, as a resumed run would (the
// seed corpus holds the state of a model with these: a linear layer from 3 features to 2).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "myelin/checkpoint.hpp"
#include "myelin/error.hpp"
#include "myelin/optimizer.hpp"

namespace {

// The reader takes a path: each input is written to one file of this process.
const std::string& input_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr ? dir : "/tmp") + "/myelin-fuzz-optimizer-" +
           std::to_string(getpid()) + ".safetensors";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (std::FILE* f = std::fopen(input_path().c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  } else {
    __builtin_trap();
  }
  myelin::Tensor w = myelin::Tensor::zeros(myelin::Shape({2, 3}));
  myelin::Tensor b = myelin::Tensor::zeros(myelin::Shape({2}));
  myelin::Tensor gw = myelin::Tensor::full(myelin::Shape({2, 3}), 0.5);
  myelin::Tensor gb = myelin::Tensor::full(myelin::Shape({2}), -0.25);
  try {
    myelin::Optimizer optimizer(myelin::OptimizerOptions::adam());
    myelin::load_training_state(input_path(), optimizer);
    optimizer.step({{"0.weight", "weights", &w, &gw}, {"0.bias", "no_decay", &b, &gb}});
  } catch (const myelin::Error&) {
    // A clear error is the expected outcome of bad input; anything else is a finding.
  }
  return 0;
}
