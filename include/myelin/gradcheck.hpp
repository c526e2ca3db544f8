#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "myelin/export.hpp"
#include "myelin/graph.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// Central differences in double on the CPU path: numeric = (f(x + h) - f(x - h)) / 2h with
// h = kGradcheckStep. Truncation error is O(h^2) and rounding error O(eps / h); at 1e-6 both
// stay near 1e-10 for well-scaled graphs, far below the 1e-6 the tests ask for.
inline constexpr double kGradcheckStep = 1e-6;

struct GradcheckOptions {
  double step = kGradcheckStep;
  Mode mode = Mode::kTrain;
  std::uint64_t run_step = 0;  // the dropout step every forward pass uses (same masks)
  // Inputs to check as well as the trainable parameters.
  std::vector<Value> inputs;
  // Check at most this many elements per tensor, spread evenly (0: all of them).
  std::int64_t max_elements = 0;
  // Seed of the random cotangent used when the output is not a scalar: the checked function
  // is then sum(output * r) with r fixed.
  std::uint64_t cotangent_seed = 1234;
};

struct GradcheckEntry {
  std::string name;          // the parameter or input
  double worst_error = 0.0;  // max over checked elements of |a - n| / max(|a|, |n|, 1)
  std::int64_t worst_index = -1;
  double analytic = 0.0;  // at worst_index
  double numeric = 0.0;
  std::int64_t checked = 0;
  std::int64_t skipped = 0;  // perturbation crossed a kink (relu, leaky_relu, abs at 0, ...)
};

struct MYELIN_API GradcheckReport {
  std::vector<GradcheckEntry> entries;
  double worst_error() const;
  std::int64_t checked() const;
  std::int64_t skipped() const;
  // Share of elements skipped, in [0, 1].
  double skipped_share() const;
  // One line per entry: name, worst error, checked and skipped counts.
  std::string str() const;
};

// Checks the gradients of `output` (a scalar loss, or any value through a fixed random
// cotangent) with respect to every trainable parameter and the requested inputs. Runs on a
// private float64 CPU executor: the graph itself is not modified.
MYELIN_API GradcheckReport gradcheck(Graph& graph, Value output,
                                     const std::vector<std::pair<Value, Tensor>>& feeds,
                                     const GradcheckOptions& options = {});

}  // namespace myelin
