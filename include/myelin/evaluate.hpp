#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "myelin/batch_source.hpp"
#include "myelin/executor.hpp"
#include "myelin/export.hpp"
#include "myelin/graph.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// Using a trained graph: outputs for new rows (predict, no labels needed) and the metrics of a
// labelled data set (evaluate). Both run in eval mode (dropout off, batch norm on its running
// statistics) and read the graph's weights, or the executor's when one is given.

// The values of `output` for every row of `inputs` (only the inputs it depends on: no labels),
// in batches of `batch_size`, on options.device, stacked into a host tensor whose first
// dimension is the rows. It reads the graph's weights: the trained ones after Trainer::fit.
MYELIN_API Tensor predict(Graph& graph, Value output,
                          const std::vector<std::pair<Value, Tensor>>& inputs,
                          const ExecutorOptions& options = {}, std::int64_t batch_size = 256);

// The class each row predicts: the index of its largest logit (the first of equal ones).
// logits [N, C] floating, on any device; the result is [N] int64 on the host.
MYELIN_API Tensor predicted_classes(const Tensor& logits);

// Share of rows whose largest logit is at the label's index. logits [N, C] floating, labels
// [N] int32/int64, both on the host or both on one device (counted there: only the count comes
// back).
MYELIN_API double accuracy(const Tensor& logits, const Tensor& labels);

// What evaluate() reads and how.
struct EvaluateOptions {
  std::int64_t batch_size = 256;
  std::int64_t limit = 0;  // only the first `limit` rows (0: all of them)
  // A classifier's logits [batch, C] and integer labels [batch] (a graph input): with both,
  // the evaluation holds each row's predicted class, its label and the accuracy. Either may be
  // left unset (Value{}): a model without logits is measured by its loss alone.
  Value logits;
  Value labels;
  // Any value with one row per input row (a multi-label model's logits, a regressor's outputs):
  // the evaluation holds its rows, stacked on the host.
  Value outputs;
};

struct Evaluation {
  std::int64_t rows = 0;
  double loss = 0.0;      // mean over the rows (batches weighted by their size)
  double accuracy = 0.0;  // share of rows predicted right (with logits and labels)
  Tensor predictions;     // [rows] int64: the predicted classes, in row order (with logits)
  Tensor labels;          // [rows] int64: the labels they were scored against (with labels)
  Tensor outputs;         // [rows, ...]: the rows of EvaluateOptions::outputs (when set)
};

// Runs `executor` in eval mode over the rows of `source` in order, batch by batch: the mean of
// the scalar `loss` (unset: not measured) and, for a classifier, predictions and accuracy. The
// executor must compute what is read (ExecutorOptions::outputs). Throws when the source has no
// rows.
MYELIN_API Evaluation evaluate(Executor& executor, Value loss, BatchSource& source,
                               const EvaluateOptions& options = {});

}  // namespace myelin
