#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "myelin/app/spec.hpp"
#include "myelin/batch_source.hpp"
#include "myelin/export.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// One split of a data set: features [N, F] kept in their file's type (uint8 for images: compact
// in memory) and labels: [N] int64 class indices (classification) or [N, K] float32 (multi_label:
// 0, 1 or NaN for missing; regression: targets).
struct Split {
  Tensor features;
  Tensor labels;
  std::int64_t rows() const { return labels.defined() ? labels.shape()[0] : 0; }
};

// The splits of a DataSpec. The dev split is carved from the training file (dev_size rows,
// picked by a seeded shuffle) or read from its own files; train-dev is carved from the training
// file too (train_dev_size rows); the test split is read only when asked for (evaluation).
struct DataSplits {
  // train-dev: rows of the training distribution held out (data.train_dev_size), to tell
  // variance from data mismatch when dev and test come from other files.
  Split train, train_dev, dev, test;
  std::int64_t features = 0;
  // The width the model's last layer needs: 1 + the largest label of the training file
  // (classification), else the number of label or target columns.
  std::int64_t classes = 0;
  std::vector<std::string> label_names;  // the CSV header's names of the label columns, if any
};

// Reads and checks the files: counts of features and labels must agree, labels must suit the
// task (non-negative integers; 0, 1 or missing; finite numbers). Every problem names the file.
MYELIN_API DataSplits load_data(const DataSpec& spec, std::uint64_t seed, bool with_test,
                                Task task = Task::kClassification);
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
// here), converts them to float32 and normalises them. With a mask (multi_label), missing labels
// (NaN) are bound as target 0 with mask 0, so they reach neither the loss nor its gradient.
class MYELIN_API SplitSource : public BatchSource {
 public:
  SplitSource(const Split& split, const Normalization& normalization, Value input, Value labels,
              Value mask = {});
  std::int64_t rows() const override { return split_.rows(); }
  void bind(Executor& executor, const std::int64_t* indices, std::int64_t count) override;

 private:
  const Split& split_;
  const Normalization& norm_;
  Value input_, labels_, mask_;
};

}  // namespace myelin
