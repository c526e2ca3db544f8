#include "myelin/app/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "myelin/error.hpp"
#include "myelin/io.hpp"
#include "myelin/random.hpp"

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

Tensor as_labels(const Tensor& t, const std::string& name) {
  if (t.shape().rank() != 1 && !(t.shape().rank() == 2 && t.shape()[1] == 1)) {
    fail(name, ": expected one label per row, got shape ", t.shape().str());
  }
  const std::int64_t n = t.shape()[0];
  Tensor labels = Tensor::empty(Shape{n}, DType::kInt64);
  const std::vector<double> v = t.to_vector<double>();
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = v[static_cast<std::size_t>(i)];
    if (!(x >= 0.0) || x != std::floor(x) || x > 1e9) {
      fail(name, ": label ", x, " at row ", i, " is not a non-negative integer class index");
    }
    labels.data<std::int64_t>()[i] = static_cast<std::int64_t>(x);
  }
  return labels;
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

Split read_pair(const DataSpec& spec, const std::string& features, const std::string& labels) {
  const bool idx = spec.format == "idx";
  const Tensor x = idx ? read_idx(features) : read_npy(features);
  const Tensor y = idx ? read_idx(labels) : read_npy(labels);
  Split s{as_matrix(x, features), as_labels(y, labels)};
  check_features(s.features, features);
  if (s.features.shape()[0] != s.labels.shape()[0]) {
    fail(features, " has ", s.features.shape()[0], " rows but ", labels, " has ",
         s.labels.shape()[0], " labels");
  }
  return s;
}

Split read_csv_split(const DataSpec& spec, const std::string& path) {
  const CsvTable table = read_csv(path);
  const std::int64_t rows = table.values.shape()[0], cols = table.values.shape()[1];
  if (cols < 2) fail(path, ": needs at least one feature column and a label column");
  std::int64_t label = spec.label_column < 0 ? cols + spec.label_column : spec.label_column;
  if (label < 0 || label >= cols) {
    fail(path, ": label_column ", spec.label_column, " is out of range for ", cols, " columns");
  }
  Tensor x = Tensor::empty(Shape{rows, cols - 1}, DType::kFloat32);
  Tensor y = Tensor::empty(Shape{rows}, DType::kFloat32);
  const float* v = table.values.data<float>();
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t k = 0;
    for (std::int64_t c = 0; c < cols; ++c) {
      if (c == label) {
        y.data<float>()[r] = v[r * cols + c];
      } else {
        x.data<float>()[r * (cols - 1) + k++] = v[r * cols + c];
      }
    }
  }
  return Split{x, as_labels(y, path + " (label column)")};
}

Split take_rows(const Split& s, const std::vector<std::int64_t>& rows) {
  std::vector<std::int64_t> dims = s.features.shape().dims();
  dims[0] = static_cast<std::int64_t>(rows.size());
  Split out{Tensor::empty(Shape(dims), s.features.dtype()),
            Tensor::empty(Shape{static_cast<std::int64_t>(rows.size())}, DType::kInt64)};
  const std::size_t row_bytes =
      s.features.nbytes() / static_cast<std::size_t>(std::max<std::int64_t>(1, s.rows()));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto r = static_cast<std::size_t>(rows[i]);
    std::memcpy(static_cast<unsigned char*>(out.features.raw()) + i * row_bytes,
                static_cast<const unsigned char*>(s.features.raw()) + r * row_bytes, row_bytes);
    out.labels.data<std::int64_t>()[i] = s.labels.data<std::int64_t>()[r];
  }
  return out;
}

}  // namespace

DataSplits load_data(const DataSpec& spec, std::uint64_t seed, bool with_test) {
  DataSplits d;
  Split all = spec.format == "csv" ? read_csv_split(spec, spec.train_csv)
                                   : read_pair(spec, spec.train_features, spec.train_labels);
  const std::int64_t n = spec.limit > 0 ? std::min(spec.limit, all.rows()) : all.rows();
  if (spec.dev_size >= n) {
    fail("data: dev_size ", spec.dev_size, " leaves no training rows out of ", n);
  }
  // The dev rows: a seeded shuffle picks them, the training rows keep the file's order.
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  Rng rng(seed, stable_id("dev split"));
  for (std::int64_t i = n - 1; i > 0; --i) {
    std::swap(order[static_cast<std::size_t>(i)],
              order[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i + 1)))]);
  }
  std::vector<char> is_dev(static_cast<std::size_t>(n), 0);
  std::vector<std::int64_t> dev_rows(order.begin(), order.begin() + spec.dev_size), train_rows;
  for (std::int64_t r : dev_rows) is_dev[static_cast<std::size_t>(r)] = 1;
  std::sort(dev_rows.begin(), dev_rows.end());
  for (std::int64_t i = 0; i < n; ++i) {
    if (!is_dev[static_cast<std::size_t>(i)]) train_rows.push_back(i);
  }
  d.train = take_rows(all, train_rows);
  d.dev = take_rows(all, dev_rows);
  d.features = all.features.shape()[1];
  for (std::int64_t i = 0; i < all.rows(); ++i) {
    d.classes = std::max(d.classes, all.labels.data<std::int64_t>()[i] + 1);
  }
  if (with_test) {
    d.test = spec.format == "csv" ? read_csv_split(spec, spec.test_csv)
                                  : read_pair(spec, spec.test_features, spec.test_labels);
    if (d.test.features.shape()[1] != d.features) {
      fail("data: the test set has ", d.test.features.shape()[1], " features, the training set ",
           d.features);
    }
  }
  return d;
}

void check_labels(const Split& split, std::int64_t classes, const std::string& what) {
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
                         Value labels)
    : split_(split), norm_(normalization), input_(input), labels_(labels) {
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
  if (!x_.defined() || x_.shape()[0] != count) {
    x_ = Tensor::empty(Shape{count, cols}, DType::kFloat32);
    y_ = Tensor::empty(Shape{count}, DType::kInt64);
  }
  float* x = x_.data<float>();
  const std::int64_t* labels = split_.labels.data<std::int64_t>();
  auto gather = [&](auto tag) {
    using T = decltype(tag);
    const T* src = split_.features.data<T>();
    std::int64_t* y = y_.data<std::int64_t>();
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
      y[r] = labels[indices[r]];
    }
  };
  with_element_type(split_.features.dtype(), gather);
  executor.set_input(input_, x_);
  executor.set_input(labels_, y_);
}

}  // namespace myelin
