// cuBLAS and cuBLASLt on the emulated device: a reference GEMM in float32, queued on the stream
// like a library kernel. Each product is a sum over k in eight interleaved partial sums, added
// at the end: a fixed order, different from OpenBLAS's, as cuBLAS's is, so GPU-versus-CPU tests
// see real rounding differences. Operand extents are checked against their allocations when the
// GEMM runs (a wrong leading dimension is a fault naming the operand, not a silent wrong read).
#include <algorithm>
#include <cstring>
#include <sstream>
#include <vector>

#include "cublasLt.h"
#include "cublas_v2.h"
#include "internal.hpp"

struct cublasContext {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
};

struct cublasLtContext {
  int device = 0;
};

struct cublasLtMatmulDescOpaque_t {
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  cublasOperation_t transa = CUBLAS_OP_N;
  cublasOperation_t transb = CUBLAS_OP_N;
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  const void* bias = nullptr;
};

struct cublasLtMatrixLayoutOpaque_t {
  cudaDataType type = CUDA_R_32F;
  std::uint64_t rows = 0, cols = 0;
  std::int64_t ld = 0;
};

struct cublasLtMatmulPreferenceOpaque_t {
  std::uint64_t max_workspace = 0;
};

namespace myelin::emu::detail {

namespace {

struct Gemm {
  const char* routine;
  bool ta, tb;
  std::int64_t m, n, k;
  float alpha, beta;
  const float* a;
  std::int64_t lda;
  const float* b;
  std::int64_t ldb;
  const float* c;  // may equal d
  std::int64_t ldc;
  float* d;
  std::int64_t ldd;
  const float* bias;  // m values, or null
};

// Bytes of a column-major rows x cols matrix with leading dimension ld.
std::size_t extent(std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  if (rows == 0 || cols == 0) return 0;
  return static_cast<std::size_t>((cols - 1) * ld + rows) * sizeof(float);
}

cudaError_t check_operand(const Gemm& g, const char* name, const void* p, std::int64_t rows,
                          std::int64_t cols, std::int64_t ld, int device) {
  const std::size_t bytes = extent(rows, cols, ld);
  if (bytes == 0) return cudaSuccess;
  const Allocation* a = find_allocation(p, bytes);
  if (a != nullptr && a->device == device) return cudaSuccess;
  std::ostringstream m;
  m << g.routine << ": operand " << name << " (" << rows << " x " << cols << ", ld " << ld << ", "
    << bytes << " bytes at " << p << ") is not inside one allocation of cuda:" << device;
  return fault(cudaErrorIllegalAddress, m.str());
}

cudaError_t run_gemm(const Gemm& g, int device) {
  const std::int64_t arows = g.ta ? g.k : g.m, acols = g.ta ? g.m : g.k;
  const std::int64_t brows = g.tb ? g.n : g.k, bcols = g.tb ? g.k : g.n;
  cudaError_t e = check_operand(g, "A", g.a, arows, acols, g.lda, device);
  if (e == cudaSuccess) e = check_operand(g, "B", g.b, brows, bcols, g.ldb, device);
  if (e == cudaSuccess && g.beta != 0.0f) {
    e = check_operand(g, "C", g.c, g.m, g.n, g.ldc, device);
  }
  if (e == cudaSuccess) e = check_operand(g, "D", g.d, g.m, g.n, g.ldd, device);
  if (e == cudaSuccess && g.bias != nullptr &&
      find_allocation(g.bias, g.m * sizeof(float)) == nullptr) {
    e = fault(cudaErrorIllegalAddress,
              std::string(g.routine) + ": the bias vector is not inside one device allocation");
  }
  if (e != cudaSuccess) return e;
  // op(A) by rows and op(B) by columns, contiguous in k.
  std::vector<float> arow(static_cast<std::size_t>(g.m * g.k)),
      bcol(static_cast<std::size_t>(g.n * g.k));
  for (std::int64_t i = 0; i < g.m; ++i) {
    for (std::int64_t p = 0; p < g.k; ++p) {
      arow[static_cast<std::size_t>(i * g.k + p)] = g.ta ? g.a[p + i * g.lda] : g.a[i + p * g.lda];
    }
  }
  for (std::int64_t j = 0; j < g.n; ++j) {
    for (std::int64_t p = 0; p < g.k; ++p) {
      bcol[static_cast<std::size_t>(j * g.k + p)] = g.tb ? g.b[j + p * g.ldb] : g.b[p + j * g.ldb];
    }
  }
  for (std::int64_t j = 0; j < g.n; ++j) {
    const float* bj = bcol.data() + j * g.k;
    for (std::int64_t i = 0; i < g.m; ++i) {
      const float* ai = arow.data() + i * g.k;
      float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      std::int64_t p = 0;
      for (; p + 8 <= g.k; p += 8) {
        for (int l = 0; l < 8; ++l) lanes[l] += ai[p + l] * bj[p + l];
      }
      for (; p < g.k; ++p) lanes[p % 8] += ai[p] * bj[p];
      const float dot = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
                        ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
      float out = g.alpha * dot;
      if (g.beta != 0.0f) out += g.beta * g.c[i + j * g.ldc];
      if (g.bias != nullptr) out += g.bias[i];
      g.d[i + j * g.ldd] = out;
    }
  }
  return cudaSuccess;
}

// Queues a GEMM on `stream` (of `device`, which must be current, as for a kernel launch).
cublasStatus_t queue_gemm(const Gemm& g, int device, cudaStream_t stream) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return CUBLAS_STATUS_INVALID_VALUE;
  if (s->device != device || current_device() != device) {
    fault(cudaErrorInvalidResourceHandle,
          std::string(g.routine) + ": the handle belongs to cuda:" + std::to_string(device) +
              " but cuda:" + std::to_string(current_device()) + " is current");
    return CUBLAS_STATUS_EXECUTION_FAILED;
  }
  ++emulator().counters.launches;
  count_work(g.routine);
  Op op;
  op.devices.push_back(device);
  op.run = [g, device]() { return g.m == 0 || g.n == 0 ? cudaSuccess : run_gemm(g, device); };
  enqueue(*s, std::move(op));
  return CUBLAS_STATUS_SUCCESS;
}

bool valid_ld(std::int64_t ld, std::int64_t rows) {
  return ld >= std::max<std::int64_t>(1, rows);
}

}  // namespace

}  // namespace myelin::emu::detail

using namespace myelin::emu::detail;

// ---- cuBLAS -------------------------------------------------------------------------------------

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  ApiLock lock;
  auto* h = new cublasContext;
  h->device = current_device();
  *handle = h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (stream == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *stream = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void* workspace, std::size_t bytes) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  ApiLock lock;
  if (bytes > 0 && find_allocation(workspace, bytes) == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  // TF32 would round the inputs to 10-bit mantissas: not what the engine promises by default.
  if (mode == CUBLAS_TF32_TENSOR_OP_MATH) return CUBLAS_STATUS_NOT_SUPPORTED;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = CUBLAS_DEFAULT_MATH;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode(cublasHandle_t handle, cublasPointerMode_t mode) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode != CUBLAS_POINTER_MODE_HOST) return CUBLAS_STATUS_NOT_SUPPORTED;
  handle->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value) {
  if (value == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  switch (type) {
    case MAJOR_VERSION:
      *value = 13;
      break;
    case MINOR_VERSION:
      *value = 0;
      break;
    case PATCH_LEVEL:
      *value = 0;
      break;
  }
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR:
      return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR:
      return "error detected trying to check the license";
  }
  return "unknown error";
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                            cublasOperation_t transb, int m, int n, int k, const void* alpha,
                            const void* a, cudaDataType a_type, int lda, const void* b,
                            cudaDataType b_type, int ldb, const void* beta, void* c,
                            cudaDataType c_type, int ldc, cublasComputeType_t compute_type,
                            cublasGemmAlgo_t /*algo*/) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (a_type != CUDA_R_32F || b_type != CUDA_R_32F || c_type != CUDA_R_32F) {
    return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  if (compute_type != CUBLAS_COMPUTE_32F && compute_type != CUBLAS_COMPUTE_32F_PEDANTIC) {
    return CUBLAS_STATUS_NOT_SUPPORTED;  // TF32 and reduced precision: not for this engine
  }
  if (transa == CUBLAS_OP_C || transb == CUBLAS_OP_C) return CUBLAS_STATUS_NOT_SUPPORTED;
  const bool ta = transa == CUBLAS_OP_T, tb = transb == CUBLAS_OP_T;
  if (m < 0 || n < 0 || k < 0 || alpha == nullptr || beta == nullptr ||
      !valid_ld(lda, ta ? k : m) || !valid_ld(ldb, tb ? n : k) || !valid_ld(ldc, m)) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  Gemm g{"cublasGemmEx",
         ta,
         tb,
         m,
         n,
         k,
         *static_cast<const float*>(alpha),
         *static_cast<const float*>(beta),
         static_cast<const float*>(a),
         lda,
         static_cast<const float*>(b),
         ldb,
         static_cast<const float*>(c),
         ldc,
         static_cast<float*>(c),
         ldc,
         nullptr};
  return queue_gemm(g, handle->device, handle->stream);
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa,
                           cublasOperation_t transb, int m, int n, int k, const float* alpha,
                           const float* a, int lda, const float* b, int ldb, const float* beta,
                           float* c, int ldc) {
  return cublasGemmEx(handle, transa, transb, m, n, k, alpha, a, CUDA_R_32F, lda, b, CUDA_R_32F,
                      ldb, beta, c, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

// ---- cuBLASLt -----------------------------------------------------------------------------------

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  ApiLock lock;
  auto* h = new cublasLtContext;
  h->device = current_device();
  *handle = h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc,
                                        cublasComputeType_t compute_type,
                                        cudaDataType_t scale_type) {
  if (desc == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if ((compute_type != CUBLAS_COMPUTE_32F && compute_type != CUBLAS_COMPUTE_32F_PEDANTIC) ||
      scale_type != CUDA_R_32F) {
    return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  *desc = new cublasLtMatmulDescOpaque_t;
  (*desc)->compute = compute_type;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  delete desc;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                                              cublasLtMatmulDescAttributes_t attr, const void* buf,
                                              std::size_t bytes) {
  if (desc == nullptr || buf == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA:
    case CUBLASLT_MATMUL_DESC_TRANSB: {
      if (bytes != sizeof(cublasOperation_t)) return CUBLAS_STATUS_INVALID_VALUE;
      cublasOperation_t op;
      std::memcpy(&op, buf, sizeof op);
      if (op == CUBLAS_OP_C) return CUBLAS_STATUS_NOT_SUPPORTED;
      (attr == CUBLASLT_MATMUL_DESC_TRANSA ? desc->transa : desc->transb) = op;
      return CUBLAS_STATUS_SUCCESS;
    }
    case CUBLASLT_MATMUL_DESC_EPILOGUE: {
      if (bytes != sizeof(cublasLtEpilogue_t)) return CUBLAS_STATUS_INVALID_VALUE;
      cublasLtEpilogue_t e;
      std::memcpy(&e, buf, sizeof e);
      if (e != CUBLASLT_EPILOGUE_DEFAULT && e != CUBLASLT_EPILOGUE_BIAS) {
        return CUBLAS_STATUS_NOT_SUPPORTED;
      }
      desc->epilogue = e;
      return CUBLAS_STATUS_SUCCESS;
    }
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
      if (bytes != sizeof(const void*)) return CUBLAS_STATUS_INVALID_VALUE;
      std::memcpy(&desc->bias, buf, sizeof desc->bias);
      return CUBLAS_STATUS_SUCCESS;
    default:
      return CUBLAS_STATUS_NOT_SUPPORTED;
  }
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType type,
                                          std::uint64_t rows, std::uint64_t cols, std::int64_t ld) {
  if (layout == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (type != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
  if (ld < static_cast<std::int64_t>(std::max<std::uint64_t>(1, rows))) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  *layout = new cublasLtMatrixLayoutOpaque_t{type, rows, cols, ld};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  delete layout;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
  if (pref == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *pref = new cublasLtMatmulPreferenceOpaque_t;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  delete pref;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr,
                                                    const void* buf, std::size_t bytes) {
  if (pref == nullptr || buf == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (attr == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES) {
    if (bytes != sizeof(std::uint64_t)) return CUBLAS_STATUS_INVALID_VALUE;
    std::memcpy(&pref->max_workspace, buf, sizeof pref->max_workspace);
    return CUBLAS_STATUS_SUCCESS;
  }
  return CUBLAS_STATUS_SUCCESS;  // the search mode does not change the emulated result
}

namespace {

// The shape of op(A) op(B) = D, or false when the layouts do not fit together.
bool matmul_shape(const cublasLtMatmulDescOpaque_t& desc, const cublasLtMatrixLayoutOpaque_t& a,
                  const cublasLtMatrixLayoutOpaque_t& b, const cublasLtMatrixLayoutOpaque_t& d,
                  std::int64_t* m, std::int64_t* n, std::int64_t* k) {
  const bool ta = desc.transa == CUBLAS_OP_T, tb = desc.transb == CUBLAS_OP_T;
  const auto am = static_cast<std::int64_t>(ta ? a.cols : a.rows);
  const auto ak = static_cast<std::int64_t>(ta ? a.rows : a.cols);
  const auto bk = static_cast<std::int64_t>(tb ? b.cols : b.rows);
  const auto bn = static_cast<std::int64_t>(tb ? b.rows : b.cols);
  if (ak != bk || am != static_cast<std::int64_t>(d.rows) ||
      bn != static_cast<std::int64_t>(d.cols)) {
    return false;
  }
  *m = am;
  *n = bn;
  *k = ak;
  return true;
}

}  // namespace

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a_desc,
    cublasLtMatrixLayout_t b_desc, cublasLtMatrixLayout_t c_desc, cublasLtMatrixLayout_t d_desc,
    cublasLtMatmulPreference_t pref, int requested, cublasLtMatmulHeuristicResult_t* results,
    int* returned) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (desc == nullptr || a_desc == nullptr || b_desc == nullptr || c_desc == nullptr ||
      d_desc == nullptr || pref == nullptr || requested < 1 || results == nullptr ||
      returned == nullptr) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  std::int64_t m = 0, n = 0, k = 0;
  if (!matmul_shape(*desc, *a_desc, *b_desc, *d_desc, &m, &n, &k) || c_desc->rows != d_desc->rows ||
      c_desc->cols != d_desc->cols) {
    *returned = 0;
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  {
    ApiLock lock;
    if (!emulator().lt_algorithms) {
      *returned = 0;
      return CUBLAS_STATUS_NOT_SUPPORTED;
    }
  }
  results[0] = cublasLtMatmulHeuristicResult_t{};
  results[0].algo.data[0] = 1;  // the one emulated algorithm
  results[0].workspaceSize = 0;
  results[0].state = CUBLAS_STATUS_SUCCESS;
  results[0].wavesCount = 1.0f;
  *returned = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void* alpha,
                              const void* a, cublasLtMatrixLayout_t a_desc, const void* b,
                              cublasLtMatrixLayout_t b_desc, const void* beta, const void* c,
                              cublasLtMatrixLayout_t c_desc, void* d, cublasLtMatrixLayout_t d_desc,
                              const cublasLtMatmulAlgo_t* algo, void* /*workspace*/,
                              std::size_t /*workspace_bytes*/, cudaStream_t stream) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (desc == nullptr || a_desc == nullptr || b_desc == nullptr || c_desc == nullptr ||
      d_desc == nullptr || alpha == nullptr || beta == nullptr || algo == nullptr ||
      algo->data[0] != 1) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  std::int64_t m = 0, n = 0, k = 0;
  if (!matmul_shape(*desc, *a_desc, *b_desc, *d_desc, &m, &n, &k) || c_desc->rows != d_desc->rows ||
      c_desc->cols != d_desc->cols) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  const bool with_bias = desc->epilogue == CUBLASLT_EPILOGUE_BIAS;
  if (with_bias && desc->bias == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  Gemm g{"cublasLtMatmul",
         desc->transa == CUBLAS_OP_T,
         desc->transb == CUBLAS_OP_T,
         m,
         n,
         k,
         *static_cast<const float*>(alpha),
         *static_cast<const float*>(beta),
         static_cast<const float*>(a),
         a_desc->ld,
         static_cast<const float*>(b),
         b_desc->ld,
         static_cast<const float*>(c),
         c_desc->ld,
         static_cast<float*>(d),
         d_desc->ld,
         with_bias ? static_cast<const float*>(desc->bias) : nullptr};
  return queue_gemm(g, handle->device, stream);
}
