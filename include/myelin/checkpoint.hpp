#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "myelin/executor.hpp"
#include "myelin/export.hpp"
#include "myelin/optimizer.hpp"
#include "myelin/spec.hpp"
#include "myelin/trainer.hpp"

namespace myelin {

// Checkpoints in safetensors. The model file holds exactly what PyTorch's state_dict() of the
// equivalent nn.Sequential holds (names, layouts, types: num_batches_tracked is I64), so that
// load_state_dict(strict=True) accepts it; its metadata keeps the format version, the step, the
// epoch and anything else the caller adds (the normalisation statistics, the spec). The
// optimizer's state and the training position go in a second file beside it.

inline constexpr const char* kCheckpointFormat = "myelin";
inline constexpr const char* kCheckpointVersion = "1";

// Writes the model's state (the executor's tensors when given: they may be on a device).
MYELIN_API void save_model(const std::string& path, SequentialModel& model, Executor* executor,
                           std::int64_t step, std::int64_t epoch,
                           const std::map<std::string, std::string>& metadata = {});
// Loads weights into the model's graph. The file must hold exactly the model's state_dict
// entries with their shapes and types; otherwise a myelin::Error names the difference. Returns
// the file's metadata.
MYELIN_API std::map<std::string, std::string> load_model(const std::string& path,
                                                         SequentialModel& model);

// Any graph's parameters and buffers by their names (its state_dict: a layer's are named as in
// PyTorch, "fc1.weight", "bn.running_mean"), from the graph's tensors (the trained weights after
// Trainer::fit or Executor::write_back).
MYELIN_API void save_graph(const std::string& path, const Graph& graph,
                           const std::map<std::string, std::string>& metadata = {});
// Loads a file holding exactly the graph's parameters and buffers (names, shapes and types) into
// the graph; a difference is a myelin::Error naming it. Returns the file's metadata.
MYELIN_API std::map<std::string, std::string> load_graph(const std::string& path, Graph& graph);

MYELIN_API void save_training_state(const std::string& path, const Optimizer& optimizer,
                                    const TrainPosition& position);
// Restores the optimizer and returns the position.
MYELIN_API TrainPosition load_training_state(const std::string& path, Optimizer& optimizer);

}  // namespace myelin
