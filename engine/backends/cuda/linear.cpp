// linear on CUDA: the GEMMs through cuBLAS (column-major, so each row-major product is computed
// as its transpose), the forward bias folded into cuBLASLt's bias epilogue (one pass instead of
// two), the bias gradient by our deterministic column-sum kernel. TF32 only when the executor
// allows it.
#include <climits>

#include "backends/cuda/cuda_ops.hpp"
#include "backends/launch_geometry.hpp"
#include "kernels/bias.hpp"

namespace myelin::cuda {

namespace {

struct Dims {
  std::int64_t rows, in, out;
};

Dims dims_of(const OpContext& ctx) {
  const std::int64_t in = ctx.input(1).shape()[1];
  const Dims d{in == 0 ? 0 : ctx.input(0).numel() / in, in, ctx.input(1).shape()[0]};
  if (d.rows > INT_MAX || d.in > INT_MAX || d.out > INT_MAX) {
    ctx.fail("GEMM dimensions ", d.rows, " x ", d.in, " x ", d.out, " exceed cuBLAS's int range");
  }
  return d;
}

cublasComputeType_t compute_type(const DeviceContext& dc) {
  return dc.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

// Column-major C (m x n) = op(A) op(B) + beta C.
void gemm(DeviceContext& dc, cublasOperation_t ta, cublasOperation_t tb, std::int64_t m,
          std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, const float* b,
          std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  const float alpha = 1.0f;
  MYELIN_CUBLAS_CHECK_AT(
      dc.node_prefix(),
      cublasGemmEx(dc.cublas, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                   &alpha, a, CUDA_R_32F, static_cast<int>(lda), b, CUDA_R_32F,
                   static_cast<int>(ldb), &beta, c, CUDA_R_32F, static_cast<int>(ldc),
                   compute_type(dc), CUBLAS_GEMM_DEFAULT));
}

#define MYELIN_LT_CHECK(call) MYELIN_CUBLAS_CHECK_AT(dc.node_prefix(), call)

// The cuBLASLt plan of y^T (out x rows) = W (stored K x out, transposed) x^T (K x rows) + bias,
// made once per shape; nullptr when cuBLASLt offers no algorithm (then GEMM + bias kernel).
DeviceContext::LtPlan* bias_plan(DeviceContext& dc, const Dims& d) {
  const auto key = std::make_tuple(d.rows, d.in, d.out, dc.tf32 ? 1 : 0);
  auto it = dc.lt_plans.find(key);
  if (it != dc.lt_plans.end()) return it->second.op != nullptr ? &it->second : nullptr;
  DeviceContext::LtPlan& plan = dc.lt_plans[key];
  MYELIN_LT_CHECK(cublasLtMatmulDescCreate(&plan.op, compute_type(dc), CUDA_R_32F));
  const cublasOperation_t transa = CUBLAS_OP_T, transb = CUBLAS_OP_N;
  const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
  MYELIN_LT_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSA, &transa,
                                                 sizeof(transa)));
  MYELIN_LT_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_TRANSB, &transb,
                                                 sizeof(transb)));
  MYELIN_LT_CHECK(cublasLtMatmulDescSetAttribute(plan.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                                 sizeof(epilogue)));
  MYELIN_LT_CHECK(cublasLtMatrixLayoutCreate(&plan.a, CUDA_R_32F, static_cast<std::uint64_t>(d.in),
                                             static_cast<std::uint64_t>(d.out), d.in));
  MYELIN_LT_CHECK(cublasLtMatrixLayoutCreate(&plan.b, CUDA_R_32F, static_cast<std::uint64_t>(d.in),
                                             static_cast<std::uint64_t>(d.rows), d.in));
  MYELIN_LT_CHECK(cublasLtMatrixLayoutCreate(&plan.c, CUDA_R_32F, static_cast<std::uint64_t>(d.out),
                                             static_cast<std::uint64_t>(d.rows), d.out));
  cublasLtMatmulPreference_t preference = nullptr;
  MYELIN_LT_CHECK(cublasLtMatmulPreferenceCreate(&preference));
  const std::uint64_t workspace = dc.workspace_bytes;
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status = [&] {
    const cublasStatus_t set = cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace));
    if (set != CUBLAS_STATUS_SUCCESS) return set;
    return cublasLtMatmulAlgoGetHeuristic(dc.lt, plan.op, plan.a, plan.b, plan.c, plan.c,
                                          preference, 1, &result, &found);
  }();
  cublasLtMatmulPreferenceDestroy(preference);
  if (status != CUBLAS_STATUS_SUCCESS || found == 0) {
    cublasLtMatmulDescDestroy(plan.op);
    cublasLtMatrixLayoutDestroy(plan.a);
    cublasLtMatrixLayoutDestroy(plan.b);
    cublasLtMatrixLayoutDestroy(plan.c);
    plan = DeviceContext::LtPlan{};  // remembered as "no plan"
    return nullptr;
  }
  plan.algo = result.algo;
  return &plan;
}

}  // namespace

void linear_forward(const OpContext& ctx) {
  DeviceContext& dc = device_of(ctx);
  const Dims d = dims_of(ctx);
  const float* x = f32(ctx.input(0));
  const float* w = f32(ctx.input(1));
  float* y = f32(ctx.output(0));
  if (d.rows == 0 || d.out == 0) return;
  if (d.in == 0) {  // an empty sum: y = bias (or 0)
    MYELIN_CUDA_CHECK(cudaMemsetAsync(y, 0, ctx.output(0).nbytes(), dc.stream));
  } else if (ctx.has_input(2)) {
    if (DeviceContext::LtPlan* plan = bias_plan(dc, d)) {
      const float* bias = f32(ctx.input(2));
      MYELIN_LT_CHECK(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                     &bias, sizeof(bias)));
      const float alpha = 1.0f, beta = 0.0f;
      MYELIN_LT_CHECK(cublasLtMatmul(dc.lt, plan->op, &alpha, w, plan->a, x, plan->b, &beta, y,
                                     plan->c, y, plan->c, &plan->algo, dc.workspace,
                                     dc.workspace_bytes, dc.stream));
      return;
    }
    gemm(dc, CUBLAS_OP_T, CUBLAS_OP_N, d.out, d.rows, d.in, w, d.in, x, d.in, 0.0f, y, d.out);
  } else {
    gemm(dc, CUBLAS_OP_T, CUBLAS_OP_N, d.out, d.rows, d.in, w, d.in, x, d.in, 0.0f, y, d.out);
    return;
  }
  if (ctx.has_input(2)) {
    const launch::Elementwise g = launch::elementwise(d.rows * d.out, 4, false, dc.sm_count);
    MYELIN_LAUNCH(
        dc, kernels::launch_bias_add(y, f32(ctx.input(2)), d.rows, d.out, g.blocks, dc.stream));
  }
}

void linear_backward(const OpContext& ctx) {
  DeviceContext& dc = device_of(ctx);
  const Dims d = dims_of(ctx);
  const float* x = f32(ctx.input(0));
  const float* w = f32(ctx.input(1));
  const float* dy = f32(ctx.grad_output(0));
  if (Tensor* dx = ctx.grad_input(0)) {  // dx [rows, in] = dy W
    if (d.out == 0) {
      MYELIN_CUDA_CHECK(cudaMemsetAsync(dx->raw(), 0, dx->nbytes(), dc.stream));
    } else if (d.rows > 0 && d.in > 0) {
      gemm(dc, CUBLAS_OP_N, CUBLAS_OP_N, d.in, d.rows, d.out, w, d.in, dy, d.out, 0.0f, f32(*dx),
           d.in);
    }
  }
  if (Tensor* dw = ctx.grad_input(1)) {  // dW [out, in] = dy^T x
    if (d.rows == 0) {
      MYELIN_CUDA_CHECK(cudaMemsetAsync(dw->raw(), 0, dw->nbytes(), dc.stream));
    } else if (d.out > 0 && d.in > 0) {
      gemm(dc, CUBLAS_OP_N, CUBLAS_OP_T, d.in, d.out, d.rows, x, d.in, dy, d.out, 0.0f, f32(*dw),
           d.in);
    }
  }
  if (ctx.has_input(2) && ctx.grad_input(2) != nullptr) {  // db = column sums of dy
    const launch::ChannelReduce r = launch::channel_reduce(d.rows, d.out, 1);
    double* scratch = scratch_doubles(dc, r.chunks * d.out + d.out);
    MYELIN_LAUNCH(dc, kernels::launch_bias_grad(dy, d.rows, d.out, r.chunk, r.chunks, scratch,
                                                f32(*ctx.grad_input(2)), dc.stream));
  }
}

}  // namespace myelin::cuda
