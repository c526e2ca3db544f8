// Using a trained graph: predict, predicted classes, accuracy and evaluate.
#include "myelin/evaluate.hpp"

#include <algorithm>
#include <cstring>

#include "backends/backend.hpp"
#include "myelin/error.hpp"

namespace myelin {

namespace {

void check_logits(const char* what, const Tensor& logits) {
  if (logits.shape().rank() != 2) {
    fail(what, ": expected logits [N, C], got ", logits.shape().str());
  }
  if (!is_floating(logits.dtype())) {
    fail(what, ": logits must be floating-point, got ", dtype_name(logits.dtype()));
  }
}

// Row indices 0..rows-1: evaluation visits the rows in order.
std::vector<std::int64_t> in_order(std::int64_t rows) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(rows));
  for (std::int64_t i = 0; i < rows; ++i) order[static_cast<std::size_t>(i)] = i;
  return order;
}

}  // namespace

Tensor predict(Graph& graph, Value output, const std::vector<std::pair<Value, Tensor>>& inputs,
               const ExecutorOptions& options, std::int64_t batch_size) {
  if (batch_size < 1) fail("predict: batch_size must be >= 1, got ", batch_size);
  ExecutorOptions e = options;
  e.outputs = {output};
  Executor executor(graph, e);
  TensorSource source(graph, inputs);
  const std::int64_t rows = source.rows();
  const std::vector<std::int64_t> order = in_order(rows);
  Tensor result;
  std::size_t row_bytes = 0;
  for (std::int64_t begin = 0; begin < rows; begin += batch_size) {
    const std::int64_t count = std::min(rows, begin + batch_size) - begin;
    source.bind(executor, order.data() + begin, count);
    executor.forward(Mode::kEval, 0);
    const Tensor out = executor.value(output).to(Device::cpu());
    if (out.shape().rank() < 1 || out.shape()[0] != count) {
      fail("predict: '", graph.name(output), "' is ", out.shape().str(), " for a batch of ", count,
           " rows: it must have one row per input row");
    }
    if (!result.defined()) {
      std::vector<std::int64_t> dims = out.shape().dims();
      dims[0] = rows;
      result = Tensor::empty(Shape(dims), out.dtype());
      row_bytes = out.nbytes() / static_cast<std::size_t>(count);
    }
    std::memcpy(
        static_cast<unsigned char*>(result.raw()) + static_cast<std::size_t>(begin) * row_bytes,
        out.raw(), out.nbytes());
  }
  return result;
}

Tensor predicted_classes(const Tensor& logits) {
  check_logits("predicted_classes", logits);
  const std::int64_t n = logits.shape()[0];
  const std::int64_t classes = logits.shape()[1];
  const std::vector<double> z = logits.to_vector<double>();
  Tensor result = Tensor::empty(Shape{n}, DType::kInt64);
  std::int64_t* out = result.data<std::int64_t>();
  for (std::int64_t r = 0; r < n; ++r) {
    const double* row = z.data() + r * classes;
    out[r] = static_cast<std::int64_t>(std::max_element(row, row + classes) - row);
  }
  return result;
}

double accuracy(const Tensor& logits, const Tensor& labels) {
  check_logits("accuracy", logits);
  if (labels.shape() != Shape{logits.shape()[0]}) {
    fail("accuracy: expected logits [N, C] and labels [N], got ", logits.shape().str(), " and ",
         labels.shape().str());
  }
  const std::int64_t n = logits.shape()[0];
  if (n == 0) return 0.0;
  if (labels.dtype() != DType::kInt64 && labels.dtype() != DType::kInt32) {
    fail("accuracy: labels must be int32 or int64, got ", dtype_name(labels.dtype()));
  }
  if (logits.device().is_cuda()) {  // counted on the device, only the count comes back
    return static_cast<double>(backend::count_correct_on_device(logits, labels)) /
           static_cast<double>(n);
  }
  const std::vector<std::int64_t> predicted = predicted_classes(logits).to_vector<std::int64_t>();
  const std::vector<std::int64_t> y = labels.to_vector<std::int64_t>();
  std::int64_t correct = 0;
  for (std::size_t r = 0; r < predicted.size(); ++r) correct += predicted[r] == y[r] ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(n);
}

Evaluation evaluate(Executor& executor, Value loss, BatchSource& source,
                    const EvaluateOptions& options) {
  if (options.batch_size < 1) fail("evaluate: batch_size must be >= 1, got ", options.batch_size);
  if (options.limit < 0) fail("evaluate: limit must be >= 0 (0: all rows), got ", options.limit);
  const Graph& graph = executor.graph();
  if (loss.valid() && graph.shape(loss).numel() != 1) {
    fail("evaluate: the loss '", graph.name(loss), "' must be a scalar, it is ",
         graph.shape(loss).str());
  }
  if (options.labels.valid() && graph.info(options.labels).kind != ValueKind::kInput) {
    fail("evaluate: the labels '", graph.name(options.labels), "' must be a graph input");
  }
  Evaluation result;
  result.rows = options.limit > 0 ? std::min(options.limit, source.rows()) : source.rows();
  if (result.rows <= 0) fail("evaluate: the data has no rows");
  const bool classify = options.logits.valid();
  const bool scored = classify && options.labels.valid();
  if (classify) result.predictions = Tensor::empty(Shape{result.rows}, DType::kInt64);
  if (options.labels.valid()) result.labels = Tensor::empty(Shape{result.rows}, DType::kInt64);

  const std::vector<std::int64_t> order = in_order(result.rows);
  std::size_t output_row_bytes = 0;
  double total = 0.0;
  std::int64_t correct = 0;
  for (std::int64_t begin = 0; begin < result.rows; begin += options.batch_size) {
    const std::int64_t count = std::min(result.rows, begin + options.batch_size) - begin;
    source.bind(executor, order.data() + begin, count);
    executor.forward(Mode::kEval, 0);
    if (loss.valid()) total += executor.value(loss).item() * static_cast<double>(count);
    if (options.labels.valid()) {
      const Tensor& y = executor.value(options.labels);
      if (y.shape() != Shape{count} || is_floating(y.dtype())) {
        fail("evaluate: the labels '", graph.name(options.labels), "' must be integers [", count,
             "], got ", dtype_name(y.dtype()), " ", y.shape().str());
      }
      const std::vector<std::int64_t> host = y.to_vector<std::int64_t>();
      std::copy(host.begin(), host.end(), result.labels.data<std::int64_t>() + begin);
    }
    if (classify) {
      const Tensor& logits = executor.value(options.logits);
      if (logits.shape().rank() != 2 || logits.shape()[0] != count) {
        fail("evaluate: the logits '", graph.name(options.logits), "' must be [", count,
             ", C] for a batch of ", count, " rows, got ", logits.shape().str());
      }
      const Tensor predicted = predicted_classes(logits);
      std::memcpy(result.predictions.data<std::int64_t>() + begin, predicted.data<std::int64_t>(),
                  static_cast<std::size_t>(count) * sizeof(std::int64_t));
    }
    if (options.outputs.valid()) {
      const Tensor out = executor.value(options.outputs).to(Device::cpu());
      if (out.shape().rank() < 1 || out.shape()[0] != count) {
        fail("evaluate: '", graph.name(options.outputs), "' is ", out.shape().str(),
             " for a batch of ", count, " rows: it must have one row per input row");
      }
      if (!result.outputs.defined()) {
        std::vector<std::int64_t> dims = out.shape().dims();
        dims[0] = result.rows;
        result.outputs = Tensor::empty(Shape(dims), out.dtype());
        output_row_bytes = out.nbytes() / static_cast<std::size_t>(count);
      }
      std::memcpy(static_cast<unsigned char*>(result.outputs.raw()) +
                      static_cast<std::size_t>(begin) * output_row_bytes,
                  out.raw(), out.nbytes());
    }
  }
  if (scored) {
    const std::int64_t* p = result.predictions.data<std::int64_t>();
    const std::int64_t* y = result.labels.data<std::int64_t>();
    for (std::int64_t r = 0; r < result.rows; ++r) correct += p[r] == y[r] ? 1 : 0;
    result.accuracy = static_cast<double>(correct) / static_cast<double>(result.rows);
  }
  result.loss = loss.valid() ? total / static_cast<double>(result.rows) : 0.0;
  return result;
}

}  // namespace myelin
