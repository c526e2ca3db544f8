# Decides whether to build the CUDA backend (MYELIN_CUDA = AUTO | ON | OFF | EMULATED) and, when
# it does, enables the CUDA language and finds the toolkit's libraries. EMULATED builds the same
# backend and kernel sources with the host compiler against the emulated device (emulator/):
# no toolkit, no GPU; MYELIN_WITH_CUDA and MYELIN_EMULATED_DEVICE are both set.
set(MYELIN_WITH_CUDA OFF)
set(MYELIN_EMULATED_DEVICE OFF)
if(NOT MYELIN_CUDA MATCHES "^(AUTO|ON|OFF|EMULATED)$")
  message(FATAL_ERROR "MYELIN_CUDA must be AUTO, ON, OFF or EMULATED, not '${MYELIN_CUDA}'")
endif()

if(MYELIN_CUDA STREQUAL "EMULATED")
  # Fibers of the emulated device's threads.
  find_package(Boost 1.74 CONFIG COMPONENTS context)
  if(NOT Boost_FOUND)
    message(FATAL_ERROR "MYELIN_CUDA=EMULATED needs Boost.Context: apt-get install libboost-context-dev")
  endif()
  set(MYELIN_WITH_CUDA ON)
  set(MYELIN_EMULATED_DEVICE ON)
  # nvcc contracts a * b + c into one fused multiply-add (one rounding) by default: emulated
  # kernels are compiled to do the same where this machine has the instruction (checked by
  # running one); elsewhere they round twice, and say so here.
  include(CheckCXXSourceRuns)
  set(CMAKE_REQUIRED_FLAGS "-mfma")
  check_cxx_source_runs([=[
    #include <immintrin.h>
    int main() {
      volatile float a = 1.0f + 0x1p-12f, b = 1.0f - 0x1p-12f, c = -1.0f;
      const float fused = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
      return fused == -0x1p-24f ? 0 : 1;
    }]=] MYELIN_HOST_RUNS_FMA)
  unset(CMAKE_REQUIRED_FLAGS)
  if(MYELIN_HOST_RUNS_FMA)
    set(MYELIN_EMULATED_FMA_FLAGS "-mfma;-ffp-contract=fast")
  else()
    set(MYELIN_EMULATED_FMA_FLAGS "-ffp-contract=off")
    message(STATUS "this machine has no FMA instructions: emulated kernels round a * b + c twice "
                   "(nvcc would contract it into one fused multiply-add)")
  endif()
elseif(NOT MYELIN_CUDA STREQUAL "OFF")
  # nvcc is usually not on PATH outside a CUDA shell: also look where the toolkit installs.
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
    find_program(MYELIN_NVCC nvcc PATHS /usr/local/cuda/bin /opt/cuda/bin)
    if(MYELIN_NVCC)
      set(CMAKE_CUDA_COMPILER "${MYELIN_NVCC}")
    endif()
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # H100 / H200 by default; override with -DCMAKE_CUDA_ARCHITECTURES=...
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    # CMake 3.25.0-3.25.1 (Debian 12's) mark CUDA::nvToolsExt deprecated without checking that
    # it exists, and CUDA 12+ no longer ships the library: configuring fails. An empty stand-in
    # target lets FindCUDAToolkit finish; nothing links it.
    if(CMAKE_VERSION VERSION_LESS 3.25.2 AND NOT TARGET CUDA::nvToolsExt)
      add_library(CUDA::nvToolsExt INTERFACE IMPORTED)
    endif()
    find_package(CUDAToolkit REQUIRED)
    # Thrust and CUB: CUDA 13 keeps them under the toolkit's cccl folder, with a CMake package.
    find_package(CCCL CONFIG REQUIRED HINTS "${CUDAToolkit_LIBRARY_DIR}/cmake")
    # The baseline of the benchmarks; optional.
    find_package(CUDNN QUIET)
    if(CUDNN_FOUND)
      message(STATUS "cuDNN ${CUDNN_VERSION} found (benchmark baseline)")
      set(MYELIN_CUDNN_VERSION "${CUDNN_VERSION}")
    endif()
    set(MYELIN_WITH_CUDA ON)
  elseif(MYELIN_CUDA STREQUAL "ON")
    message(FATAL_ERROR "MYELIN_CUDA=ON but no CUDA compiler (nvcc) was found; install the CUDA "
                        "toolkit, put nvcc on PATH, or configure with -DMYELIN_CUDA=OFF")
  else()
    message(STATUS "nvcc not found: building the CPU-only library")
  endif()
endif()
