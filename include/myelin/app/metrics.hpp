#pragma once

#include <cmath>
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

// Multi-label metrics from logits [N, K] and labels [N, K] (0, 1 or NaN: missing, left out of
// every figure). A label is predicted present when its probability is at least 0.5 (logit >= 0).
struct LabelScores {
  std::int64_t observed = 0;                                       // rows where the label is known
  std::int64_t positives = 0;                                      // of those, rows where it is 1
  double accuracy = 0.0, precision = 0.0, recall = 0.0, f1 = 0.0;  // 0 when undefined
  double roc_auc = 0.0;  // NaN when the label has only one class among the observed rows
  double loss = 0.0;     // mean BCE over the observed rows
};
class MYELIN_API MultiLabelMetrics {
 public:
  MultiLabelMetrics(const Tensor& logits, const Tensor& labels);
  const std::vector<LabelScores>& labels() const { return labels_; }
  // Unweighted means over the labels (ROC AUC over the labels where it is defined).
  LabelScores macro() const;
  // The mean BCE over every observed entry (the training loss's definition).
  double loss() const { return loss_; }
  // 1 - macro accuracy: the mean share of wrong label decisions.
  double error() const { return 1.0 - macro().accuracy; }
  std::string report(const std::vector<std::string>& label_names = {}) const;

 private:
  std::vector<LabelScores> labels_;
  double loss_ = 0.0;
};

// Regression metrics from predictions [N, K] and targets [N, K]. R² = 1 - SS_res / SS_tot with
// the split's own target mean (NaN for a constant target); overall: MSE, RMSE and MAE over every
// entry, R² the mean of the targets' (scikit-learn's uniform average).
struct TargetScores {
  double mse = 0.0, rmse = 0.0, mae = 0.0, r2 = 0.0;
};
class MYELIN_API RegressionMetrics {
 public:
  RegressionMetrics(const Tensor& predictions, const Tensor& targets);
  const std::vector<TargetScores>& targets() const { return targets_; }
  const TargetScores& overall() const { return overall_; }
  std::int64_t rows() const { return rows_; }
  double error() const { return overall_.rmse; }  // in the targets' units
  std::string report(const std::vector<std::string>& target_names = {}) const;

 private:
  std::vector<TargetScores> targets_;
  TargetScores overall_;
  std::int64_t rows_ = 0;
};

// The error ladder of error analysis: baseline (human-level or a reference) -> train ->
// train-dev (held-out rows of the training distribution) -> dev -> test. Its gaps:
//   avoidable bias = train - baseline      variance = train-dev - train (dev - train without one)
//   data mismatch  = dev - train-dev       overfitting to dev = test - dev
// The report names the largest gap as the one to attack first. Unknown errors are < 0.
struct BiasVariance {
  double train_error = 0.0;
  double dev_error = 0.0;
  double baseline_error = -1.0;   // < 0: unknown (the advice then says it assumes 0)
  double train_dev_error = -1.0;  // < 0: no train-dev split
  double test_error = -1.0;       // < 0: not measured
  double avoidable_bias() const {
    return train_error - (baseline_error >= 0 ? baseline_error : 0.0);
  }
  double variance() const {
    return (train_dev_error >= 0 ? train_dev_error : dev_error) - train_error;
  }
  double data_mismatch() const { return train_dev_error >= 0 ? dev_error - train_dev_error : 0.0; }
  double dev_overfitting() const { return test_error >= 0 ? test_error - dev_error : 0.0; }
};
MYELIN_API std::string bias_variance_report(const BiasVariance& bv);

}  // namespace myelin
