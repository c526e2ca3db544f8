#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "myelin/export.hpp"

namespace myelin {

// A dense row-major shape of rank 0 (a scalar) to kMaxRank.
class MYELIN_API Shape {
 public:
  static constexpr int kMaxRank = 4;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims);
  explicit Shape(const std::vector<std::int64_t>& dims);

  int rank() const { return rank_; }
  std::int64_t operator[](int axis) const { return dims_[static_cast<std::size_t>(axis)]; }
  // Negative axes count from the end, as in Python.
  std::int64_t dim(int axis) const;
  std::int64_t numel() const;
  std::vector<std::int64_t> dims() const;
  std::string str() const;

  friend MYELIN_API bool operator==(const Shape& a, const Shape& b);
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  void set(const std::int64_t* dims, std::size_t count);

  std::array<std::int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace myelin
