#include "myelin/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "myelin/error.hpp"
#include "myelin/safetensors.hpp"

namespace myelin {

namespace {

// Checkpoints hold finite values only: a diverged run must not replace a good checkpoint with
// one that cannot be trained from (a training state with them would not even load).
void check_finite(const std::string& path,
                  const std::vector<std::pair<std::string, Tensor>>& tensors) {
  for (const auto& [name, t] : tensors) {
    if (t.dtype() != DType::kFloat32 && t.dtype() != DType::kFloat64) continue;
    const std::vector<double> values = t.to_vector<double>();
    const auto bad =
        std::count_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); });
    if (bad > 0) {
      fail(path, ": not written: '", name, "' holds ", bad, " non-finite values of ", values.size(),
           " (a checkpoint holds finite values only)");
    }
  }
}

}  // namespace

StateDict graph_state(const Graph& graph) {
  StateDict state;
  for (int id = 0; id < graph.num_values(); ++id) {
    const ValueInfo& info = graph.info(Value{id});
    if (info.kind == ValueKind::kParameter || info.kind == ValueKind::kBuffer) {
      state.emplace_back(info.name, Value{id});
    }
  }
  return state;
}

void save_state(const std::string& path, const Graph& graph, const StateDict& state,
                const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, value] : state) tensors.emplace_back(name, graph.tensor(value));
  check_finite(path, tensors);
  std::map<std::string, std::string> meta = metadata;
  meta["format"] = kCheckpointFormat;
  meta["format_version"] = kCheckpointVersion;
  write_safetensors(path, tensors, meta);
}

std::map<std::string, std::string> load_state(const std::string& path, Graph& graph,
                                              const StateDict& state, const std::string& owner) {
  const SafeTensors file = read_safetensors(path);
  std::set<std::string> expected;
  for (const auto& [name, value] : state) {
    expected.insert(name);
    if (!file.contains(name)) {
      fail(path, ": the checkpoint does not match ", owner, ": it has no '", name, "' (",
           graph.shape(value).str(), ")");
    }
    const Tensor& t = file.at(name);
    const Tensor& dst = graph.tensor(value);
    if (t.shape() != dst.shape() || t.dtype() != dst.dtype()) {
      fail(path, ": the checkpoint does not match ", owner, ": '", name, "' is ", t.shape().str(),
           " ", dtype_name(t.dtype()), ", the model's is ", dst.shape().str(), " ",
           dtype_name(dst.dtype()));
    }
  }
  for (const auto& [name, t] : file.tensors) {
    if (expected.count(name) == 0) {
      fail(path, ": the checkpoint does not match ", owner, ": it has '", name, "' ",
           t.shape().str(), ", which the model does not");
    }
  }
  for (const auto& [name, value] : state) graph.tensor(value).copy_from(file.at(name));
  return file.metadata;
}

void save_graph(const std::string& path, const Graph& graph,
                const std::map<std::string, std::string>& metadata) {
  save_state(path, graph, graph_state(graph), metadata);
}

std::map<std::string, std::string> load_graph(const std::string& path, Graph& graph) {
  return load_state(path, graph, graph_state(graph));
}

namespace {
// A double as text that reads back to the same bits.
std::string exact_text(double value) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}
}  // namespace

void save_training_state(const std::string& path, const Optimizer& optimizer,
                         const TrainPosition& position) {
  const std::map<std::string, std::string> meta = {
      {"format", kCheckpointFormat},
      {"format_version", kCheckpointVersion},
      {"content", "optimizer and data position"},
      {"optimizer", optimizer_kind_name(optimizer.kind())},
      {"epoch", std::to_string(position.epoch)},
      {"batch", std::to_string(position.batch)},
      {"forward_passes", std::to_string(position.forward_passes)},
      {"epoch_loss_sum", exact_text(position.epoch_loss_sum)},
      {"epoch_loss_samples", std::to_string(position.epoch_loss_samples)},
      {"nonfinite_steps", std::to_string(position.nonfinite_steps)},
      {"lr_scale", std::to_string(optimizer.lr_scale())}};
  const std::vector<std::pair<std::string, Tensor>> state = optimizer.state_dict();
  check_finite(path, state);
  write_safetensors(path, state, meta);
}

TrainPosition load_training_state(const std::string& path, Optimizer& optimizer) {
  const SafeTensors file = read_safetensors(path);
  auto number = [&](const char* key) {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end())
      fail(path, ": training state has no '", key, "' in its metadata");
    try {
      std::size_t used = 0;
      const long long v = std::stoll(it->second, &used);
      if (used != it->second.size() || v < 0) throw std::invalid_argument("");
      return static_cast<std::int64_t>(v);
    } catch (const std::exception&) {
      fail(path, ": training state metadata '", key, "' = '", it->second, "' is not a count");
    }
  };
  auto kind = file.metadata.find("optimizer");
  if (kind == file.metadata.end() || kind->second != optimizer_kind_name(optimizer.kind())) {
    fail(path, ": the training state is for optimizer '",
         kind == file.metadata.end() ? std::string("?") : kind->second, "', the spec uses '",
         optimizer_kind_name(optimizer.kind()), "'");
  }
  TrainPosition position;
  position.epoch = number("epoch");
  position.batch = number("batch");
  position.forward_passes = number("forward_passes");
  // Training states written before the epoch's loss sums were kept start the sums at 0.
  if (file.metadata.count("epoch_loss_samples") != 0) {
    position.epoch_loss_samples = number("epoch_loss_samples");
    const auto sum = file.metadata.find("epoch_loss_sum");
    const std::string text = sum == file.metadata.end() ? std::string() : sum->second;
    char* end = nullptr;
    position.epoch_loss_sum = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(position.epoch_loss_sum)) {
      fail(path, ": training state metadata 'epoch_loss_sum' = '", text,
           "' is not a finite number");
    }
  }
  // Written before non-finite steps were counted: none were.
  if (file.metadata.count("nonfinite_steps") != 0) {
    position.nonfinite_steps = number("nonfinite_steps");
  }
  optimizer.load_state_dict(file.tensors);
  return position;
}

}  // namespace myelin
