// Checkpoints of a spec's model, in PyTorch's state_dict order.
#include "myelin/app/model_checkpoint.hpp"

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

}  // namespace myelin
