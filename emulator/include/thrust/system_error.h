#pragma once

// The emulated device's stand-in for Thrust's exceptions: thrust::system_error (a failed CUDA
// call, with its error code) and thrust::system::detail::bad_alloc (a temporary allocation that
// failed), derived from the standard exceptions as Thrust's are.

#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

namespace thrust {

class system_error : public std::runtime_error {
 public:
  system_error(int code, const std::string& what)
      : std::runtime_error(what), code_(code, std::generic_category()) {}
  const std::error_code& code() const noexcept { return code_; }

 private:
  std::error_code code_;
};

namespace system {
using thrust::system_error;
namespace detail {
class bad_alloc : public std::bad_alloc {
 public:
  explicit bad_alloc(const std::string& what) : what_("std::bad_alloc: " + what) {}
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};
}  // namespace detail
}  // namespace system

}  // namespace thrust
