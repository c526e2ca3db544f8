# Finds the OpenMP build of OpenBLAS (Debian: libopenblas-openmp-dev), so that GEMMs and
# myelin's own loops share one OpenMP thread pool instead of two spinning ones.
# Defines OpenBLAS::OpenBLAS.
set(_myelin_openblas_dirs)
if(CMAKE_LIBRARY_ARCHITECTURE)
  list(APPEND _myelin_openblas_dirs /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp)
endif()
find_path(OpenBLAS_INCLUDE_DIR cblas.h
  PATHS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp
  NO_DEFAULT_PATH)
find_library(OpenBLAS_LIBRARY NAMES openblas PATHS ${_myelin_openblas_dirs} NO_DEFAULT_PATH)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenBLAS
  REQUIRED_VARS OpenBLAS_LIBRARY OpenBLAS_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install the OpenMP build of OpenBLAS: apt-get install libopenblas-openmp-dev")

if(OpenBLAS_FOUND AND NOT TARGET OpenBLAS::OpenBLAS)
  add_library(OpenBLAS::OpenBLAS UNKNOWN IMPORTED)
  set_target_properties(OpenBLAS::OpenBLAS PROPERTIES
    IMPORTED_LOCATION "${OpenBLAS_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${OpenBLAS_INCLUDE_DIR}")
endif()
mark_as_advanced(OpenBLAS_INCLUDE_DIR OpenBLAS_LIBRARY)
