#include "myelin/tensor.hpp"

#include <cstring>
#include <sstream>

#include "memory.hpp"
#include "myelin/error.hpp"

namespace myelin {

namespace {

template <typename Dst, typename Src>
void convert_typed(Dst* dst, const Src* src, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<Dst>(src[i]);
}

template <typename Dst>
void convert_from(Dst* dst, const void* src, DType src_dtype, std::size_t n) {
  switch (src_dtype) {
    case DType::kFloat32:
      return convert_typed(dst, static_cast<const float*>(src), n);
    case DType::kFloat64:
      return convert_typed(dst, static_cast<const double*>(src), n);
    case DType::kInt32:
      return convert_typed(dst, static_cast<const std::int32_t*>(src), n);
    case DType::kInt64:
      return convert_typed(dst, static_cast<const std::int64_t*>(src), n);
    case DType::kUInt8:
      return convert_typed(dst, static_cast<const std::uint8_t*>(src), n);
  }
}

// Element-wise conversion between host buffers of any two types.
void convert(void* dst, DType dst_dtype, const void* src, DType src_dtype, std::size_t n) {
  if (dst_dtype == src_dtype) {
    std::memcpy(dst, src, n * dtype_size(dst_dtype));
    return;
  }
  switch (dst_dtype) {
    case DType::kFloat32:
      return convert_from(static_cast<float*>(dst), src, src_dtype, n);
    case DType::kFloat64:
      return convert_from(static_cast<double*>(dst), src, src_dtype, n);
    case DType::kInt32:
      return convert_from(static_cast<std::int32_t*>(dst), src, src_dtype, n);
    case DType::kInt64:
      return convert_from(static_cast<std::int64_t*>(dst), src, src_dtype, n);
    case DType::kUInt8:
      return convert_from(static_cast<std::uint8_t*>(dst), src, src_dtype, n);
  }
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ =
      allocate_storage(device, static_cast<std::size_t>(shape.numel()) * dtype_size(dtype));
  return t;
}

Tensor Tensor::wrap(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype) {
  if (!storage) fail("Tensor::wrap: no storage");
  if (storage->bytes < static_cast<std::size_t>(shape.numel()) * dtype_size(dtype)) {
    fail("Tensor::wrap: ", storage->bytes, " bytes cannot hold ", shape.str(), " ",
         dtype_name(dtype));
  }
  Tensor t;
  t.storage_ = std::move(storage);
  t.shape_ = shape;
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero();
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill(value);
  return t;
}

Device Tensor::device() const {
  return storage_ ? storage_->device : Device::cpu();
}

void* Tensor::raw() {
  if (!storage_) fail("access to an undefined tensor");
  return storage_->ptr;
}

const void* Tensor::raw() const {
  if (!storage_) fail("access to an undefined tensor");
  return storage_->ptr;
}

void* Tensor::checked_data(DType want) const {
  if (!storage_) fail("access to an undefined tensor");
  if (want != dtype_) {
    fail("tensor ", shape_.str(), " holds ", dtype_name(dtype_), ", not ", dtype_name(want));
  }
  if (!storage_->device.is_cpu()) {
    fail("tensor ", shape_.str(), " is on ", storage_->device.str(),
         ": host access needs .to(Device::cpu())");
  }
  return storage_->ptr;
}

void Tensor::copy_from_host(const void* src, std::size_t count, DType src_dtype) {
  if (count != static_cast<std::size_t>(numel())) {
    fail("tensor of shape ", shape_.str(), " needs ", numel(), " values, got ", count);
  }
  if (device().is_cpu()) {
    convert(raw(), dtype_, src, src_dtype, count);
  } else {
    Tensor host = empty(shape_, dtype_);
    convert(host.raw(), dtype_, src, src_dtype, count);
    copy_bytes(raw(), storage_.get(), host.raw(), nullptr, nbytes());
  }
}

void Tensor::copy_to_host(void* dst, std::size_t count, DType dst_dtype) const {
  if (count != static_cast<std::size_t>(numel())) fail("copy_to_host: wrong element count");
  if (device().is_cpu()) {
    convert(dst, dst_dtype, raw(), dtype_, count);
  } else {
    Tensor host = to(Device::cpu());
    convert(dst, dst_dtype, host.raw(), dtype_, count);
  }
}

double Tensor::item() const {
  if (numel() != 1) fail("item() needs a one-element tensor, got shape ", shape_.str());
  return to_vector<double>()[0];
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  Tensor t = empty(shape_, dtype_, device());
  copy_bytes(t.raw(), t.storage_.get(), raw(), storage_.get(), nbytes());
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  if (!device().is_cpu()) return to(Device::cpu()).to(dtype).to(device());
  Tensor t = empty(shape_, dtype);
  convert(t.raw(), dtype, raw(), dtype_, static_cast<std::size_t>(numel()));
  return t;
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor t = empty(shape_, dtype_, device);
  copy_bytes(t.raw(), t.storage_.get(), raw(), storage_.get(), nbytes());
  return t;
}

Tensor Tensor::reshaped(const Shape& shape) const {
  if (shape.numel() != numel()) {
    fail("cannot reshape ", shape_.str(), " (", numel(), " elements) to ", shape.str(), " (",
         shape.numel(), " elements)");
  }
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  if (src.shape() != shape_) {
    fail("copy_from: shapes differ (", src.shape().str(), " into ", shape_.str(), ")");
  }
  if (src.dtype() == dtype_) {
    copy_bytes(raw(), storage_.get(), src.raw(), src.storage_.get(), nbytes());
    return;
  }
  const Tensor host_src = src.to(Device::cpu());
  copy_from_host(host_src.raw(), static_cast<std::size_t>(numel()), src.dtype());
}

void Tensor::fill(double value) {
  Tensor host = empty(shape_, DType::kFloat64);
  double* p = host.data<double>();
  for (std::int64_t i = 0; i < numel(); ++i) p[i] = value;
  copy_from(host);
}

void Tensor::zero() {
  if (device().is_cpu()) {
    std::memset(raw(), 0, nbytes());
  } else {
    copy_from(zeros(shape_, dtype_));
  }
}

std::string Tensor::str() const {
  std::ostringstream out;
  out << shape_.str() << ' ' << dtype_name(dtype_) << ' ' << device().str();
  return out.str();
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ha = a.to(Device::cpu());
  const Tensor hb = b.to(Device::cpu());
  return std::memcmp(ha.raw(), hb.raw(), ha.nbytes()) == 0;
}

}  // namespace myelin
