#include "op_cases.hpp"

#include <cmath>

#include "test_util.hpp"

namespace myelin::test {

Value checked_input(Graph& g, Built& b, const std::string& name, const Shape& shape,
                    std::uint64_t seed, double stddev) {
  const Value v = g.input(name, shape, DType::kFloat64);
  b.feeds.emplace_back(v, normal_tensor(shape, seed, stddev));
  b.wrt.push_back(v);
  return v;
}

namespace {

Case unary(const std::string& op, const Shape& shape, const Attrs& attrs = {},
           double stddev = 1.0) {
  return {shape.str() + (attrs.items().empty() ? "" : " {" + attrs.str() + "}"), [=](Graph& g) {
            Built b;
            const Value x = checked_input(g, b, "x", shape, 11, stddev);
            b.out = g.op(op, {x}, attrs);
            return b;
          }};
}

std::vector<Case> unary_cases(const std::string& op, const Attrs& attrs = {}) {
  return {unary(op, Shape{1, 5}, attrs), unary(op, Shape{7, 13}, attrs),
          unary(op, Shape{2, 3, 4, 5}, attrs)};
}

Case linear_case(const Shape& x_shape, std::int64_t out, bool bias) {
  return {x_shape.str() + " -> " + std::to_string(out) + (bias ? "" : " no bias"), [=](Graph& g) {
            Built b;
            const Value x = checked_input(g, b, "x", x_shape, 12);
            const std::int64_t in = x_shape.dim(-1);
            const Value w = g.parameter("w", random_tensor(Shape{out, in}, 13));
            const Value bv = bias ? g.parameter("b", random_tensor(Shape{out}, 14)) : Value{};
            b.out = g.linear(x, w, bv);
            return b;
          }};
}

Case batch_norm_case(const Shape& shape, Mode mode) {
  return {shape.str() + (mode == Mode::kTrain ? " train" : " eval"), [=](Graph& g) {
            Built b;
            b.mode = mode;
            const Value x = checked_input(g, b, "x", shape, 15, 2.0);
            const Shape c{shape[1]};
            const Value w = g.parameter("w", random_tensor(c, 16, 0.5, 1.5));
            const Value bias = g.parameter("b", random_tensor(c, 17));
            // Non-trivial running statistics, so that eval mode is a real test.
            const Value rm = g.buffer("rm", random_tensor(c, 18));
            const Value rv = g.buffer("rv", random_tensor(c, 19, 0.5, 2.0));
            const Value count = g.buffer("n", Tensor::zeros(Shape{}, DType::kInt64));
            b.out = g.batch_norm(x, w, bias, rm, rv, count);
            return b;
          }};
}

Case dropout_case(const Shape& shape, Mode mode) {
  return {shape.str() + (mode == Mode::kTrain ? " p=0.3 train" : " eval"), [=](Graph& g) {
            Built b;
            b.mode = mode;
            b.out = g.dropout(checked_input(g, b, "x", shape, 20), 0.3);
            return b;
          }};
}

Case two_input_case(const std::string& op, const Shape& shape) {
  return {shape.str(), [=](Graph& g) {
            Built b;
            const Value a = checked_input(g, b, "a", shape, 21);
            const Value c = checked_input(g, b, "b", shape, 22);
            b.out = g.op(op, {a, c});
            return b;
          }};
}

Case cross_entropy_case(std::int64_t n, std::int64_t classes, const Attrs& attrs,
                        bool some_ignored) {
  return {"[" + std::to_string(n) + ", " + std::to_string(classes) + "]" +
              (attrs.items().empty() ? "" : " {" + attrs.str() + "}") +
              (some_ignored ? " with ignored rows" : ""),
          [=](Graph& g) {
            Built b;
            const Value logits = checked_input(g, b, "logits", Shape{n, classes}, 23, 2.0);
            const Value labels = g.input("labels", Shape{n}, DType::kInt64);
            Tensor y = random_labels(n, classes, 24);
            if (some_ignored) y.data<std::int64_t>()[0] = -100;
            b.feeds.emplace_back(labels, y);
            b.out = g.op("softmax_cross_entropy", {logits, labels}, attrs);
            return b;
          }};
}

// Sets entries of a [rows, cols] float64 tensor to -inf, as masked logits: row 0 in its leading
// half, row 1 everywhere but its last column, row 2 in every third column.
void mask_rows(Tensor& x) {
  const std::int64_t rows = x.shape()[0], cols = x.shape()[1];
  double* p = x.data<double>();
  for (std::int64_t j = 0; j < cols; ++j) {
    if (j < (cols + 1) / 2) p[j] = -INFINITY;
    if (rows > 1 && j + 1 < cols) p[cols + j] = -INFINITY;
    if (rows > 2 && j % 3 == 0) p[2 * cols + j] = -INFINITY;
  }
}

// softmax / log_softmax of rows holding -inf (masked positions).
Case masked_rows_case(const std::string& op, const Shape& shape) {
  return {shape.str() + " masked with -inf", [=](Graph& g) {
            Built b;
            const Value x = checked_input(g, b, "x", shape, 29);
            mask_rows(b.feeds.back().second);
            b.out = g.op(op, {x});
            return b;
          }};
}

// Cross-entropy of masked logits; each row's label is a position left finite.
Case masked_cross_entropy_case(std::int64_t n, std::int64_t classes) {
  return {"[" + std::to_string(n) + ", " + std::to_string(classes) + "] masked with -inf",
          [=](Graph& g) {
            Built b;
            const Value logits = checked_input(g, b, "logits", Shape{n, classes}, 30, 2.0);
            mask_rows(b.feeds.back().second);
            const Value labels = g.input("labels", Shape{n}, DType::kInt64);
            Tensor y = random_labels(n, classes, 31);
            std::int64_t* label = y.data<std::int64_t>();
            label[0] = classes - 1;
            if (n > 1) label[1] = classes - 1;
            if (n > 2) label[2] = 1;
            b.feeds.emplace_back(labels, y);
            b.out = g.op("softmax_cross_entropy", {logits, labels});
            return b;
          }};
}

// With nan_where_masked, every masked-out target is NaN (a missing label): it must reach neither
// the loss nor the gradient.
Case bce_case(const Shape& shape, bool masked, bool nan_where_masked = false) {
  return {
      shape.str() + (masked ? " masked" : "") + (nan_where_masked ? ", NaN targets masked" : ""),
      [=](Graph& g) {
        Built b;
        const Value x = checked_input(g, b, "logits", shape, 25, 2.0);
        const Value t = g.input("targets", shape, DType::kFloat64);
        Tensor targets = random_tensor(shape, 26, 0.0, 1.0);
        Value m;
        if (masked) {
          m = g.input("mask", shape, DType::kUInt8);
          Tensor mask = random_tensor(shape, 27, 0.0, 1.0).to(DType::kFloat64);
          for (std::int64_t i = 0; i < mask.numel(); ++i) {
            double& v = mask.data<double>()[i];
            v = v < 0.6 ? 1.0 : 0.0;
            if (v == 0.0 && nan_where_masked) targets.data<double>()[i] = NAN;
          }
          b.feeds.emplace_back(m, mask.to(DType::kUInt8));
        }
        b.feeds.emplace_back(t, targets);
        b.out = g.bce_with_logits(x, t, m);
        return b;
      }};
}

Case shape_case(const std::string& op, const Shape& shape, const Attrs& attrs) {
  return {shape.str() + " {" + attrs.str() + "}", [=](Graph& g) {
            Built b;
            b.out = g.op(op, {checked_input(g, b, "x", shape, 28)}, attrs);
            return b;
          }};
}

// The cases of every op, by name. An op of the table without an entry fails the test below.
std::map<std::string, std::vector<Case>> gradcheck_cases() {
  {
    std::map<std::string, std::vector<Case>> c;
    c["linear"] = {linear_case(Shape{1, 13}, 5, true), linear_case(Shape{7, 13}, 5, true),
                   linear_case(Shape{7, 13}, 4, false), linear_case(Shape{2, 3, 6}, 4, true)};
    for (const char* op : {"identity", "relu", "sigmoid", "tanh", "abs", "silu"}) {
      c[op] = unary_cases(op);
    }
    c["leaky_relu"] = unary_cases("leaky_relu");
    c["leaky_relu"].push_back(unary("leaky_relu", Shape{7, 13}, {{"negative_slope", 0.3}}));
    c["elu"] = unary_cases("elu");
    c["elu"].push_back(unary("elu", Shape{7, 13}, {{"alpha", 0.5}}));
    c["gelu"] = unary_cases("gelu");
    c["gelu"].push_back(unary("gelu", Shape{7, 13}, {{"approximate", std::string("tanh")}}));
    c["softplus"] = unary_cases("softplus");
    // Beyond the threshold (beta x > 3) the op is x itself.
    c["softplus"].push_back(
        unary("softplus", Shape{7, 13}, {{"beta", 2.0}, {"threshold", 3.0}}, 2.0));
    c["softmax"] = unary_cases("softmax");
    c["log_softmax"] = unary_cases("log_softmax");
    c["batch_norm"] = {batch_norm_case(Shape{7, 13}, Mode::kTrain),
                       batch_norm_case(Shape{2, 3, 4, 5}, Mode::kTrain),
                       batch_norm_case(Shape{1, 3, 2, 2}, Mode::kTrain),
                       batch_norm_case(Shape{1, 13}, Mode::kEval),
                       batch_norm_case(Shape{2, 3, 4, 5}, Mode::kEval)};
    c["dropout"] = {dropout_case(Shape{1, 5}, Mode::kTrain),
                    dropout_case(Shape{7, 13}, Mode::kTrain),
                    dropout_case(Shape{7, 13}, Mode::kEval)};
    c["add"] = {two_input_case("add", Shape{1, 5}), two_input_case("add", Shape{7, 13})};
    c["mse_loss"] = {two_input_case("mse_loss", Shape{1, 5}),
                     two_input_case("mse_loss", Shape{7, 13})};
    c["reshape"] = {
        shape_case("reshape", Shape{7, 12}, {{"shape", std::vector<std::int64_t>{-1, 4, 3}}}),
        shape_case("reshape", Shape{1, 5}, {{"shape", std::vector<std::int64_t>{5}}})};
    c["flatten"] = {shape_case("flatten", Shape{2, 3, 4, 5}, {{"start_dim", std::int64_t{1}}}),
                    shape_case("flatten", Shape{7, 13}, {{"start_dim", std::int64_t{0}}})};
    c["softmax_cross_entropy"] = {cross_entropy_case(1, 5, {}, false),
                                  cross_entropy_case(7, 13, {}, false),
                                  cross_entropy_case(7, 13, {}, true),
                                  cross_entropy_case(7, 13, {{"label_smoothing", 0.2}}, false)};
    c["bce_with_logits"] = {bce_case(Shape{1, 5}, false), bce_case(Shape{7, 13}, false),
                            bce_case(Shape{7, 13}, true), bce_case(Shape{7, 13}, true, true)};
    return c;
  }
}

// The backend comparison adds larger shapes: sizes that are not multiples of a block (256) or a
// vector width (4), single rows, and rows longer than a block or a warp's 1,024-element limit.
std::map<std::string, std::vector<Case>> backend_cases() {
  std::map<std::string, std::vector<Case>> c = gradcheck_cases();
  c["linear"].push_back(linear_case(Shape{33, 130}, 70, true));
  c["linear"].push_back(linear_case(Shape{1, 513}, 257, false));
  for (const char* op : {"identity", "relu", "leaky_relu", "sigmoid", "tanh", "elu", "abs", "gelu",
                         "silu", "softplus"}) {
    c[op].push_back(unary(op, Shape{3, 1027}));
    c[op].push_back(unary(op, Shape{1, 1}));
  }
  for (const char* op : {"softmax", "log_softmax"}) {
    c[op].push_back(unary(op, Shape{3, 2050}));  // a block per row
    c[op].push_back(unary(op, Shape{300, 33}));  // warps per row, a partial last block
    c[op].push_back(unary(op, Shape{1, 1024}));  // the longest warp row
    // Masked logits: -inf in leading positions, everywhere but one, scattered; in warp rows
    // of one and of several elements per lane, and in block rows.
    c[op].push_back(masked_rows_case(op, Shape{4, 13}));
    c[op].push_back(masked_rows_case(op, Shape{3, 100}));
    c[op].push_back(masked_rows_case(op, Shape{3, 2050}));
  }
  c["batch_norm"].push_back(batch_norm_case(Shape{2051, 19}, Mode::kTrain));  // several row chunks
  c["batch_norm"].push_back(batch_norm_case(Shape{5, 3, 17, 9}, Mode::kTrain));
  c["batch_norm"].push_back(
      batch_norm_case(Shape{3, 4, 50, 70}, Mode::kTrain));  // chunks of images
  c["dropout"].push_back(dropout_case(Shape{1001, 37}, Mode::kTrain));
  c["add"].push_back(two_input_case("add", Shape{3, 1027}));
  c["mse_loss"].push_back(two_input_case("mse_loss", Shape{97, 103}));
  c["softmax_cross_entropy"].push_back(cross_entropy_case(5, 1500, {}, true));
  c["softmax_cross_entropy"].push_back(
      cross_entropy_case(1000, 10, {{"label_smoothing", 0.1}}, false));
  c["softmax_cross_entropy"].push_back(masked_cross_entropy_case(4, 13));
  c["softmax_cross_entropy"].push_back(masked_cross_entropy_case(3, 1500));
  c["bce_with_logits"].push_back(bce_case(Shape{97, 103}, true));
  c["bce_with_logits"].push_back(bce_case(Shape{97, 103}, true, true));
  c["reshape"].push_back(
      shape_case("reshape", Shape{30, 1027}, {{"shape", std::vector<std::int64_t>{-1}}}));
  c["flatten"].push_back(
      shape_case("flatten", Shape{3, 5, 7, 11}, {{"start_dim", std::int64_t{1}}}));
  return c;
}

}  // namespace

const std::map<std::string, std::vector<Case>>& op_cases(CaseSet set) {
  static const std::map<std::string, std::vector<Case>> small = gradcheck_cases();
  static const std::map<std::string, std::vector<Case>> large = backend_cases();
  return set == CaseSet::kGradcheck ? small : large;
}

std::vector<std::string> table_names() {
  std::vector<std::string> names;
  for (const OpDef* op : op_table()) names.push_back(op->name);
  return names;
}

}  // namespace myelin::test
