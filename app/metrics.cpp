#include "myelin/app/metrics.hpp"

#include <cstdio>
#include <sstream>

#include "myelin/error.hpp"
#include "myelin/evaluate.hpp"

namespace myelin {

ConfusionMatrix::ConfusionMatrix(std::int64_t classes) : classes_(classes) {
  if (classes <= 0) fail("confusion matrix: the number of classes must be positive, got ", classes);
  counts_.assign(static_cast<std::size_t>(classes * classes), 0);
}

void ConfusionMatrix::add(std::int64_t truth, std::int64_t predicted) {
  if (truth < 0 || truth >= classes_ || predicted < 0 || predicted >= classes_) {
    fail("confusion matrix: class ", truth, " or ", predicted, " is outside [0, ", classes_, ")");
  }
  ++counts_[static_cast<std::size_t>(truth * classes_ + predicted)];
}

void ConfusionMatrix::add(const Tensor& logits, const Tensor& labels) {
  if (logits.shape().rank() != 2 || logits.shape()[1] != classes_) {
    fail("confusion matrix: expected logits [N, ", classes_, "], got ", logits.shape().str());
  }
  add_predictions(predicted_classes(logits), labels);
}

void ConfusionMatrix::add_predictions(const Tensor& predictions, const Tensor& labels) {
  if (predictions.shape().rank() != 1 || labels.shape() != predictions.shape() ||
      is_floating(predictions.dtype()) || is_floating(labels.dtype())) {
    fail("confusion matrix: expected integer predictions [N] and labels [N], got ",
         dtype_name(predictions.dtype()), " ", predictions.shape().str(), " and ",
         dtype_name(labels.dtype()), " ", labels.shape().str());
  }
  const std::vector<std::int64_t> p = predictions.to_vector<std::int64_t>();
  const std::vector<std::int64_t> y = labels.to_vector<std::int64_t>();
  for (std::size_t r = 0; r < p.size(); ++r) add(y[r], p[r]);
}

std::int64_t ConfusionMatrix::count(std::int64_t truth, std::int64_t predicted) const {
  return counts_[static_cast<std::size_t>(truth * classes_ + predicted)];
}

std::int64_t ConfusionMatrix::total() const {
  std::int64_t n = 0;
  for (std::int64_t c : counts_) n += c;
  return n;
}

double ConfusionMatrix::accuracy() const {
  const std::int64_t n = total();
  if (n == 0) return 0.0;
  std::int64_t correct = 0;
  for (std::int64_t c = 0; c < classes_; ++c) correct += count(c, c);
  return static_cast<double>(correct) / static_cast<double>(n);
}

double ConfusionMatrix::precision(std::int64_t c) const {
  std::int64_t predicted = 0;
  for (std::int64_t t = 0; t < classes_; ++t) predicted += count(t, c);
  return predicted == 0 ? 0.0 : static_cast<double>(count(c, c)) / static_cast<double>(predicted);
}

double ConfusionMatrix::recall(std::int64_t c) const {
  std::int64_t actual = 0;
  for (std::int64_t p = 0; p < classes_; ++p) actual += count(c, p);
  return actual == 0 ? 0.0 : static_cast<double>(count(c, c)) / static_cast<double>(actual);
}

double ConfusionMatrix::f1(std::int64_t c) const {
  const double p = precision(c), r = recall(c);
  return p + r == 0.0 ? 0.0 : 2.0 * p * r / (p + r);
}

double ConfusionMatrix::macro_f1() const {
  double sum = 0.0;
  for (std::int64_t c = 0; c < classes_; ++c) sum += f1(c);
  return sum / static_cast<double>(classes_);
}

std::string ConfusionMatrix::report(const std::vector<std::string>& class_names) const {
  auto name = [&](std::int64_t c) {
    return c < static_cast<std::int64_t>(class_names.size())
               ? class_names[static_cast<std::size_t>(c)]
               : std::to_string(c);
  };
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %9s %9s %9s %9s\n", "class", "precision", "recall", "f1",
                "support");
  out << line;
  for (std::int64_t c = 0; c < classes_; ++c) {
    std::int64_t support = 0;
    for (std::int64_t p = 0; p < classes_; ++p) support += count(c, p);
    std::snprintf(line, sizeof line, "%-14s %9.4f %9.4f %9.4f %9lld\n", name(c).c_str(),
                  precision(c), recall(c), f1(c), static_cast<long long>(support));
    out << line;
  }
  std::snprintf(line, sizeof line, "%-14s %9s %9s %9.4f %9lld\n", "macro", "", "", macro_f1(),
                static_cast<long long>(total()));
  out << line << "\nconfusion matrix (rows: true class, columns: predicted)\n";
  std::snprintf(line, sizeof line, "%14s", "");
  out << line;
  for (std::int64_t p = 0; p < classes_; ++p) {
    std::snprintf(line, sizeof line, " %6lld", static_cast<long long>(p));
    out << line;
  }
  out << '\n';
  for (std::int64_t t = 0; t < classes_; ++t) {
    std::snprintf(line, sizeof line, "%-14s", name(t).c_str());
    out << line;
    for (std::int64_t p = 0; p < classes_; ++p) {
      std::snprintf(line, sizeof line, " %6lld", static_cast<long long>(count(t, p)));
      out << line;
    }
    out << '\n';
  }
  return out.str();
}

std::string bias_variance_report(const BiasVariance& bv) {
  std::ostringstream out;
  char line[256];
  if (bv.baseline_error >= 0.0) {
    std::snprintf(line, sizeof line,
                  "bias/variance: train error %.4f, dev error %.4f, baseline %.4f: avoidable bias "
                  "%.4f, variance %.4f\n",
                  bv.train_error, bv.dev_error, bv.baseline_error, bv.avoidable_bias(),
                  bv.variance());
  } else {
    std::snprintf(line, sizeof line,
                  "bias/variance: train error %.4f, dev error %.4f: variance %.4f (give "
                  "--baseline-error for the avoidable bias)\n",
                  bv.train_error, bv.dev_error, bv.variance());
  }
  out << line;
  const double bias = bv.avoidable_bias();
  const double variance = bv.variance();
  if (bias >= variance) {
    out << "advice: the avoidable bias is the larger gap: attack it first with a bigger model, "
           "longer training or a better optimizer\n";
  } else {
    out << "advice: the variance is the larger gap: attack it first with more data or more "
           "regularisation (dropout, L2, weight decay)\n";
  }
  return out.str();
}

}  // namespace myelin
