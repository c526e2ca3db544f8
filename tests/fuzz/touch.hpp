#pragma once

// Reads every byte of a tensor a reader returned, so that AddressSanitizer reports storage
// smaller than the tensor's shape says.
#include <cstddef>

#include "myelin/tensor.hpp"

inline void touch_bytes(const myelin::Tensor& t) {
  const auto* bytes = static_cast<const unsigned char*>(t.raw());
  volatile unsigned sum = 0;
  for (std::size_t i = 0; i < t.nbytes(); ++i) sum = sum + bytes[i];
}
