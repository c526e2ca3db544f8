#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "myelin/device.hpp"
#include "myelin/dtype.hpp"
#include "myelin/export.hpp"
#include "myelin/shape.hpp"

namespace myelin {

// Bytes every host buffer is aligned to: a cache line, and enough for any SIMD load.
inline constexpr std::size_t kHostAlignment = 64;

struct Storage;

// A contiguous row-major array on one device. A Tensor is a shared handle: copies share the
// same storage (use clone() for a deep copy), as reshaped() views do.
class MYELIN_API Tensor {
 public:
  Tensor() = default;

  // Uninitialised memory; zeros() clears it.
  static Tensor empty(const Shape& shape, DType dtype = DType::kFloat32,
                      Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::kFloat32,
                      Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::kFloat32);
  // A host tensor holding `values` (their count must equal shape.numel()).
  template <typename T>
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values) {
    Tensor t = empty(shape, kDTypeOf<T>);
    t.copy_from_host(values.data(), values.size(), kDTypeOf<T>);
    return t;
  }
  template <typename T>
  static Tensor scalar(T value) {
    return from_vector<T>(Shape{}, std::vector<T>{value});
  }

  // A tensor over existing storage (the library's allocators use it).
  static Tensor wrap(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype);
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  Device device() const;
  std::int64_t numel() const { return shape_.numel(); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }

  // Typed access to host data; throws if T is not the tensor's type or the tensor is not on
  // the CPU.
  template <typename T>
  T* data() {
    return static_cast<T*>(checked_data(kDTypeOf<T>));
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(checked_data(kDTypeOf<T>));
  }
  // Untyped pointer on the tensor's device (host or device memory).
  void* raw();
  const void* raw() const;

  // Host data as a vector of T, converting from the tensor's type (copies from a device).
  template <typename T>
  std::vector<T> to_vector() const {
    std::vector<T> out(static_cast<std::size_t>(numel()));
    copy_to_host(out.data(), out.size(), kDTypeOf<T>);
    return out;
  }
  // The value of a one-element tensor, converted to double.
  double item() const;

  Tensor clone() const;
  // Converts the element type (host tensors); returns *this when the type already matches.
  Tensor to(DType dtype) const;
  // Copies to another device; returns *this when it is already there.
  Tensor to(Device device) const;
  // A view with another shape of the same element count, sharing storage.
  Tensor reshaped(const Shape& shape) const;
  // Copies the elements of `src` (same shape; converted when the types differ).
  void copy_from(const Tensor& src);
  void fill(double value);
  void zero();
  bool shares_storage(const Tensor& other) const { return storage_ == other.storage_; }
  std::string str() const;  // "[2, 3] float32 cpu"

 private:
  void* checked_data(DType want) const;
  void copy_from_host(const void* src, std::size_t count, DType src_dtype);
  void copy_to_host(void* dst, std::size_t count, DType dst_dtype) const;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  DType dtype_ = DType::kFloat32;
};

// Whether two tensors hold the same shape, type and bit patterns.
MYELIN_API bool bitwise_equal(const Tensor& a, const Tensor& b);

}  // namespace myelin
