#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "myelin/export.hpp"

namespace myelin {

// An op attribute: integer, real, flag, text or a list of integers (a shape).
using AttrValue = std::variant<std::int64_t, double, bool, std::string, std::vector<std::int64_t>>;

MYELIN_API const char* attr_type_name(const AttrValue& value);
MYELIN_API std::string attr_to_string(const AttrValue& value);

// Attributes of one node, by name. Getters throw myelin::Error naming the attribute when it is
// missing or of another type (an integer is accepted where a real is asked for).
class MYELIN_API Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<const std::string, AttrValue>> items) : items_(items) {}

  Attrs& set(const std::string& name, AttrValue value);
  bool has(const std::string& name) const { return items_.count(name) != 0; }
  const AttrValue& get(const std::string& name) const;
  std::int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;
  const std::vector<std::int64_t>& get_ints(const std::string& name) const;

  const std::map<std::string, AttrValue>& items() const { return items_; }
  std::string str() const;

 private:
  std::map<std::string, AttrValue> items_;
};

}  // namespace myelin
