#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "myelin/executor.hpp"
#include "myelin/export.hpp"
#include "myelin/graph.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// Where rows come from for training and evaluation. The Trainer and evaluate() ask for
// mini-batches by row index; a source binds them to the graph's inputs (and may transform them
// on the way: gather compact uint8 images and normalise them, say).
class MYELIN_API BatchSource {
 public:
  virtual ~BatchSource();
  virtual std::int64_t rows() const = 0;
  // Binds rows indices[0..count) as one batch with executor.set_input.
  virtual void bind(Executor& executor, const std::int64_t* indices, std::int64_t count) = 0;
};

// Tensors with the same number of rows, one per graph input, gathered row by row.
class MYELIN_API TensorSource : public BatchSource {
 public:
  explicit TensorSource(const Graph& graph, std::vector<std::pair<Value, Tensor>> data);
  std::int64_t rows() const override { return rows_; }
  void bind(Executor& executor, const std::int64_t* indices, std::int64_t count) override;

 private:
  std::vector<std::pair<Value, Tensor>> data_;
  std::int64_t rows_ = 0;
};

}  // namespace myelin
