#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "myelin/export.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// Counts of (true class, predicted class) pairs: the basis of error analysis.
class MYELIN_API ConfusionMatrix {
 public:
  explicit ConfusionMatrix(std::int64_t classes);

  // Adds the argmax predictions of logits [N, C] (host or device) against labels [N].
  void add(const Tensor& logits, const Tensor& labels);
  // Adds predicted classes [N] against labels [N] (integers: an Evaluation's predictions and
  // labels, say).
  void add_predictions(const Tensor& predictions, const Tensor& labels);
  void add(std::int64_t truth, std::int64_t predicted);

  std::int64_t classes() const { return classes_; }
  std::int64_t count(std::int64_t truth, std::int64_t predicted) const;
  std::int64_t total() const;
  double accuracy() const;
  double error() const { return 1.0 - accuracy(); }
  // Per class: precision = tp / predicted, recall = tp / actual, F1 their harmonic mean (0 when
  // undefined, as scikit-learn's zero_division=0).
  double precision(std::int64_t c) const;
  double recall(std::int64_t c) const;
  double f1(std::int64_t c) const;
  // The unweighted mean of the per-class F1: the single-number metric.
  double macro_f1() const;

  // A per-class table (precision, recall, F1, support) and the matrix itself.
  std::string report(const std::vector<std::string>& class_names = {}) const;

 private:
  std::int64_t classes_;
  std::vector<std::int64_t> counts_;  // [truth][predicted]
};

// Bias and variance from training and dev error and, when known, a baseline (human-level or a
// reference) error: avoidable bias = train - baseline, variance = dev - train; the advice says
// which to attack first.
struct BiasVariance {
  double train_error = 0.0;
  double dev_error = 0.0;
  double baseline_error = -1.0;  // < 0: unknown
  double avoidable_bias() const {
    return train_error - (baseline_error >= 0 ? baseline_error : 0.0);
  }
  double variance() const { return dev_error - train_error; }
};
MYELIN_API std::string bias_variance_report(const BiasVariance& bv);

}  // namespace myelin
