#pragma once

// Hyper-parameter search over a spec: the ranges of its "search" field, sampled at random (not
// on a grid: with a few trials, every one tries a new value of each hyper-parameter), and
// narrowed around the best trials for a second, finer round.
//
//   "search": {"optimizer.lr": {"log_uniform": [1e-4, 1e-1]},
//              "layers[3].p": {"uniform": [0, 0.5]},
//              "batch_size": {"choice": [64, 128, 256]}}
//
// A path names a field as spec.json spells it (every field a spec uses is there).

#include <cstdint>
#include <string>
#include <vector>

#include "myelin/app/spec.hpp"
#include "myelin/export.hpp"

namespace myelin {

struct SearchDimension {
  enum class Kind { kLogUniform, kUniform, kChoice };
  std::string path;  // "optimizer.lr", "layers[3].p", "batch_size"
  Kind kind = Kind::kUniform;
  double low = 0.0, high = 0.0;      // log_uniform and uniform
  std::vector<std::string> choices;  // choice: the values as JSON text
  bool integer = false;              // the field holds an integer: samples are rounded
};

struct MYELIN_API SearchSpace {
  std::vector<SearchDimension> dimensions;  // in the order of their paths
  std::string json() const;                 // as a spec's "search" field
};

// The spec's search space (its "search" field; empty when it has none). Each path must name a
// field of the spec as spec.json spells it, each range must be valid for its field: a
// SpecError names what is wrong.
MYELIN_API SearchSpace parse_search(const ModelSpec& spec, const std::string& source);
// Trial `trial`'s values (JSON text, one per dimension): a pure function of (seed, trial, the
// space), so that an interrupted search draws the same trials again.
MYELIN_API std::vector<std::string> sample_search(const SearchSpace& space, std::uint64_t seed,
                                                  std::int64_t trial);
// The spec of a trial: `spec` with its search removed and the values set (checked as any spec).
MYELIN_API ModelSpec apply_search(const ModelSpec& spec, const SearchSpace& space,
                                  const std::vector<std::string>& values,
                                  const std::string& source);
// The space around the values of the best trials, for a finer round: a log-uniform range
// becomes [min / 2, max * 2] of their values, a uniform one their span widened by a tenth of the
// range on each side, a choice the values they used; always within the original ranges.
MYELIN_API SearchSpace narrow_search(const SearchSpace& space,
                                     const std::vector<std::vector<std::string>>& best);

}  // namespace myelin
