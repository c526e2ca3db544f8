#pragma once

#include <cstdint>
#include <map>
#include <string>

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

}  // namespace myelin
