#pragma once

// Errors kernels cannot throw (a label out of range, a mask value that is not 0 or 1): the first
// one is recorded in device memory and raised by the host at its next synchronisation, naming
// the node. Shared by the kernels and the host.

#include "myelin/host_device.hpp"

#if defined(MYELIN_EMULATED_CUDACC)
#include <cuda_runtime.h>  // the emulated device's atomics
#endif

namespace myelin {

inline constexpr int kDeviceErrorLabelRange = 1;  // detail: row, label, classes
inline constexpr int kDeviceErrorMaskValue = 2;   // detail: element

struct DeviceErrorRecord {
  int code;  // 0: none
  int node;  // executor node index
  long long detail[3];
};

#if defined(__CUDACC__) || defined(MYELIN_EMULATED_CUDACC)
// Keeps the first error: later ones lose the compare-and-swap on `code` (an integer atomic,
// never a floating-point one).
__device__ inline void record_device_error(DeviceErrorRecord* record, int code, int node,
                                           long long d0, long long d1 = 0, long long d2 = 0) {
  if (atomicCAS(&record->code, 0, code) == 0) {
    record->node = node;
    record->detail[0] = d0;
    record->detail[1] = d1;
    record->detail[2] = d2;
  }
}
#endif

}  // namespace myelin
