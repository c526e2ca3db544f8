// The row sources the Trainer and evaluate() draw mini-batches from.
#include "myelin/batch_source.hpp"

#include <cstring>

#include "myelin/error.hpp"

namespace myelin {

BatchSource::~BatchSource() = default;

TensorSource::TensorSource(const Graph& graph, std::vector<std::pair<Value, Tensor>> data)
    : data_(std::move(data)) {
  if (data_.empty()) fail("trainer: no data given");
  rows_ = -1;
  for (const auto& [v, t] : data_) {
    const ValueInfo& info = graph.info(v);
    if (info.kind != ValueKind::kInput) fail("trainer: '", info.name, "' is not a graph input");
    if (!t.defined() || t.shape().rank() < 1) {
      fail("trainer: the data for '", info.name, "' needs a first (row) dimension");
    }
    if (!t.device().is_cpu()) fail("trainer: the data for '", info.name, "' must be on the host");
    if (rows_ >= 0 && t.shape()[0] != rows_) {
      fail("trainer: the data for '", info.name, "' has ", t.shape()[0], " rows, the first input ",
           rows_);
    }
    rows_ = t.shape()[0];
  }
  if (rows_ == 0) fail("trainer: the data has no rows");
}

void TensorSource::bind(Executor& executor, const std::int64_t* indices, std::int64_t count) {
  for (std::int64_t r = 0; r < count; ++r) {
    if (indices[r] < 0 || indices[r] >= rows_) {
      fail("data: row ", indices[r], " asked for, but the data has ", rows_, " rows");
    }
  }
  for (std::size_t k = 0; k < data_.size(); ++k) {
    const Tensor& src = data_[k].second;
    std::vector<std::int64_t> dims = src.shape().dims();
    dims[0] = count;
    // Gathered straight into the buffer the upload copies from (pinned memory on a GPU).
    Tensor batch = executor.input_staging(data_[k].first, Shape(dims), src.dtype());
    const std::size_t row_bytes = src.nbytes() / static_cast<std::size_t>(src.shape()[0]);
    const auto* from = static_cast<const unsigned char*>(src.raw());
    auto* to = static_cast<unsigned char*>(batch.raw());
    for (std::int64_t r = 0; r < count; ++r) {
      const auto row = static_cast<std::size_t>(indices[r]);
      std::memcpy(to + static_cast<std::size_t>(r) * row_bytes, from + row * row_bytes, row_bytes);
    }
    executor.set_input(data_[k].first, batch);
  }
}

}  // namespace myelin
