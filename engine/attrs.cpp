#include "myelin/attrs.hpp"

#include <sstream>

#include "myelin/error.hpp"

namespace myelin {

const char* attr_type_name(const AttrValue& value) {
  switch (value.index()) {
    case 0:
      return "integer";
    case 1:
      return "number";
    case 2:
      return "boolean";
    case 3:
      return "string";
    default:
      return "list of integers";
  }
}

std::string attr_to_string(const AttrValue& value) {
  std::ostringstream out;
  if (auto* i = std::get_if<std::int64_t>(&value)) {
    out << *i;
  } else if (auto* d = std::get_if<double>(&value)) {
    out << *d;
  } else if (auto* b = std::get_if<bool>(&value)) {
    out << (*b ? "true" : "false");
  } else if (auto* s = std::get_if<std::string>(&value)) {
    out << '"' << *s << '"';
  } else {
    const auto& list = std::get<std::vector<std::int64_t>>(value);
    out << '[';
    for (std::size_t k = 0; k < list.size(); ++k) out << (k ? ", " : "") << list[k];
    out << ']';
  }
  return out.str();
}

Attrs& Attrs::set(const std::string& name, AttrValue value) {
  items_[name] = std::move(value);
  return *this;
}

const AttrValue& Attrs::get(const std::string& name) const {
  auto it = items_.find(name);
  if (it == items_.end()) fail("attribute '", name, "' is not set");
  return it->second;
}

namespace {
template <typename T>
const T& typed(const Attrs& attrs, const std::string& name, const char* want) {
  const AttrValue& value = attrs.get(name);
  if (auto* p = std::get_if<T>(&value)) return *p;
  fail("attribute '", name, "' must be a ", want, ", got a ", attr_type_name(value), " (",
       attr_to_string(value), ")");
}
}  // namespace

std::int64_t Attrs::get_int(const std::string& name) const {
  return typed<std::int64_t>(*this, name, "integer");
}

double Attrs::get_float(const std::string& name) const {
  const AttrValue& value = get(name);
  if (auto* i = std::get_if<std::int64_t>(&value)) return static_cast<double>(*i);
  return typed<double>(*this, name, "number");
}

bool Attrs::get_bool(const std::string& name) const {
  return typed<bool>(*this, name, "boolean");
}

const std::string& Attrs::get_string(const std::string& name) const {
  return typed<std::string>(*this, name, "string");
}

const std::vector<std::int64_t>& Attrs::get_ints(const std::string& name) const {
  return typed<std::vector<std::int64_t>>(*this, name, "list of integers");
}

std::string Attrs::str() const {
  std::string out;
  for (const auto& [name, value] : items_) {
    if (!out.empty()) out += ", ";
    out += name + "=" + attr_to_string(value);
  }
  return out;
}

}  // namespace myelin
