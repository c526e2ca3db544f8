# What tools/gpu-check runs on a real GPU (sourced): the GPU test executable of a build
# directory, the tests of it that compute-sanitizer (memcheck, racecheck) runs: all of them
# (the executable holds only GPU tests), whatever their suite names; and how many GPU tests run
# at once.
MYELIN_GPU_TESTS_RELATIVE=tests/myelin_gpu_tests
MYELIN_SANITIZER_FILTER='*'
# GPU test processes at once on one GPU: each holds a CUDA context, a memory pool and streams,
# and one at a time per core would put a dozen on the device.
MYELIN_GPU_TEST_JOBS=4
