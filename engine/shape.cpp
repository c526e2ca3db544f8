#include "myelin/shape.hpp"

#include <limits>

#include "myelin/error.hpp"

namespace myelin {

Shape::Shape(std::initializer_list<std::int64_t> dims) {
  set(dims.begin(), dims.size());
}

Shape::Shape(const std::vector<std::int64_t>& dims) {
  set(dims.data(), dims.size());
}

void Shape::set(const std::int64_t* dims, std::size_t count) {
  if (count > static_cast<std::size_t>(kMaxRank)) {
    fail("shape of rank ", count, " is not supported (at most ", kMaxRank, " dimensions)");
  }
  rank_ = static_cast<int>(count);
  std::int64_t total = 1;
  for (std::size_t i = 0; i < count; ++i) {
    if (dims[i] < 0) fail("shape dimension ", i, " is negative (", dims[i], ")");
    dims_[i] = dims[i];
    if (dims[i] != 0 && total > std::numeric_limits<std::int64_t>::max() / dims[i]) {
      fail("shape is too large: its element count overflows 64 bits");
    }
    total *= dims[i];
  }
}

std::int64_t Shape::dim(int axis) const {
  const int a = axis < 0 ? axis + rank_ : axis;
  if (a < 0 || a >= rank_) fail("axis ", axis, " is out of range for shape ", str());
  return dims_[static_cast<std::size_t>(a)];
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
  return n;
}

std::vector<std::int64_t> Shape::dims() const {
  return std::vector<std::int64_t>(dims_.begin(), dims_.begin() + rank_);
}

std::string Shape::str() const {
  std::string out = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(dims_[static_cast<std::size_t>(i)]);
  }
  return out + "]";
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.rank_ != b.rank_) return false;
  for (int i = 0; i < a.rank_; ++i) {
    if (a.dims_[static_cast<std::size_t>(i)] != b.dims_[static_cast<std::size_t>(i)]) return false;
  }
  return true;
}

}  // namespace myelin
