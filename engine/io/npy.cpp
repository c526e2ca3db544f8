// NumPy .npy: the magic "\x93NUMPY", a version, a header length (2 bytes in 1.0, 4 in 2.0 and
// 3.0, little-endian), a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape':
// (2, 3), } padded with spaces and a newline, then the raw data.
#include <cstring>
#include <fstream>

#include "myelin/error.hpp"
#include "myelin/io.hpp"

namespace myelin {

namespace {

// The value after `'key':` in the header dict, up to the next top-level comma or brace.
std::string dict_value(const std::string& header, const std::string& key, const std::string& name) {
  const std::string quoted = "'" + key + "'";
  std::size_t at = header.find(quoted);
  if (at == std::string::npos) fail(name, ": .npy header has no '", key, "' entry");
  at = header.find(':', at + quoted.size());
  if (at == std::string::npos) fail(name, ": .npy header entry '", key, "' has no value");
  ++at;
  while (at < header.size() && header[at] == ' ') ++at;
  std::size_t end = at;
  int depth = 0;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  if (depth != 0 || end >= header.size()) fail(name, ": malformed .npy header");
  return header.substr(at, end - at);
}

std::vector<std::int64_t> parse_shape(const std::string& text, const std::string& name) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
    fail(name, ": .npy shape '", text, "' is not a tuple");
  }
  std::vector<std::int64_t> dims;
  std::size_t i = 1;
  while (i < text.size() - 1) {
    while (i < text.size() - 1 && (text[i] == ' ' || text[i] == ',')) ++i;
    if (i >= text.size() - 1) break;
    std::size_t j = i;
    while (j < text.size() - 1 && text[j] >= '0' && text[j] <= '9') ++j;
    if (j == i || j - i > 15) fail(name, ": bad .npy shape '", text, "'");
    dims.push_back(std::stoll(text.substr(i, j - i)));
    i = j;
    while (i < text.size() - 1 && text[i] == ' ') ++i;
    if (i < text.size() - 1 && text[i] != ',') fail(name, ": bad .npy shape '", text, "'");
  }
  if (dims.size() > static_cast<std::size_t>(Shape::kMaxRank)) {
    fail(name, ": .npy array of rank ", dims.size(), " is not supported (at most ", Shape::kMaxRank,
         ")");
  }
  return dims;
}

}  // namespace

Tensor parse_npy(const std::vector<unsigned char>& bytes, const std::string& name) {
  static const unsigned char kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    fail(name, ": not a .npy file (wrong magic)");
  }
  const int major = bytes[6];
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = bytes[8] | (std::size_t{bytes[9]} << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(name, ": truncated .npy header");
    header_len = bytes[8] | (std::size_t{bytes[9]} << 8) | (std::size_t{bytes[10]} << 16) |
                 (std::size_t{bytes[11]} << 24);
    offset = 12;
  } else {
    fail(name, ": .npy version ", major, " is not supported (1 to 3)");
  }
  if (offset + header_len > bytes.size()) {
    fail(name, ": truncated .npy file: the header claims ", header_len, " bytes, the file has ",
         bytes.size() - offset);
  }
  const std::string header(bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                           bytes.begin() + static_cast<std::ptrdiff_t>(offset + header_len));
  std::string descr = dict_value(header, "descr", name);
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"')) {
    fail(name, ": bad .npy descr ", descr);
  }
  descr = descr.substr(1, descr.size() - 2);
  if (dict_value(header, "fortran_order", name) != "False") {
    fail(name, ": Fortran-ordered .npy arrays are not supported (save with C order)");
  }
  const std::vector<std::int64_t> dims = parse_shape(dict_value(header, "shape", name), name);
  std::size_t count = 1;
  for (std::int64_t d : dims) {
    if (d != 0 && count > (std::size_t{1} << 40) / static_cast<std::size_t>(d)) {
      fail(name, ": .npy shape is too large");
    }
    count *= static_cast<std::size_t>(d);
  }
  DType dtype;
  std::size_t element;
  bool widen = false;  // |i1, <i2, <u2: read into int32
  if (descr == "<f4") {
    dtype = DType::kFloat32;
    element = 4;
  } else if (descr == "<f8") {
    dtype = DType::kFloat64;
    element = 8;
  } else if (descr == "<i4") {
    dtype = DType::kInt32;
    element = 4;
  } else if (descr == "<i8") {
    dtype = DType::kInt64;
    element = 8;
  } else if (descr == "|u1" || descr == "<u1") {
    dtype = DType::kUInt8;
    element = 1;
  } else if (descr == "|i1" || descr == "<i1") {
    dtype = DType::kInt32;
    element = 1;
    widen = true;
  } else if (descr == "<i2" || descr == "<u2") {
    dtype = DType::kInt32;
    element = 2;
    widen = true;
  } else
    fail(name, ": .npy element type '", descr,
         "' is not supported (<f4 <f8 <i4 <i8 |u1 |i1 <i2 <u2)");
  const std::size_t data = offset + header_len;
  const std::size_t expected = count * element;
  if (bytes.size() - data != expected) {
    fail(name, ": .npy data is ", bytes.size() - data, " bytes, but ", Shape(dims).str(), " ",
         descr, " needs ", expected, bytes.size() - data < expected ? " (truncated file)" : "");
  }
  Tensor t = Tensor::empty(Shape(dims), dtype);
  if (!widen) {
    if (expected > 0) std::memcpy(t.raw(), bytes.data() + data, expected);
    return t;
  }
  std::int32_t* out = t.data<std::int32_t>();
  const unsigned char* in = bytes.data() + data;
  for (std::size_t i = 0; i < count; ++i) {
    if (element == 1) {
      out[i] = descr[1] == 'i' ? static_cast<std::int8_t>(in[i]) : in[i];
    } else {
      const std::uint16_t raw = static_cast<std::uint16_t>(in[2 * i] | (in[2 * i + 1] << 8));
      out[i] = descr[1] == 'i' ? static_cast<std::int16_t>(raw) : raw;
    }
  }
  return t;
}

Tensor read_npy(const std::string& path) {
  return parse_npy(read_file_bytes(path), path);
}

void write_npy(const std::string& path, const Tensor& tensor) {
  const Tensor host = tensor.to(Device::cpu());
  const char* descr = nullptr;
  switch (host.dtype()) {
    case DType::kFloat32:
      descr = "<f4";
      break;
    case DType::kFloat64:
      descr = "<f8";
      break;
    case DType::kInt32:
      descr = "<i4";
      break;
    case DType::kInt64:
      descr = "<i8";
      break;
    case DType::kUInt8:
      descr = "|u1";
      break;
  }
  std::string shape = "(";
  for (int a = 0; a < host.shape().rank(); ++a) shape += std::to_string(host.shape()[a]) + ",";
  if (host.shape().rank() > 1) shape.pop_back();
  shape += ")";
  std::string header =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so that the data starts on a 64-byte boundary, as NumPy does.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  const unsigned char prefix[] = {0x93,
                                  'N',
                                  'U',
                                  'M',
                                  'P',
                                  'Y',
                                  1,
                                  0,
                                  static_cast<unsigned char>(header.size() & 0xff),
                                  static_cast<unsigned char>(header.size() >> 8)};
  write_file_atomically(
      path, {{prefix, sizeof prefix}, {header.data(), header.size()}, {host.raw(), host.nbytes()}});
}

}  // namespace myelin
