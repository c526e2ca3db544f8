#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "myelin/app/spec.hpp"
#include "myelin/checkpoint.hpp"
#include "myelin/executor.hpp"
#include "myelin/export.hpp"

namespace myelin {

// Checkpoints of a spec's model: exactly what PyTorch's state_dict() of the equivalent
// nn.Sequential holds, in its order, with the step and epoch in the metadata besides anything
// the caller adds (the normalisation statistics, the spec).

// Writes the model's state (the executor's tensors when given: they may be on a device).
MYELIN_API void save_model(const std::string& path, SequentialModel& model, Executor* executor,
                           std::int64_t step, std::int64_t epoch,
                           const std::map<std::string, std::string>& metadata = {});
// Loads weights into the model's graph. The file must hold exactly the model's state_dict
// entries with their shapes and types; otherwise a myelin::Error names the difference ("does
// not match the spec"). Returns the file's metadata.
MYELIN_API std::map<std::string, std::string> load_model(const std::string& path,
                                                         SequentialModel& model);

// The number of input features a checkpoint of `spec` was trained on: the columns of its first
// linear layer's weight. Throws when the file has none.
MYELIN_API std::int64_t checkpoint_features(const std::string& path, const ModelSpec& spec);

// Transfer learning: what load_matching took from a checkpoint and what it left.
struct InitReport {
  std::vector<std::string> loaded;  // state_dict entries taken from the file
  // Entries left as the spec's initialiser drew them, each with why: "not in the file", another
  // shape or type, or a layer asked to start fresh.
  std::vector<std::pair<std::string, std::string>> fresh;
  std::vector<std::string> unused;  // tensors of the file the model has no place for
  std::map<std::string, std::string> metadata;
};
// Loads every tensor of the file whose name, shape and type match an entry of the model's
// state_dict, except those of `fresh_layers` (layer indices). A file that matches nothing is an
// error.
MYELIN_API InitReport load_matching(const std::string& path, SequentialModel& model,
                                    const std::vector<std::int64_t>& fresh_layers = {});

}  // namespace myelin
