#pragma once

// The whole public API.
#include "myelin/attrs.hpp"
#include "myelin/build_info.hpp"
#include "myelin/data.hpp"
#include "myelin/device.hpp"
#include "myelin/dtype.hpp"
#include "myelin/error.hpp"
#include "myelin/executor.hpp"
#include "myelin/gradcheck.hpp"
#include "myelin/graph.hpp"
#include "myelin/op.hpp"
#include "myelin/optimizer.hpp"
#include "myelin/philox.hpp"
#include "myelin/random.hpp"
#include "myelin/shape.hpp"
#include "myelin/tensor.hpp"
