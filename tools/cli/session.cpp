#include "session.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

namespace myelin::cli {

Device choose_device(const std::string& requested, std::string& note) {
  if (requested != "auto") {
    const Device d = parse_device(requested);
    note = "as the spec asks";
    return d;
  }
  std::string why;
  if (build_info().emulated) {  // a test device: runs kernels on the CPU, far slower
    note = "the CUDA device is emulated (choose it with --device cuda)";
    return Device::cpu();
  }
  if (cuda_device_count(&why) > 0) {
    note = "a GPU is usable";
    return Device::cuda(0);
  }
  note = "no usable GPU: " + why;
  return Device::cpu();
}

SplitResult evaluate_split(Executor& executor, const SequentialModel& model, const Split& split,
                           const Normalization& normalization, std::int64_t batch_size,
                           std::int64_t limit) {
  SplitResult result;
  result.confusion = ConfusionMatrix(model.classes);
  const std::int64_t rows = limit > 0 ? std::min(limit, split.rows()) : split.rows();
  SplitSource source(split, normalization, model.input, model.labels);
  std::vector<std::int64_t> indices(static_cast<std::size_t>(batch_size));
  double total = 0.0;
  for (std::int64_t begin = 0; begin < rows; begin += batch_size) {
    const std::int64_t count = std::min(batch_size, rows - begin);
    for (std::int64_t i = 0; i < count; ++i) indices[static_cast<std::size_t>(i)] = begin + i;
    source.bind(executor, indices.data(), count);
    executor.forward(Mode::kEval);
    total += executor.value(model.loss).item() * static_cast<double>(count);
    Tensor labels = Tensor::empty(Shape{count}, DType::kInt64);
    std::memcpy(labels.raw(), split.labels.data<std::int64_t>() + begin,
                static_cast<std::size_t>(count) * sizeof(std::int64_t));
    result.confusion.add(executor.value(model.logits), labels);
  }
  result.loss = rows > 0 ? total / static_cast<double>(rows) : 0.0;
  return result;
}

std::vector<std::string> class_names(const DataSpec& data, std::int64_t classes) {
  if (classes == 10 && data.train_features.find("fashion-mnist") != std::string::npos) {
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  }
  return {};
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace myelin::cli
