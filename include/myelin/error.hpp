#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

#include "myelin/export.hpp"

namespace myelin {

// The one exception type the library throws. The message says what failed, where, and the
// value that was wrong. The library never exits the process.
class MYELIN_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what);
  ~Error() override;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

// Builds the message from its parts with operator<< and throws myelin::Error.
template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(detail::concat(args...));
}

}  // namespace myelin
