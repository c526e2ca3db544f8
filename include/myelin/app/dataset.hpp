#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "myelin/app/spec.hpp"
#include "myelin/batch_source.hpp"
#include "myelin/export.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// One split of a classification data set: features [N, F] kept in their file's type (uint8 for
// images: compact in memory) and labels [N] int64.
struct Split {
  Tensor features;
  Tensor labels;
  std::int64_t rows() const { return labels.defined() ? labels.shape()[0] : 0; }
};

// The splits of a DataSpec. The dev split is carved from the training file (dev_size rows,
// picked by a seeded shuffle); the test split is read only when asked for (evaluation).
struct DataSplits {
  Split train, dev, test;
  std::int64_t features = 0;
  std::int64_t classes = 0;  // 1 + the largest label of the training file
};

// Reads and checks the files: counts of features and labels must agree, labels must be
// non-negative integers. Every problem names the file.
MYELIN_API DataSplits load_data(const DataSpec& spec, std::uint64_t seed, bool with_test);
// Throws unless every label of `split` is in [0, classes), naming the split and row.
MYELIN_API void check_labels(const Split& split, std::int64_t classes, const std::string& what);

// Per-feature standardisation x' = (x - mean) / std, with statistics from the training split
// only (statistics of dev or test data would leak them into training). A constant feature
// keeps std 1.
struct MYELIN_API Normalization {
  std::vector<float> mean;
  std::vector<float> stddev;
  bool enabled() const { return !mean.empty(); }
  std::string to_json() const;
  static Normalization from_json(const std::string& json, const std::string& source);
};
MYELIN_API Normalization fit_normalization(const Tensor& features);

// Binds batches of a split to a model's inputs: gathers the rows (uint8 stays uint8 until
// here), converts them to float32 and normalises them.
class MYELIN_API SplitSource : public BatchSource {
 public:
  SplitSource(const Split& split, const Normalization& normalization, Value input, Value labels);
  std::int64_t rows() const override { return split_.rows(); }
  void bind(Executor& executor, const std::int64_t* indices, std::int64_t count) override;

 private:
  const Split& split_;
  const Normalization& norm_;
  Value input_, labels_;
  Tensor x_, y_;
};

}  // namespace myelin
