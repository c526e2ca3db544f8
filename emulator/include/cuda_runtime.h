#pragma once

// The emulated device's stand-in for the CUDA toolkit's cuda_runtime.h: the runtime API and the
// device-side language (built-ins, barriers, warp collectives, atomics, intrinsics).

#include <cmath>

#include "cuda_runtime_api.h"
#include "myelin_emu/device.hpp"
