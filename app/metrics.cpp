#include "myelin/app/metrics.hpp"

#include <algorithm>
#include <cmath>
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

namespace {

std::vector<double> host_values(const Tensor& t, const char* what, const Shape& shape) {
  if (t.shape() != shape) fail(what, ": expected ", shape.str(), ", got ", t.shape().str());
  return t.to(Device::cpu()).to_vector<double>();
}

// Rank-based ROC AUC (the Mann-Whitney statistic), ties given their mean rank.
double roc_auc(std::vector<std::pair<double, int>>& scored, std::int64_t positives) {
  const auto n = static_cast<std::int64_t>(scored.size());
  const std::int64_t negatives = n - positives;
  if (positives == 0 || negatives == 0) return std::nan("");
  std::sort(scored.begin(), scored.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum = 0.0;
  for (std::int64_t i = 0; i < n;) {
    std::int64_t j = i;
    while (j < n &&
           scored[static_cast<std::size_t>(j)].first == scored[static_cast<std::size_t>(i)].first) {
      ++j;
    }
    const double mean_rank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1 .. j
    for (std::int64_t k = i; k < j; ++k) {
      if (scored[static_cast<std::size_t>(k)].second == 1) rank_sum += mean_rank;
    }
    i = j;
  }
  const double p = static_cast<double>(positives);
  return (rank_sum - p * (p + 1.0) / 2.0) / (p * static_cast<double>(negatives));
}

std::string name_of(const std::vector<std::string>& names, std::size_t i, const char* prefix) {
  return i < names.size() ? names[i] : prefix + std::to_string(i);
}

}  // namespace

MultiLabelMetrics::MultiLabelMetrics(const Tensor& logits, const Tensor& labels) {
  if (logits.shape().rank() != 2) fail("multi-label metrics: logits must be [N, K]");
  const std::int64_t n = logits.shape()[0], k = logits.shape()[1];
  const std::vector<double> z = host_values(logits, "multi-label metrics: logits", Shape{n, k});
  const std::vector<double> y = host_values(labels, "multi-label metrics: labels", Shape{n, k});
  labels_.resize(static_cast<std::size_t>(k));
  double total_loss = 0.0;
  std::int64_t total_observed = 0;
  std::vector<std::pair<double, int>> scored;
  for (std::int64_t j = 0; j < k; ++j) {
    LabelScores& s = labels_[static_cast<std::size_t>(j)];
    std::int64_t tp = 0, fp = 0, fn = 0, right = 0;
    double loss = 0.0;
    scored.clear();
    for (std::int64_t r = 0; r < n; ++r) {
      const double t = y[static_cast<std::size_t>(r * k + j)];
      if (std::isnan(t)) continue;
      const double x = z[static_cast<std::size_t>(r * k + j)];
      const int truth = t > 0.5 ? 1 : 0;
      const int predicted = x >= 0.0 ? 1 : 0;
      ++s.observed;
      s.positives += truth;
      tp += truth & predicted;
      fp += (1 - truth) & predicted;
      fn += truth & (1 - predicted);
      right += truth == predicted ? 1 : 0;
      loss += std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::fabs(x)));
      scored.emplace_back(x, truth);
    }
    auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    s.accuracy = ratio(static_cast<double>(right), static_cast<double>(s.observed));
    s.precision = ratio(static_cast<double>(tp), static_cast<double>(tp + fp));
    s.recall = ratio(static_cast<double>(tp), static_cast<double>(tp + fn));
    s.f1 = ratio(2.0 * s.precision * s.recall, s.precision + s.recall);
    s.roc_auc = roc_auc(scored, s.positives);
    s.loss = ratio(loss, static_cast<double>(s.observed));
    total_loss += loss;
    total_observed += s.observed;
  }
  loss_ = total_observed > 0 ? total_loss / static_cast<double>(total_observed) : 0.0;
}

LabelScores MultiLabelMetrics::macro() const {
  LabelScores m;
  std::int64_t with_auc = 0;
  for (const LabelScores& s : labels_) {
    m.observed += s.observed;
    m.positives += s.positives;
    m.accuracy += s.accuracy;
    m.precision += s.precision;
    m.recall += s.recall;
    m.f1 += s.f1;
    m.loss += s.loss;
    if (!std::isnan(s.roc_auc)) {
      m.roc_auc += s.roc_auc;
      ++with_auc;
    }
  }
  const double k = static_cast<double>(std::max<std::size_t>(1, labels_.size()));
  m.accuracy /= k;
  m.precision /= k;
  m.recall /= k;
  m.f1 /= k;
  m.loss /= k;
  m.roc_auc = with_auc > 0 ? m.roc_auc / static_cast<double>(with_auc) : std::nan("");
  return m;
}

std::string MultiLabelMetrics::report(const std::vector<std::string>& label_names) const {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %9s %9s %9s %9s %9s %9s %9s\n", "label", "accuracy",
                "precision", "recall", "F1", "ROC AUC", "observed", "positive");
  out << line;
  auto row = [&](const std::string& name, const LabelScores& s) {
    std::snprintf(line, sizeof line, "%-14s %9.4f %9.4f %9.4f %9.4f %9.4f %9lld %9lld\n",
                  name.c_str(), s.accuracy, s.precision, s.recall, s.f1, s.roc_auc,
                  static_cast<long long>(s.observed), static_cast<long long>(s.positives));
    out << line;
  };
  for (std::size_t j = 0; j < labels_.size(); ++j)
    row(name_of(label_names, j, "label "), labels_[j]);
  row("macro", macro());
  out << "(a label is predicted present at probability >= 0.5; missing labels are left out)\n";
  return out.str();
}

RegressionMetrics::RegressionMetrics(const Tensor& predictions, const Tensor& targets) {
  if (predictions.shape().rank() != 2) fail("regression metrics: predictions must be [N, K]");
  const std::int64_t n = predictions.shape()[0], k = predictions.shape()[1];
  const std::vector<double> p =
      host_values(predictions, "regression metrics: predictions", Shape{n, k});
  const std::vector<double> y = host_values(targets, "regression metrics: targets", Shape{n, k});
  rows_ = n;
  targets_.resize(static_cast<std::size_t>(k));
  double sq_all = 0.0, abs_all = 0.0, r2_sum = 0.0;
  for (std::int64_t j = 0; j < k; ++j) {
    double mean = 0.0;
    for (std::int64_t r = 0; r < n; ++r) mean += y[static_cast<std::size_t>(r * k + j)];
    mean /= static_cast<double>(std::max<std::int64_t>(1, n));
    double sq = 0.0, ab = 0.0, tot = 0.0;
    for (std::int64_t r = 0; r < n; ++r) {
      const double t = y[static_cast<std::size_t>(r * k + j)];
      const double d = p[static_cast<std::size_t>(r * k + j)] - t;
      sq += d * d;
      ab += std::fabs(d);
      tot += (t - mean) * (t - mean);
    }
    TargetScores& s = targets_[static_cast<std::size_t>(j)];
    const double rows = static_cast<double>(std::max<std::int64_t>(1, n));
    s.mse = sq / rows;
    s.rmse = std::sqrt(s.mse);
    s.mae = ab / rows;
    s.r2 = tot > 0.0 ? 1.0 - sq / tot : std::nan("");
    sq_all += sq;
    abs_all += ab;
    r2_sum += s.r2;
  }
  const double entries = static_cast<double>(std::max<std::int64_t>(1, n * k));
  overall_.mse = sq_all / entries;
  overall_.rmse = std::sqrt(overall_.mse);
  overall_.mae = abs_all / entries;
  overall_.r2 = r2_sum / static_cast<double>(std::max<std::int64_t>(1, k));
}

std::string RegressionMetrics::report(const std::vector<std::string>& target_names) const {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %12s %12s %12s %9s\n", "target", "MSE", "RMSE", "MAE",
                "R2");
  out << line;
  auto row = [&](const std::string& name, const TargetScores& s) {
    std::snprintf(line, sizeof line, "%-14s %12.6g %12.6g %12.6g %9.4f\n", name.c_str(), s.mse,
                  s.rmse, s.mae, s.r2);
    out << line;
  };
  for (std::size_t j = 0; j < targets_.size(); ++j) {
    row(name_of(target_names, j, "target "), targets_[j]);
  }
  row("overall", overall_);
  return out.str();
}

std::string bias_variance_report(const BiasVariance& bv) {
  std::ostringstream out;
  char line[256];
  const bool baseline = bv.baseline_error >= 0.0;
  out << "error ladder:\n";
  auto rung = [&](const char* name, double error, const char* gap_name, double gap) {
    if (gap_name == nullptr) {
      std::snprintf(line, sizeof line, "  %-10s %.4f\n", name, error);
    } else {
      std::snprintf(line, sizeof line, "  %-10s %.4f   %-20s %+.4f\n", name, error, gap_name, gap);
    }
    out << line;
  };
  if (baseline) {
    rung("baseline", bv.baseline_error, nullptr, 0.0);
  } else {
    out << "  baseline   unknown: assuming 0 (give the human-level or reference error with "
           "--baseline-error)\n";
  }
  rung("train", bv.train_error, "avoidable bias", bv.avoidable_bias());
  if (bv.train_dev_error >= 0.0) {
    rung("train-dev", bv.train_dev_error, "variance", bv.variance());
    rung("dev", bv.dev_error, "data mismatch", bv.data_mismatch());
  } else {
    rung("dev", bv.dev_error, "variance", bv.variance());
  }
  if (bv.test_error >= 0.0) rung("test", bv.test_error, "overfitting to dev", bv.dev_overfitting());
  // The same figures on one line, as earlier reports gave them.
  std::snprintf(line, sizeof line, "bias/variance: train error %.4f, dev error %.4f",
                bv.train_error, bv.dev_error);
  out << line;
  if (baseline) {
    std::snprintf(line, sizeof line, ", baseline %.4f: avoidable bias %.4f, variance %.4f",
                  bv.baseline_error, bv.avoidable_bias(), bv.variance());
  } else {
    std::snprintf(line, sizeof line, ": variance %.4f", bv.variance());
  }
  out << line;
  if (bv.train_dev_error >= 0.0) {
    std::snprintf(line, sizeof line, ", data mismatch %.4f", bv.data_mismatch());
    out << line;
  }
  out << "\n";
  struct Gap {
    double size;
    const char* name;
    const char* remedy;
  };
  std::vector<Gap> gaps = {{bv.avoidable_bias(), "the avoidable bias",
                            "a bigger model, longer training or a better optimizer"},
                           {bv.variance(), "the variance",
                            "more data or more regularisation (dropout, L2, weight decay)"}};
  if (bv.train_dev_error >= 0.0) {
    gaps.push_back({bv.data_mismatch(), "the data mismatch",
                    "error analysis of dev against training examples, then training data more "
                    "like dev and test (collected or synthesised)"});
  }
  if (bv.test_error >= 0.0) {
    gaps.push_back({bv.dev_overfitting(), "the overfitting to dev",
                    "a bigger dev set (the choices made on this one fit it)"});
  }
  const Gap* largest = &gaps[0];
  for (const Gap& g : gaps) {
    if (g.size > largest->size) largest = &g;
  }
  out << (baseline ? "advice: " : "advice (assuming a baseline error of 0): ") << largest->name
      << " is the largest gap: attack it first with " << largest->remedy << "\n";
  if (bv.train_dev_error < 0.0) {
    out << "(no train-dev split: variance and data mismatch are one figure; data.train_dev_size "
           "separates them)\n";
  }
  return out.str();
}

}  // namespace myelin
