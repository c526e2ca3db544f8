// Checkpoints of a spec's model, in PyTorch's state_dict order.
#include "myelin/app/model_checkpoint.hpp"

#include "myelin/error.hpp"
#include "myelin/safetensors.hpp"

namespace myelin {

void save_model(const std::string& path, SequentialModel& model, Executor* executor,
                std::int64_t step, std::int64_t epoch,
                const std::map<std::string, std::string>& metadata) {
  if (executor != nullptr) executor->write_back();
  std::map<std::string, std::string> meta = metadata;
  meta["step"] = std::to_string(step);
  meta["epoch"] = std::to_string(epoch);
  save_state(path, model.graph, model.state, meta);
}

std::map<std::string, std::string> load_model(const std::string& path, SequentialModel& model) {
  return load_state(path, model.graph, model.state, "the spec");
}

std::int64_t checkpoint_features(const std::string& path, const ModelSpec& spec) {
  const SafeTensors file = read_safetensors(path);
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    if (spec.layers[i].type != "linear") continue;
    for (const auto& [name, tensor] : file.tensors) {
      if (name == std::to_string(i) + ".weight" && tensor.shape().rank() == 2) {
        return tensor.shape()[1];
      }
    }
    fail(path, ": has no ", i, ".weight [out, in] (the spec's first linear layer)");
  }
  fail(path, ": the spec has no linear layer");
}

InitReport load_matching(const std::string& path, SequentialModel& model,
                         const std::vector<std::int64_t>& fresh_layers) {
  const SafeTensors file = read_safetensors(path);
  InitReport report;
  report.metadata = file.metadata;
  std::vector<bool> used(file.tensors.size(), false);
  for (const auto& [name, value] : model.state) {
    const std::string layer = name.substr(0, name.find('.'));
    bool fresh = false;
    for (std::int64_t l : fresh_layers) fresh = fresh || std::to_string(l) == layer;
    std::size_t found = file.tensors.size();
    for (std::size_t i = 0; i < file.tensors.size(); ++i) {
      if (file.tensors[i].first == name) found = i;
    }
    if (found < file.tensors.size()) used[found] = true;
    Tensor& target = model.graph.tensor(value);
    if (fresh) {
      report.fresh.emplace_back(name, "layer " + layer + " starts fresh");
    } else if (found == file.tensors.size()) {
      report.fresh.emplace_back(name, "not in the file");
    } else {
      const Tensor& t = file.tensors[found].second;
      if (t.shape() != target.shape() || t.dtype() != target.dtype()) {
        report.fresh.emplace_back(name, std::string(dtype_name(t.dtype())) + " " + t.shape().str() +
                                            " in the file, " + dtype_name(target.dtype()) + " " +
                                            target.shape().str() + " in the model");
      } else {
        target = t.clone();
        report.loaded.push_back(name);
      }
    }
  }
  for (std::size_t i = 0; i < file.tensors.size(); ++i) {
    if (!used[i]) report.unused.push_back(file.tensors[i].first);
  }
  if (report.loaded.empty()) {
    fail(path,
         ": no tensor matches the model's by name, shape and type (the model's are named "
         "as PyTorch's nn.Sequential state_dict: 0.weight, 0.bias, ...)");
  }
  return report;
}

}  // namespace myelin
