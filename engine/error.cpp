#include "myelin/error.hpp"

namespace myelin {

Error::Error(const std::string& what) : std::runtime_error(what) {}
Error::~Error() = default;

}  // namespace myelin
