#include "myelin/app/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "myelin/error.hpp"
#include "myelin/io.hpp"
#include "myelin/random.hpp"
#include "util/strings.hpp"

namespace myelin {

namespace {

// Batches of at least this many features are gathered by the OpenMP team.
constexpr std::int64_t kParallelGatherElements = 65536;

// Calls fn with a value of the C++ type of `dtype` (a tag: features are read in their own type).
template <typename Fn>
void with_element_type(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kUInt8:
      fn(std::uint8_t{});
      break;
    case DType::kFloat32:
      fn(float{});
      break;
    case DType::kFloat64:
      fn(double{});
      break;
    case DType::kInt32:
      fn(std::int32_t{});
      break;
    case DType::kInt64:
      fn(std::int64_t{});
      break;
  }
}

// Features as [N, F]: images [N, H, W] are flattened.
Tensor as_matrix(const Tensor& t, const std::string& name) {
  if (t.shape().rank() < 1) fail(name, ": expected rows of features, got a scalar");
  if (t.shape().rank() == 1) return t.reshaped(Shape{t.shape()[0], 1});
  std::int64_t f = 1;
  for (int a = 1; a < t.shape().rank(); ++a) f *= t.shape()[a];
  return t.reshaped(Shape{t.shape()[0], f});
}

Tensor as_class_labels(const Tensor& t, const std::string& name) {
  if (t.shape().rank() != 1 && !(t.shape().rank() == 2 && t.shape()[1] == 1)) {
    fail(name, ": expected one class index per row, got shape ", t.shape().str(),
         " (labels [N, K] need \"task\": \"multi_label\" or \"regression\")");
  }
  const std::int64_t n = t.shape()[0];
  Tensor labels = Tensor::empty(Shape{n}, DType::kInt64);
  const std::vector<double> v = t.to_vector<double>();
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = v[static_cast<std::size_t>(i)];
    if (!(x >= 0.0) || x != std::floor(x) || x > 1e9) {
      fail(name, ": label ", x, " at row ", i, " is not a non-negative integer class index",
           x == std::floor(x) || std::isnan(x)
               ? ""
               : " (real-valued targets need \"task\": \"regression\")");
    }
    labels.data<std::int64_t>()[i] = static_cast<std::int64_t>(x);
  }
  return labels;
}

// Labels [N, K] float32 of a multi-label or regression task ([N] is one column).
Tensor as_targets(const Tensor& t, const std::string& name, Task task) {
  if (t.shape().rank() != 1 && t.shape().rank() != 2) {
    fail(name, ": expected labels [N] or [N, K], got shape ", t.shape().str());
  }
  const std::int64_t n = t.shape()[0];
  const std::int64_t k = t.shape().rank() == 2 ? t.shape()[1] : 1;
  if (k == 0) fail(name, ": has no label columns");
  Tensor out = Tensor::empty(Shape{n, k}, DType::kFloat32);
  const std::vector<double> v = t.to_vector<double>();
  float* y = out.data<float>();
  for (std::int64_t i = 0; i < n * k; ++i) {
    const double x = v[static_cast<std::size_t>(i)];
    if (task == Task::kMultiLabel && !(x == 0.0 || x == 1.0 || std::isnan(x))) {
      fail(name, ": row ", i / k, ", label ", i % k, ": ", x,
           " is not 0, 1 or NaN (missing): multi_label labels are binary");
    }
    if (task == Task::kRegression) {
      if (std::isnan(x)) {
        fail(name, ": row ", i / k, ", target ", i % k,
             " is missing: regression targets must all be given");
      }
      if (!std::isfinite(x) || std::fabs(x) > std::numeric_limits<float>::max()) {
        fail(name, ": row ", i / k, ", target ", i % k, ": ", x, " is not a finite float32");
      }
    }
    y[i] = static_cast<float>(x);
  }
  return out;
}

Tensor as_labels(const Tensor& t, const std::string& name, Task task) {
  return task == Task::kClassification ? as_class_labels(t, name) : as_targets(t, name, task);
}

// Training on a NaN or an infinity gives NaN everywhere: every feature value must be finite.
template <typename T>
void check_finite_values(const Tensor& features, const std::string& name) {
  const T* v = features.data<T>();
  const std::int64_t cols = features.shape()[1];
  for (std::int64_t i = 0; i < features.numel(); ++i) {
    if (!std::isfinite(v[i])) {
      fail(name, ": row ", i / cols, ", column ", i % cols, ": ", static_cast<double>(v[i]),
           " is not a finite number");
    }
  }
}

void check_features(const Tensor& features, const std::string& name) {
  if (features.shape()[1] == 0) fail(name, ": has no feature columns");
  if (features.dtype() == DType::kFloat32) check_finite_values<float>(features, name);
  if (features.dtype() == DType::kFloat64) check_finite_values<double>(features, name);
}

Split read_pair(const DataSpec& spec, const std::string& features, const std::string& labels,
                Task task) {
  // A .npy file is read as NumPy whatever the format (an IDX training set with a derived .npy
  // dev set, say).
  auto read = [&](const std::string& path) {
    const bool npy =
        spec.format == "npy" || (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0);
    return npy ? read_npy(path) : read_idx(path);
  };
  const Tensor x = read(features);
  const Tensor y = read(labels);
  Split s{as_matrix(x, features), as_labels(y, labels, task)};
  check_features(s.features, features);
  if (s.features.shape()[0] != s.labels.shape()[0]) {
    fail(features, " has ", s.features.shape()[0], " rows but ", labels, " has ",
         s.labels.shape()[0], " labels");
  }
  return s;
}

// The label columns of a CSV table, in output order.
std::vector<std::int64_t> label_column_indices(const DataSpec& spec, const CsvTable& table,
                                               const std::string& path, Task task) {
  const auto cols = static_cast<std::int64_t>(table.values.shape()[1]);
  std::vector<ColumnRef> refs = spec.label_columns;
  if (refs.empty()) refs.push_back({"", spec.label_column});
  std::vector<std::int64_t> out;
  for (const ColumnRef& ref : refs) {
    std::int64_t c = -1;
    if (!ref.name.empty()) {
      if (table.header.empty()) {
        fail(path, ": label column '", ref.name, "' is named, but the file has no header line");
      }
      for (std::size_t k = 0; k < table.header.size(); ++k) {
        if (table.header[k] == ref.name) c = static_cast<std::int64_t>(k);
      }
      if (c < 0) {
        fail(path, ": no column is named '", ref.name, "'", did_you_mean(ref.name, table.header));
      }
    } else {
      c = ref.index < 0 ? cols + ref.index : ref.index;
      if (c < 0 || c >= cols) {
        fail(path, ": label column ", ref.index, " is out of range for ", cols, " columns");
      }
    }
    if (std::find(out.begin(), out.end(), c) != out.end()) {
      fail(path, ": column ", c, " is named twice among the label columns");
    }
    out.push_back(c);
  }
  if (task == Task::kClassification && out.size() != 1) {
    fail(path, ": classification takes one label column, got ", out.size(),
         " (several labels per row need \"task\": \"multi_label\" or \"regression\")");
  }
  if (static_cast<std::int64_t>(out.size()) >= cols) {
    fail(path, ": ", out.size(), " label columns leave no feature column out of ", cols);
  }
  return out;
}

Split read_csv_split(const DataSpec& spec, const std::string& path, Task task,
                     std::vector<std::string>* label_names = nullptr) {
  const CsvTable table = read_csv(path, /*missing_allowed=*/true);
  const std::int64_t rows = table.values.shape()[0], cols = table.values.shape()[1];
  if (cols < 2) fail(path, ": needs at least one feature column and a label column");
  const std::vector<std::int64_t> labels = label_column_indices(spec, table, path, task);
  std::vector<char> is_label(static_cast<std::size_t>(cols), 0);
  for (std::int64_t c : labels) is_label[static_cast<std::size_t>(c)] = 1;
  // Only a multi-label task's labels may be missing; anywhere else an empty cell is an error.
  for (std::int64_t c = 0; c < cols; ++c) {
    const std::size_t line = table.first_missing_line[static_cast<std::size_t>(c)];
    if (line == 0) continue;
    if (!is_label[static_cast<std::size_t>(c)]) {
      fail(path, ":", line, ": field ", c + 1,
           " is empty or NaN: a feature must be a number (only multi_label labels may be missing)");
    }
    if (task != Task::kMultiLabel) {
      fail(path, ":", line, ": field ", c + 1, " (a label) is empty or NaN: only ",
           "multi_label labels may be missing");
    }
  }
  const auto k = static_cast<std::int64_t>(labels.size());
  Tensor x = Tensor::empty(Shape{rows, cols - k}, DType::kFloat32);
  Tensor y = Tensor::empty(Shape{rows, k}, DType::kFloat32);
  const float* v = table.values.data<float>();
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t f = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      if (!is_label[static_cast<std::size_t>(c)])
        x.data<float>()[r * (cols - k) + f++] = v[r * cols + c];
    }
    for (std::int64_t j = 0; j < k; ++j) {
      y.data<float>()[r * k + j] = v[r * cols + labels[static_cast<std::size_t>(j)]];
    }
  }
  if (label_names != nullptr && !table.header.empty()) {
    label_names->clear();
    for (std::int64_t c : labels) label_names->push_back(table.header[static_cast<std::size_t>(c)]);
  }
  return Split{x, as_labels(y, path + " (label columns)", task)};
}

Split take_rows(const Split& s, const std::vector<std::int64_t>& rows) {
  std::vector<std::int64_t> dims = s.features.shape().dims();
  dims[0] = static_cast<std::int64_t>(rows.size());
  std::vector<std::int64_t> label_dims = s.labels.shape().dims();
  label_dims[0] = static_cast<std::int64_t>(rows.size());
  Split out{Tensor::empty(Shape(dims), s.features.dtype()),
            Tensor::empty(Shape(label_dims), s.labels.dtype())};
  const auto n = static_cast<std::size_t>(std::max<std::int64_t>(1, s.rows()));
  const std::size_t row_bytes = s.features.nbytes() / n;
  const std::size_t label_bytes = s.labels.nbytes() / n;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto r = static_cast<std::size_t>(rows[i]);
    std::memcpy(static_cast<unsigned char*>(out.features.raw()) + i * row_bytes,
                static_cast<const unsigned char*>(s.features.raw()) + r * row_bytes, row_bytes);
    std::memcpy(static_cast<unsigned char*>(out.labels.raw()) + i * label_bytes,
                static_cast<const unsigned char*>(s.labels.raw()) + r * label_bytes, label_bytes);
  }
  return out;
}

}  // namespace

DataSplits load_data(const DataSpec& spec, std::uint64_t seed, bool with_test, Task task) {
  DataSplits d;
  auto read_split = [&](const std::string& csv, const std::string& features,
                        const std::string& labels, std::vector<std::string>* names) {
    return spec.format == "csv" ? read_csv_split(spec, csv, task, names)
                                : read_pair(spec, features, labels, task);
  };
  Split all = read_split(spec.train_csv, spec.train_features, spec.train_labels, &d.label_names);
  const std::int64_t n = spec.limit > 0 ? std::min(spec.limit, all.rows()) : all.rows();
  const std::int64_t held_out = spec.dev_size + spec.train_dev_size;
  if (held_out >= n) {
    fail("data: dev_size ", spec.dev_size, spec.train_dev_size > 0 ? " and train_dev_size " : "",
         spec.train_dev_size > 0 ? std::to_string(spec.train_dev_size) : "",
         " leave no training rows out of the ", n, " rows ",
         spec.limit > 0 ? "that limit keeps (limit counts rows before the dev split)"
                        : "of the training file",
         ": lower dev_size (myelin train --dev-size N, e.g. ", std::max<std::int64_t>(1, n / 5),
         " for a fifth)", spec.limit > 0 ? " or raise the limit" : "");
  }
  // The held-out rows: a seeded shuffle picks them (dev first, then train-dev), the training rows
  // keep the file's order.
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  Rng rng(seed, stable_id("dev split"));
  for (std::int64_t i = n - 1; i > 0; --i) {
    std::swap(order[static_cast<std::size_t>(i)],
              order[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i + 1)))]);
  }
  std::vector<char> held(static_cast<std::size_t>(n), 0);
  std::vector<std::int64_t> dev_rows(order.begin(), order.begin() + spec.dev_size);
  std::vector<std::int64_t> train_dev_rows(order.begin() + spec.dev_size, order.begin() + held_out);
  std::vector<std::int64_t> train_rows;
  for (std::int64_t i = 0; i < held_out; ++i) {
    held[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = 1;
  }
  std::sort(dev_rows.begin(), dev_rows.end());
  std::sort(train_dev_rows.begin(), train_dev_rows.end());
  for (std::int64_t i = 0; i < n; ++i) {
    if (!held[static_cast<std::size_t>(i)]) train_rows.push_back(i);
  }
  d.train = take_rows(all, train_rows);
  d.dev = take_rows(all, dev_rows);
  d.train_dev = take_rows(all, train_dev_rows);
  // A dev set of its own (from the distribution the model is meant for) replaces the carved one.
  if (spec.has_dev_files()) {
    d.dev = read_split(spec.dev_csv, spec.dev_features, spec.dev_labels, nullptr);
  }
  d.features = all.features.shape()[1];
  if (task == Task::kClassification) {
    for (std::int64_t i = 0; i < all.rows(); ++i) {
      d.classes = std::max(d.classes, all.labels.data<std::int64_t>()[i] + 1);
    }
  } else {
    d.classes = all.labels.shape()[1];
  }
  if (with_test) d.test = read_split(spec.test_csv, spec.test_features, spec.test_labels, nullptr);
  for (const auto& [split, what] : {std::pair<const Split*, const char*>{&d.dev, "dev"},
                                    std::pair<const Split*, const char*>{&d.test, "test"}}) {
    if (!split->features.defined()) continue;
    if (split->features.shape()[1] != d.features) {
      fail("data: the ", what, " set has ", split->features.shape()[1],
           " features, the training set ", d.features);
    }
    if (task != Task::kClassification && split->labels.shape()[1] != d.classes) {
      fail("data: the ", what, " set has ", split->labels.shape()[1],
           " label columns, the training set ", d.classes);
    }
  }
  return d;
}

void check_labels(const Split& split, std::int64_t classes, const std::string& what) {
  if (split.labels.shape().rank() == 2) {  // multi_label or regression: one column per output
    if (split.labels.shape()[1] != classes) {
      fail(what, ": has ", split.labels.shape()[1], " label columns, the model ", classes,
           " outputs");
    }
    return;
  }
  for (std::int64_t i = 0; i < split.rows(); ++i) {
    const std::int64_t label = split.labels.data<std::int64_t>()[i];
    if (label < 0 || label >= classes) {
      fail(what, ": label ", label, " at row ", i, " is out of range for a model of ", classes,
           " classes");
    }
  }
}

std::string Normalization::to_json() const {
  return nlohmann::json{{"mean", mean}, {"std", stddev}}.dump();
}

Normalization Normalization::from_json(const std::string& json, const std::string& source) {
  Normalization n;
  try {
    const nlohmann::json j = nlohmann::json::parse(json);
    n.mean = j.at("mean").get<std::vector<float>>();
    n.stddev = j.at("std").get<std::vector<float>>();
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": bad normalisation statistics (", e.what(), ")");
  }
  if (n.mean.size() != n.stddev.size()) {
    fail(source, ": normalisation statistics of different lengths (mean ", n.mean.size(), ", std ",
         n.stddev.size(), ")");
  }
  // A zero or non-finite std turns every input into inf or NaN.
  for (std::size_t i = 0; i < n.mean.size(); ++i) {
    if (!std::isfinite(n.mean[i])) {
      fail(source, ": normalisation mean[", i, "] = ", n.mean[i], " must be finite");
    }
    if (!(n.stddev[i] > 0.0f) || !std::isfinite(n.stddev[i])) {
      fail(source, ": normalisation std[", i, "] = ", n.stddev[i], " must be positive and finite");
    }
  }
  return n;
}

Normalization fit_normalization(const Tensor& features) {
  const std::int64_t rows = features.shape()[0], cols = features.shape()[1];
  Normalization n;
  n.mean.assign(static_cast<std::size_t>(cols), 0.0f);
  n.stddev.assign(static_cast<std::size_t>(cols), 1.0f);
  std::vector<double> sum(static_cast<std::size_t>(cols), 0.0),
      sq(static_cast<std::size_t>(cols), 0.0);
  // Read in the features' own type (a float64 copy of Fashion-MNIST's training split would take
  // 345 MB); each value is converted to double as it is read, so the sums are the same.
  auto accumulate = [&](auto tag) {
    using T = decltype(tag);
    const T* v = features.data<T>();
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) {
        sum[static_cast<std::size_t>(c)] += static_cast<double>(v[r * cols + c]);
      }
    }
    for (std::int64_t c = 0; c < cols; ++c)
      sum[static_cast<std::size_t>(c)] /= static_cast<double>(rows);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) {
        const double d = static_cast<double>(v[r * cols + c]) - sum[static_cast<std::size_t>(c)];
        sq[static_cast<std::size_t>(c)] += d * d;
      }
    }
  };
  with_element_type(features.dtype(), accumulate);
  for (std::int64_t c = 0; c < cols; ++c) {
    const auto k = static_cast<std::size_t>(c);
    const double sd = std::sqrt(sq[k] / static_cast<double>(rows));
    n.mean[k] = static_cast<float>(sum[k]);
    n.stddev[k] = sd > 1e-6 ? static_cast<float>(sd) : 1.0f;
  }
  return n;
}

SplitSource::SplitSource(const Split& split, const Normalization& normalization, Value input,
                         Value labels, Value mask)
    : split_(split), norm_(normalization), input_(input), labels_(labels), mask_(mask) {
  if (norm_.enabled() &&
      static_cast<std::int64_t>(norm_.mean.size()) != split.features.shape()[1]) {
    fail("normalisation has ", norm_.mean.size(), " features, the data ",
         split.features.shape()[1]);
  }
}

void SplitSource::bind(Executor& executor, const std::int64_t* indices, std::int64_t count) {
  for (std::int64_t r = 0; r < count; ++r) {
    if (indices[r] < 0 || indices[r] >= split_.rows()) {
      fail("data: row ", indices[r], " asked for, but the split has ", split_.rows(), " rows");
    }
  }
  const std::int64_t cols = split_.features.shape()[1];
  // Class indices [N], or label/target rows [N, K] (K = 0 for class indices).
  const bool targets = split_.labels.shape().rank() == 2;
  const std::int64_t k = targets ? split_.labels.shape()[1] : 0;
  // Gathered (and normalised) straight into the buffers the uploads copy from: pinned memory
  // on a GPU, so each batch is written on the host once.
  Tensor xs = executor.input_staging(input_, Shape{count, cols}, DType::kFloat32);
  Tensor ys = targets ? executor.input_staging(labels_, Shape{count, k}, DType::kFloat32)
                      : executor.input_staging(labels_, Shape{count}, DType::kInt64);
  Tensor ms =
      mask_.valid() ? executor.input_staging(mask_, Shape{count, k}, DType::kFloat32) : Tensor();
  float* x = xs.data<float>();
  if (targets) {
    const float* src = split_.labels.data<float>();
    float* y = ys.data<float>();
    float* m = mask_.valid() ? ms.data<float>() : nullptr;
    for (std::int64_t r = 0; r < count; ++r) {
      for (std::int64_t j = 0; j < k; ++j) {
        const float t = src[indices[r] * k + j];
        const bool observed = !std::isnan(t);
        y[r * k + j] = observed ? t : 0.0f;
        if (m != nullptr) m[r * k + j] = observed ? 1.0f : 0.0f;
      }
    }
  }
  const std::int64_t* labels = targets ? nullptr : split_.labels.data<std::int64_t>();
  auto gather = [&](auto tag) {
    using T = decltype(tag);
    const T* src = split_.features.data<T>();
    std::int64_t* y = targets ? nullptr : ys.data<std::int64_t>();
    // Rows are independent: the same bits for any number of threads. Small batches stay on the
    // calling thread, where waking the team would cost more than the copy.
#pragma omp parallel for schedule(static) if (count * cols >= kParallelGatherElements)
    for (std::int64_t r = 0; r < count; ++r) {
      const T* row = src + indices[r] * cols;
      float* out = x + r * cols;
      if (norm_.enabled()) {
        for (std::int64_t c = 0; c < cols; ++c) {
          const auto k = static_cast<std::size_t>(c);
          out[c] = (static_cast<float>(row[c]) - norm_.mean[k]) / norm_.stddev[k];
        }
      } else {
        for (std::int64_t c = 0; c < cols; ++c) out[c] = static_cast<float>(row[c]);
      }
      if (y != nullptr) y[r] = labels[indices[r]];
    }
  };
  with_element_type(split_.features.dtype(), gather);
  executor.set_input(input_, xs);
  executor.set_input(labels_, ys);
  if (mask_.valid()) executor.set_input(mask_, ms);
}

}  // namespace myelin
