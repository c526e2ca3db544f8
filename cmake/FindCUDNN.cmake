# Finds cuDNN, which has no CMake package: the header cudnn_version.h and libcudnn, next to the
# CUDA toolkit or on the default paths. cuDNN is the baseline myelin's benchmarks compare its own
# kernels with; the library itself does not link it.
# Defines CUDNN_FOUND, CUDNN_VERSION and the imported target CUDNN::cudnn.
set(_myelin_cudnn_hints)
if(CUDAToolkit_INCLUDE_DIRS)
  list(APPEND _myelin_cudnn_hints ${CUDAToolkit_INCLUDE_DIRS})
endif()
find_path(CUDNN_INCLUDE_DIR cudnn_version.h HINTS ${_myelin_cudnn_hints} /usr/local/cuda/include)
find_library(CUDNN_LIBRARY NAMES cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)

if(CUDNN_INCLUDE_DIR AND EXISTS "${CUDNN_INCLUDE_DIR}/cudnn_version.h")
  file(STRINGS "${CUDNN_INCLUDE_DIR}/cudnn_version.h" _myelin_cudnn_defines
       REGEX "#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ")
  foreach(part MAJOR MINOR PATCHLEVEL)
    string(REGEX MATCH "CUDNN_${part} ([0-9]+)" _ "${_myelin_cudnn_defines}")
    set(_myelin_cudnn_${part} "${CMAKE_MATCH_1}")
  endforeach()
  set(CUDNN_VERSION "${_myelin_cudnn_MAJOR}.${_myelin_cudnn_MINOR}.${_myelin_cudnn_PATCHLEVEL}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN REQUIRED_VARS CUDNN_LIBRARY CUDNN_INCLUDE_DIR
                                  VERSION_VAR CUDNN_VERSION)
if(CUDNN_FOUND AND NOT TARGET CUDNN::cudnn)
  add_library(CUDNN::cudnn UNKNOWN IMPORTED)
  set_target_properties(CUDNN::cudnn PROPERTIES IMPORTED_LOCATION "${CUDNN_LIBRARY}"
                                                INTERFACE_INCLUDE_DIRECTORIES "${CUDNN_INCLUDE_DIR}")
endif()
mark_as_advanced(CUDNN_INCLUDE_DIR CUDNN_LIBRARY)
