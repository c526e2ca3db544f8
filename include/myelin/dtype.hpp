#pragma once

#include <cstddef>
#include <cstdint>

#include "myelin/export.hpp"

namespace myelin {

// Element types. The enum is open at the end: bf16 and fp16 storage types slot in later
// without renumbering what checkpoints and kernels already use.
enum class DType : std::uint8_t {
  kFloat32 = 0,
  kFloat64 = 1,
  kInt32 = 2,
  kInt64 = 3,
  kUInt8 = 4,
};

MYELIN_API std::size_t dtype_size(DType dtype);
MYELIN_API const char* dtype_name(DType dtype);
MYELIN_API bool is_floating(DType dtype);

template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::kFloat32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::kFloat64;
};
template <>
struct DTypeOf<std::int32_t> {
  static constexpr DType value = DType::kInt32;
};
template <>
struct DTypeOf<std::int64_t> {
  static constexpr DType value = DType::kInt64;
};
template <>
struct DTypeOf<std::uint8_t> {
  static constexpr DType value = DType::kUInt8;
};

template <typename T>
inline constexpr DType kDTypeOf = DTypeOf<T>::value;

}  // namespace myelin
