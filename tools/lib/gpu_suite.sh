# What tools/gpu-check runs on a real GPU (sourced): the GPU test executable of a build
# directory, and the tests of it that compute-sanitizer (memcheck, racecheck) runs: all of them
# (the executable holds only GPU tests), whatever their suite names.
MYELIN_GPU_TESTS_RELATIVE=tests/myelin_gpu_tests
MYELIN_SANITIZER_FILTER='*'
