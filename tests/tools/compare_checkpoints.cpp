// Compares the tensors of two safetensors files (checkpoints of the same model trained on two
// devices): per tensor the largest difference over the tensor's largest magnitude. Exit 0 when
// every tensor is within the tolerance, 1 otherwise, 2 on bad arguments or files.
//   compare_checkpoints A.safetensors B.safetensors TOLERANCE
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "myelin/myelin.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: compare_checkpoints A.safetensors B.safetensors TOLERANCE\n";
    return 2;
  }
  try {
    const myelin::SafeTensors a = myelin::read_safetensors(argv[1]);
    const myelin::SafeTensors b = myelin::read_safetensors(argv[2]);
    const double tolerance = std::stod(argv[3]);
    if (a.tensors.size() != b.tensors.size()) {
      std::cerr << "the files hold " << a.tensors.size() << " and " << b.tensors.size()
                << " tensors\n";
      return 1;
    }
    double worst = 0;
    bool ok = true;
    for (std::size_t k = 0; k < a.tensors.size(); ++k) {
      const auto& [name, ta] = a.tensors[k];
      const auto& [name_b, tb] = b.tensors[k];
      if (name != name_b || ta.shape() != tb.shape()) {
        std::cerr << "tensor " << k << ": " << name << " " << ta.shape().str() << " against "
                  << name_b << " " << tb.shape().str() << "\n";
        return 1;
      }
      const std::vector<double> x = ta.to_vector<double>(), y = tb.to_vector<double>();
      double diff = 0, scale = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
          diff = INFINITY;
          break;
        }
        diff = std::max(diff, std::abs(x[i] - y[i]));
        scale = std::max(scale, std::abs(x[i]));
      }
      const double error = scale > 0 ? diff / scale : diff;
      std::cout << name << ": normalised difference " << error << "\n";
      worst = std::max(worst, error);
      ok = ok && error <= tolerance;
    }
    std::cout << "worst normalised difference " << worst << " (tolerance " << tolerance << ")\n";
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "compare_checkpoints: " << e.what() << "\n";
    return 2;
  }
}
