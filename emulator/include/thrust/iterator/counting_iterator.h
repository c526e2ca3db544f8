#pragma once

// The emulated device's stand-in for thrust::counting_iterator (random access over the values
// first, first + 1, ...).

#include <cstddef>

namespace thrust {

template <typename T>
class counting_iterator {
 public:
  using value_type = T;
  using difference_type = std::ptrdiff_t;

  counting_iterator() = default;
  explicit counting_iterator(T value) : value_(value) {}
  T operator*() const { return value_; }
  T operator[](difference_type k) const { return value_ + static_cast<T>(k); }
  counting_iterator operator+(difference_type k) const {
    return counting_iterator(value_ + static_cast<T>(k));
  }
  difference_type operator-(const counting_iterator& other) const {
    return static_cast<difference_type>(value_ - other.value_);
  }

 private:
  T value_{};
};

}  // namespace thrust
