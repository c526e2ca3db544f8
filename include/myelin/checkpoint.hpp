#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "myelin/executor.hpp"
#include "myelin/export.hpp"
#include "myelin/optimizer.hpp"
#include "myelin/trainer.hpp"

namespace myelin {

// Checkpoints in safetensors. A model file holds a graph's parameters and buffers by name, as
// PyTorch's state_dict() does (a layer's are named as in PyTorch: "fc1.weight",
// "bn.running_mean"; num_batches_tracked is I64), so that load_state_dict(strict=True) of the
// equivalent module accepts it; its metadata keeps the format version and anything the caller
// adds. The optimizer's state and the training position go in a second file beside it.

inline constexpr const char* kCheckpointFormat = "myelin";
inline constexpr const char* kCheckpointVersion = "1";

// A checkpoint's entries: names and the graph's parameters and buffers they hold, in file order.
using StateDict = std::vector<std::pair<std::string, Value>>;
// Every parameter and buffer of the graph under its own name, in graph order.
MYELIN_API StateDict graph_state(const Graph& graph);

// Writes the graph's tensors of `state` (the trained weights after Trainer::fit or
// Executor::write_back), adding the format and its version to the metadata.
MYELIN_API void save_state(const std::string& path, const Graph& graph, const StateDict& state,
                           const std::map<std::string, std::string>& metadata = {});
// Loads a file holding exactly `state`'s entries (names, shapes and types) into the graph; a
// difference is a myelin::Error naming it and saying the file "does not match" `owner`.
// Returns the file's metadata.
MYELIN_API std::map<std::string, std::string> load_state(const std::string& path, Graph& graph,
                                                         const StateDict& state,
                                                         const std::string& owner = "the graph");

// save_state and load_state of graph_state(graph).
MYELIN_API void save_graph(const std::string& path, const Graph& graph,
                           const std::map<std::string, std::string>& metadata = {});
MYELIN_API std::map<std::string, std::string> load_graph(const std::string& path, Graph& graph);

MYELIN_API void save_training_state(const std::string& path, const Optimizer& optimizer,
                                    const TrainPosition& position);
// Restores the optimizer and returns the position.
MYELIN_API TrainPosition load_training_state(const std::string& path, Optimizer& optimizer);

}  // namespace myelin
