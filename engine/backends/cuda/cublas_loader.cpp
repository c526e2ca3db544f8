// cuBLAS and cuBLASLt, loaded when first used. The library does not link them: together they
// take ~200 MiB of memory as soon as they are loaded, which a run on the CPU must not pay. Each
// routine the backend calls is defined here with the header's signature and forwards to the
// shared library's, opened with dlopen (by the soname of the headers' major version) on the
// first call: creating a CUDA executor, or reading the build's cuBLAS version. Hidden like every
// symbol of the library, so a process that links cuBLAS itself keeps its own.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <dlfcn.h>

#include <cstring>
#include <string>

#include "myelin/error.hpp"

namespace myelin::cuda {

namespace {

#define MYELIN_STRINGIFY2(x) #x
#define MYELIN_STRINGIFY(x) MYELIN_STRINGIFY2(x)

// By soname (the loader's paths: LD_LIBRARY_PATH, ld.so.cache), then in the library directory
// of the toolkit the build used, which the loader's paths need not list.
void* open_library(const char* soname) {
  void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle != nullptr) return handle;
  const std::string first_error = dlerror();
  const std::string in_toolkit = std::string(MYELIN_CUDA_LIBRARY_DIR) + "/" + soname;
  handle = dlopen(in_toolkit.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    fail("cannot load ", soname, " (", first_error, "; ", in_toolkit, ": ",
         why != nullptr ? why : "unknown error",
         "): the CUDA backend needs the CUDA toolkit's cuBLAS libraries on the loader's path");
  }
  return handle;
}

void* cublas_library() {
  static void* handle = open_library("libcublas.so." MYELIN_STRINGIFY(CUBLAS_VER_MAJOR));
  return handle;
}

void* cublas_lt_library() {
  static void* handle = open_library("libcublasLt.so." MYELIN_STRINGIFY(CUBLAS_VER_MAJOR));
  return handle;
}

template <typename Fn>
Fn resolve(void* library, const char* name) {
  void* symbol = dlsym(library, name);
  if (symbol == nullptr) fail("cuBLAS: the loaded library has no ", name);
  Fn fn;
  static_assert(sizeof fn == sizeof symbol, "function and object pointers differ in size");
  std::memcpy(&fn, &symbol, sizeof fn);
  return fn;
}

}  // namespace

bool cublas_loaded() {
  const std::string name = "libcublas.so." MYELIN_STRINGIFY(CUBLAS_VER_MAJOR);
  for (const std::string& path : {name, std::string(MYELIN_CUDA_LIBRARY_DIR) + "/" + name}) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (handle != nullptr) {
      dlclose(handle);
      return true;
    }
  }
  return false;
}

}  // namespace myelin::cuda

// Defines `name` with parameters `params`, forwarding `args` to the loaded library's `name`.
#define MYELIN_FORWARD(library, ret, name, params, args)                                \
  ret CUBLASWINAPI name params {                                                        \
    using Fn = ret(CUBLASWINAPI*) params;                                               \
    static const Fn fn = ::myelin::cuda::resolve<Fn>(::myelin::cuda::library(), #name); \
    return fn args;                                                                     \
  }

extern "C" {

MYELIN_FORWARD(cublas_library, cublasStatus_t, cublasCreate_v2, (cublasHandle_t * handle), (handle))
MYELIN_FORWARD(cublas_library, cublasStatus_t, cublasDestroy_v2, (cublasHandle_t handle), (handle))
MYELIN_FORWARD(cublas_library, cublasStatus_t, cublasSetStream_v2,
               (cublasHandle_t handle, cudaStream_t stream), (handle, stream))
MYELIN_FORWARD(cublas_library, cublasStatus_t, cublasGetProperty,
               (libraryPropertyType type, int* value), (type, value))
MYELIN_FORWARD(cublas_library, cublasStatus_t, cublasSetWorkspace_v2,
               (cublasHandle_t handle, void* workspace, size_t bytes), (handle, workspace, bytes))
MYELIN_FORWARD(cublas_library, cublasStatus_t, cublasSetMathMode,
               (cublasHandle_t handle, cublasMath_t mode), (handle, mode))
MYELIN_FORWARD(cublas_library, cublasStatus_t, cublasGemmEx,
               (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                int n, int k, const void* alpha, const void* A, cudaDataType Atype, int lda,
                const void* B, cudaDataType Btype, int ldb, const void* beta, void* C,
                cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                cublasGemmAlgo_t algo),
               (handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C,
                Ctype, ldc, computeType, algo))
MYELIN_FORWARD(cublas_library, const char*, cublasGetStatusString, (cublasStatus_t status),
               (status))

MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtCreate, (cublasLtHandle_t * handle),
               (handle))
MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtDestroy, (cublasLtHandle_t handle),
               (handle))
MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtMatmulDescCreate,
               (cublasLtMatmulDesc_t * desc, cublasComputeType_t computeType,
                cudaDataType_t scaleType),
               (desc, computeType, scaleType))
MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtMatmulDescDestroy,
               (cublasLtMatmulDesc_t desc), (desc))
MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtMatmulDescSetAttribute,
               (cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const void* buf,
                size_t bytes),
               (desc, attr, buf, bytes))
MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtMatrixLayoutCreate,
               (cublasLtMatrixLayout_t * layout, cudaDataType type, uint64_t rows, uint64_t cols,
                int64_t ld),
               (layout, type, rows, cols, ld))
MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtMatrixLayoutDestroy,
               (cublasLtMatrixLayout_t layout), (layout))
MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtMatmulPreferenceCreate,
               (cublasLtMatmulPreference_t * pref), (pref))
MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtMatmulPreferenceDestroy,
               (cublasLtMatmulPreference_t pref), (pref))
MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtMatmulPreferenceSetAttribute,
               (cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr,
                const void* buf, size_t bytes),
               (pref, attr, buf, bytes))
MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtMatmulAlgoGetHeuristic,
               (cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
                cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                cublasLtMatmulPreference_t pref, int requested,
                cublasLtMatmulHeuristicResult_t results[], int* returned),
               (handle, desc, a, b, c, d, pref, requested, results, returned))
MYELIN_FORWARD(cublas_lt_library, cublasStatus_t, cublasLtMatmul,
               (cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void* alpha,
                const void* A, cublasLtMatrixLayout_t a, const void* B, cublasLtMatrixLayout_t b,
                const void* beta, const void* C, cublasLtMatrixLayout_t c, void* D,
                cublasLtMatrixLayout_t d, const cublasLtMatmulAlgo_t* algo, void* workspace,
                size_t workspace_bytes, cudaStream_t stream),
               (handle, desc, alpha, A, a, B, b, beta, C, c, D, d, algo, workspace, workspace_bytes,
                stream))

}  // extern "C"
