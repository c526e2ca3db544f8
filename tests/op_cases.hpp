#pragma once

// Test cases of every op of the op table, shared by the gradient checks (small shapes, run in
// double) and the CUDA-against-CPU comparisons (the same cases plus shapes that are not
// multiples of a block or a vector width, single rows, and rows longer than a block).

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "myelin/myelin.hpp"

namespace myelin::test {

struct Built {
  Value out;
  std::vector<std::pair<Value, Tensor>> feeds;  // float64; convert for float32 runs
  std::vector<Value> wrt;  // inputs whose gradients are checked besides the parameters
  Mode mode = Mode::kTrain;
};

struct Case {
  std::string label;
  std::function<Built(Graph&)> build;
};

enum class CaseSet { kGradcheck, kBackend };

// The cases of every op, by op name. An op of the table without an entry fails the tests.
const std::map<std::string, std::vector<Case>>& op_cases(CaseSet set);

// Names of the ops of the op table, for parameterised tests.
std::vector<std::string> table_names();

// Feeds a random float64 input and checks its gradient.
Value checked_input(Graph& g, Built& b, const std::string& name, const Shape& shape,
                    std::uint64_t seed, double stddev = 1.0);

}  // namespace myelin::test
