#include "myelin/device.hpp"

#include <cstdlib>

#include "myelin/error.hpp"

namespace myelin {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  const std::string prefix = "cuda:";
  if (text.compare(0, prefix.size(), prefix) == 0 && text.size() > prefix.size()) {
    const std::string digits = text.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") == std::string::npos && digits.size() < 6) {
      return Device::cuda(std::atoi(digits.c_str()));
    }
  }
  fail("bad device '", text, "': expected 'cpu', 'cuda' or 'cuda:N'");
}

}  // namespace myelin
