// cuBLASLt on the emulated device: matmul descriptors (transposes, the bias epilogue), matrix
// layouts, preferences, the heuristic query that finds the one emulated algorithm (or none, when
// the emulator is told so), and cublasLtMatmul on the reference GEMM (gemm.cpp).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "cublasLt.h"
#include "gemm.hpp"
#include "internal.hpp"

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

using namespace myelin::emu::detail;

// ---- cuBLASLt -----------------------------------------------------------------------------------

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  return create_context(handle);
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  return destroy_context(handle);
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc,
                                        cublasComputeType_t compute_type,
                                        cudaDataType_t scale_type) {
  if (desc == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if ((compute_type != CUBLAS_COMPUTE_32F && compute_type != CUBLAS_COMPUTE_32F_PEDANTIC &&
       compute_type != CUBLAS_COMPUTE_32F_FAST_TF32) ||
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
         with_bias ? static_cast<const float*>(desc->bias) : nullptr,
         desc->compute == CUBLAS_COMPUTE_32F_FAST_TF32};
  return queue_gemm(g, handle->device, stream);
}
