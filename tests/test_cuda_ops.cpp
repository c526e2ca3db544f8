// Every op of the op table on the GPU against the CPU reference path, in float32, on the cases
// of op_cases.cpp (sizes that are not multiples of a block or a vector width, single rows, rows
// longer than a block). Device buffers carry guard words, checked after every kernel. Each case
// runs on the GPU under two schedule seeds, which must give the same bits (on the emulated device
// a seed reorders the threads: a race changes bits). NaN/Inf mismatches fail first; then the
// normalised error max|gpu - cpu| / max|cpu| per tensor must stay under the op's bound below.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>

#include "compare.hpp"
#include "myelin/myelin.hpp"
#include "op_cases.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

// Bounds on the normalised error, with their reasons.
double tolerance(const std::string& op) {
  // GEMMs (TF32 off): cuBLAS and OpenBLAS sum products in different orders; float32 sums of
  // ~100-500 products differ by a few 1e-7 relative, so 1e-5 leaves room.
  if (op == "linear") return 1e-5;
  // Batch-norm backward subtracts the mean and variance terms from dy: the result can be small
  // against its parts, so float32 rounding of the parts shows at ~1e-6 of the largest output.
  if (op == "batch_norm") return 1e-5;
  // Elementwise ops, softmax and the loss reductions: device and host libm differ by an ulp or
  // two, and reductions add in another order (both in double where it matters).
  return 1e-6;
}

struct Results {
  std::vector<std::pair<std::string, Tensor>> tensors;
};

Results run(Graph& g, const test::Built& b, Device device, const Tensor& cotangent) {
  ExecutorOptions options;
  options.device = device;
  options.input_grads = b.wrt;
  options.outputs = {b.out};
  options.share_graph_tensors = false;  // both runs start from the graph's parameters and buffers
  options.guard_words = device.is_cuda();
  Executor e(g, options);
  for (const auto& [v, t] : b.feeds)
    e.set_input(v, is_floating(t.dtype()) ? t.to(DType::kFloat32) : t);
  e.forward(b.mode, 3);
  e.backward(b.out, cotangent);
  Results r;
  r.tensors.emplace_back("output", e.value(b.out).to(Device::cpu()));
  for (Value p : e.trainable_parameters()) {
    r.tensors.emplace_back("grad " + g.name(p), e.grad(p).to(Device::cpu()));
  }
  for (Value v : b.wrt) r.tensors.emplace_back("grad " + g.name(v), e.grad(v).to(Device::cpu()));
  for (Value v : g.buffers())
    r.tensors.emplace_back("buffer " + g.name(v), e.param(v).to(Device::cpu()));
  return r;
}

// Runs every case of `op` on the CPU and, under each schedule seed, on the GPU: the GPU runs give
// the same bits, and match the CPU within the op's tolerance.
void check_against_cpu(const std::string& op) {
  const auto& all = test::op_cases(test::CaseSet::kBackend);
  const auto it = all.find(op);
  ASSERT_NE(it, all.end()) << "op '" << op << "' has no test case";
  for (const test::Case& c : it->second) {
    Graph g(42);
    const test::Built b = c.build(g);
    const Shape out_shape = g.shape(b.out);
    Tensor cotangent = out_shape.numel() == 1
                           ? Tensor::full(out_shape, 1.0)
                           : test::random_tensor(out_shape, 99, -1, 1, DType::kFloat32);
    const Results cpu = run(g, b, Device::cpu(), cotangent);
    std::vector<Results> gpu;
    for (std::uint64_t seed : test::schedule_seeds()) {
      test::ScheduleSeed scope(seed);
      gpu.push_back(run(g, b, Device::cuda(0), cotangent));
    }
    for (std::size_t s = 1; s < gpu.size(); ++s) {
      for (std::size_t k = 0; k < gpu[0].tensors.size(); ++k) {
        EXPECT_TRUE(bitwise_equal(gpu[s].tensors[k].second, gpu[0].tensors[k].second))
            << op << " " << c.label << " " << gpu[0].tensors[k].first << ": schedule seed "
            << test::schedule_seeds()[s] << " gives other bits than seed "
            << test::schedule_seeds()[0];
      }
    }
    ASSERT_EQ(cpu.tensors.size(), gpu[0].tensors.size());
    double worst = 0;
    for (std::size_t k = 0; k < cpu.tensors.size(); ++k) {
      std::string why;
      const Tensor& gt = gpu[0].tensors[k].second;
      const Tensor& ct = cpu.tensors[k].second;
      ASSERT_EQ(gt.shape(), ct.shape()) << c.label << " " << cpu.tensors[k].first;
      const double err = test::normalised_error(gt, ct, why);
      EXPECT_TRUE(why.empty()) << op << " " << c.label << " " << cpu.tensors[k].first << ": "
                               << why;
      EXPECT_LT(err, tolerance(op)) << op << " " << c.label << " " << cpu.tensors[k].first;
      worst = std::max(worst, err);
    }
    std::cout << "cuda-vs-cpu " << op << " " << c.label << ": worst normalised error " << worst
              << "\n";
  }
}

class CudaOps : public testing::TestWithParam<std::string> {};

TEST_P(CudaOps, MatchTheCpuReference) {
  MYELIN_REQUIRE_GPU();
  check_against_cpu(GetParam());
}

INSTANTIATE_TEST_SUITE_P(OpTable, CudaOps, testing::ValuesIn(test::table_names()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

#if defined(MYELIN_EMULATED_DEVICE)
// The linear op's path for a problem cuBLASLt has no algorithm for: a GEMM, then the bias kernel.
TEST(CudaOpsFallback, LinearWithoutACublasLtAlgorithmMatchesTheCpu) {
  emu::set_cublaslt_algorithms(false);
  check_against_cpu("linear");
  emu::set_cublaslt_algorithms(true);
}
#endif

// ExecutorOptions::allow_tf32: the GEMMs round their inputs to TF32 (10-bit mantissas), so each
// output of the linear op may differ from the exact product by up to 2^-10 of the sum of the
// magnitudes of its terms (both factors rounded to 2^-11, float32 accumulation besides); without
// it the same outputs stay within the float32 bound. The TF32 run must really differ.
TEST(CudaOpsTf32, TheLinearOpWithinTf32RoundingOfTheCpu) {
  MYELIN_REQUIRE_GPU();
  const std::int64_t rows = 37, in = 300, out = 19;
  Graph g(8);
  const Value x = g.input("x", Shape{rows, in});
  const Value y = g.linear_layer(x, out, {}, "fc");
  const Tensor input = test::random_tensor(Shape{rows, in}, 4, -1, 1, DType::kFloat32);
  auto run = [&](Device device, bool tf32) {
    ExecutorOptions options;
    options.device = device;
    options.allow_tf32 = tf32;
    options.outputs = {y};
    Executor e(g, options);
    e.set_input(x, input);
    e.forward(Mode::kEval);
    return e.value(y).to(Device::cpu()).to_vector<double>();
  };
  const std::vector<double> cpu = run(Device::cpu(), false);
  const std::vector<double> fp32 = run(Device::cuda(0), false);
  const std::vector<double> tf32 = run(Device::cuda(0), true);
  // The sum of |x_k w_k| of each output, in double.
  const std::vector<double> xs = input.to_vector<double>();
  const std::vector<double> w = g.tensor(g.find("fc.weight")).to_vector<double>();
  double worst_tf32 = 0, worst_fp32 = 0;
  bool differs = false;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t o = 0; o < out; ++o) {
      double magnitude = 0;
      for (std::int64_t k = 0; k < in; ++k) {
        magnitude += std::abs(xs[static_cast<std::size_t>(r * in + k)] *
                              w[static_cast<std::size_t>(o * in + k)]);
      }
      const std::size_t i = static_cast<std::size_t>(r * out + o);
      worst_tf32 = std::max(worst_tf32, std::abs(tf32[i] - cpu[i]) / magnitude);
      worst_fp32 = std::max(worst_fp32, std::abs(fp32[i] - cpu[i]) / magnitude);
      differs = differs || tf32[i] != fp32[i];
    }
  }
  std::cout << "linear, error per output over the sum of its terms' magnitudes: tf32 " << worst_tf32
            << ", float32 " << worst_fp32 << "\n";
  EXPECT_TRUE(differs) << "TF32 gave the float32 bits: it did not run";
  EXPECT_LE(worst_tf32, std::ldexp(1.0, -10));
  // float32: each product and partial sum rounded to 2^-24 relative, over about sqrt(300)
  // levels of a summation tree at worst: far below TF32's.
  EXPECT_LE(worst_fp32, 1e-5);
}

// The comparison itself: a NaN or an infinity on one side and not the other fails.
TEST(CudaComparison, NonFiniteValuesMatchOnlyTheirLikes) {
  auto error = [](float gpu, float cpu) {
    std::string why;
    const double e = test::normalised_error(Tensor::from_vector<float>(Shape{2}, {gpu, 1.0f}),
                                            Tensor::from_vector<float>(Shape{2}, {cpu, 1.0f}), why);
    return std::make_pair(e, why);
  };
  EXPECT_EQ(error(INFINITY, INFINITY).first, 0.0);
  EXPECT_EQ(error(-INFINITY, -INFINITY).first, 0.0);
  EXPECT_EQ(error(NAN, NAN).first, 0.0);
  for (const auto& [gpu, cpu] : std::vector<std::pair<float, float>>{{INFINITY, -INFINITY},
                                                                     {-INFINITY, INFINITY},
                                                                     {NAN, INFINITY},
                                                                     {1.0f, NAN},
                                                                     {INFINITY, 1.0f}}) {
    const auto [e, why] = error(gpu, cpu);
    EXPECT_EQ(e, INFINITY) << gpu << " vs " << cpu;
    EXPECT_NE(why.find("mismatch"), std::string::npos) << gpu << " vs " << cpu;
  }
}

// A row holding +inf has no softmax: NaN on the CPU, on the GPU and in PyTorch alike.
TEST(CudaOpsInfinities, RowsHoldingPlusInfinityAreNaNOnEveryBackend) {
  MYELIN_REQUIRE_GPU();
  for (const char* op : {"softmax", "log_softmax"}) {
    for (const std::int64_t cols : {5, 40, 2000}) {  // warp rows, and a block row
      Graph g;
      const Value x = g.input("x", Shape{2, cols});
      const Value y = g.op(op, {x});
      Tensor input = test::random_tensor(Shape{2, cols}, 5, -1, 1, DType::kFloat32);
      input.data<float>()[cols / 2] = INFINITY;  // row 0 only
      for (Device d : {Device::cpu(), Device::cuda(0)}) {
        ExecutorOptions options;
        options.device = d;
        Executor e(g, options);
        e.set_input(x, input);
        e.forward();
        const std::vector<float> out = e.value(y).to_vector<float>();
        for (std::int64_t j = 0; j < cols; ++j) {
          EXPECT_TRUE(std::isnan(out[static_cast<std::size_t>(j)]))
              << op << " " << cols << " on " << d.str() << " column " << j;
          EXPECT_TRUE(std::isfinite(out[static_cast<std::size_t>(cols + j)]))
              << op << " " << cols << " on " << d.str() << " row 1";
        }
      }
    }
  }
}

TEST(CudaOpsErrors, LabelsOutOfRangeAreReportedNamingTheNode) {
  MYELIN_REQUIRE_GPU();
  Graph g;
  const Value logits = g.input("logits", Shape{3, 4});
  const Value labels = g.input("labels", Shape{3}, DType::kInt64);
  const Value loss = g.softmax_cross_entropy(logits, labels, -100, "ce");
  ExecutorOptions options;
  options.device = Device::cuda(0);
  Executor e(g, options);
  e.set_input(logits, Tensor::zeros(Shape{3, 4}));
  e.set_input(labels, Tensor::from_vector<std::int64_t>(Shape{3}, {0, 7, 1}));
  e.forward();
  const std::string msg = test::error_of([&] { e.value(loss); });
  EXPECT_NE(msg.find("node 'ce'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 7 at row 1"), std::string::npos) << msg;
}

TEST(CudaOpsErrors, DropoutMasksEqualTheCpuMasksBitForBit) {
  MYELIN_REQUIRE_GPU();
  Graph g(77);
  const Value x = g.input("x", Shape{333, 77});
  const Value y = g.dropout(x, 0.37, "drop");
  std::vector<Tensor> outs;
  for (Device d : {Device::cpu(), Device::cuda(0)}) {
    ExecutorOptions options;
    options.device = d;
    Executor e(g, options);
    e.set_input(x, Tensor::full(Shape{333, 77}, 1.0));
    e.forward(Mode::kTrain, 12345);
    outs.push_back(e.value(y).to(Device::cpu()));
  }
  // The kept elements equal 1 / (1 - p) on both: the masks are the same bits.
  EXPECT_TRUE(bitwise_equal(outs[0], outs[1]));
}

}  // namespace
}  // namespace myelin
