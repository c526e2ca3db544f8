// A reduced version of the default training on real data, so that a regression in learning
// shows in CI: the default model, 10,000 training rows, one epoch.
#include <gtest/gtest.h>

#include <iostream>

#include "myelin/app.hpp"

namespace myelin {
namespace {

TEST(FashionMnist, OneEpochOnASubsetReachesTheAccuracyFloor) {
  ModelSpec spec = default_model_spec();
  spec.data.limit = 15000;
  spec.data.dev_size = 5000;
  spec.epochs = 1;
  const DataSplits data = load_data(spec.data, spec.seed, /*with_test=*/true);
  SequentialModel model = build_model(spec, data.features, spec.batch_size);
  const Normalization norm = fit_normalization(data.train.features);
  Optimizer optimizer(spec.optimizer);
  Trainer trainer(model.graph, model.loss, optimizer, train_options(spec));
  SplitSource train(data.train, norm, model.input, model.labels);
  trainer.fit(train);

  ConfusionMatrix test(model.classes);
  SplitSource source(data.test, norm, model.input, model.labels);
  Executor& e = trainer.executor();
  std::vector<std::int64_t> rows(1000);
  for (std::int64_t begin = 0; begin < data.test.rows(); begin += 1000) {
    for (std::int64_t i = 0; i < 1000; ++i) rows[static_cast<std::size_t>(i)] = begin + i;
    source.bind(e, rows.data(), 1000);
    e.forward(Mode::kEval);
    test.add(e.value(model.logits), e.value(model.labels));
  }
  std::cout << "one epoch on 10,000 rows: test accuracy " << test.accuracy() << ", macro-F1 "
            << test.macro_f1() << "\n";
  // One epoch on a sixth of the data gives about 0.82; 0.80 leaves room for noise and catches a
  // model that stopped learning (chance is 0.10).
  EXPECT_GE(test.accuracy(), 0.80);
}

}  // namespace
}  // namespace myelin
