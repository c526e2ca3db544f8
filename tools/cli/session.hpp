#pragma once

// What `myelin train`, `eval` and `gradcheck` share: choosing the device, loading a run's spec
// and data, and evaluating a split.

#include <string>

#include "myelin/app.hpp"

namespace myelin::cli {

// "auto" picks the first GPU when one is usable, else the CPU; `note` says which and why.
Device choose_device(const std::string& requested, std::string& note);

struct SplitResult {
  double loss = 0.0;
  ConfusionMatrix confusion{1};
};

// Loss and confusion matrix of a split in eval mode (at most `limit` rows; 0: all), through an
// executor that computes the model's loss (myelin::evaluate).
SplitResult evaluate_split(Executor& executor, const SequentialModel& model, const Split& split,
                           const Normalization& normalization, std::int64_t batch_size,
                           std::int64_t limit = 0);

// Names of the Fashion-MNIST classes when the data is Fashion-MNIST, else empty.
std::vector<std::string> class_names(const DataSpec& data, std::int64_t classes);

// Reads a whole text file.
std::string read_text(const std::string& path);

}  // namespace myelin::cli
