// IDX, the MNIST file format: a 4-byte magic (two zero bytes, the element type, the rank),
// `rank` big-endian 32-bit dimensions, then the elements, big-endian.
#include <cstring>

#include "myelin/error.hpp"
#include "myelin/io.hpp"

namespace myelin {

namespace {

std::uint32_t big_endian_u32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

template <typename T>
T big_endian(const unsigned char* p) {
  unsigned char bytes[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) bytes[i] = p[sizeof(T) - 1 - i];
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

}  // namespace

Tensor parse_idx(const std::vector<unsigned char>& bytes, const std::string& name) {
  if (bytes.size() < 4)
    fail(name, ": not an IDX file (", bytes.size(), " bytes, shorter than the magic)");
  if (bytes[0] != 0 || bytes[1] != 0) {
    fail(name, ": not an IDX file (magic bytes ", static_cast<int>(bytes[0]), " ",
         static_cast<int>(bytes[1]), ", expected 0 0)");
  }
  const int type = bytes[2];
  const int rank = bytes[3];
  std::size_t element = 0;
  switch (type) {
    case 0x08:
    case 0x09:
      element = 1;
      break;  // unsigned / signed byte
    case 0x0B:
      element = 2;
      break;  // short
    case 0x0C:
    case 0x0D:
      element = 4;
      break;  // int, float
    case 0x0E:
      element = 8;
      break;  // double
    default:
      fail(name, ": unknown IDX element type ", type, " (expected 8, 9, 11, 12, 13 or 14)");
  }
  if (rank < 1 || rank > Shape::kMaxRank) {
    fail(name, ": IDX rank ", rank, " is not supported (1 to ", Shape::kMaxRank, ")");
  }
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(rank);
  if (bytes.size() < header) fail(name, ": truncated IDX header");
  std::vector<std::int64_t> dims;
  std::size_t count = 1;
  for (int d = 0; d < rank; ++d) {
    const std::uint32_t n = big_endian_u32(&bytes[4 + 4 * static_cast<std::size_t>(d)]);
    dims.push_back(static_cast<std::int64_t>(n));
    if (n != 0 && count > (std::size_t{1} << 40) / n) fail(name, ": IDX dimensions are too large");
    count *= n;
  }
  const std::size_t expected = header + count * element;
  if (bytes.size() < expected) {
    fail(name, ": truncated IDX file: ", Shape(dims).str(), " needs ", expected,
         " bytes, the file has ", bytes.size());
  }
  if (bytes.size() > expected) {
    fail(name, ": IDX file has ", bytes.size() - expected, " bytes after its ", Shape(dims).str(),
         " data");
  }
  const unsigned char* data = bytes.data() + header;
  const Shape shape(dims);
  switch (type) {
    case 0x08: {
      Tensor t = Tensor::empty(shape, DType::kUInt8);
      if (count > 0) std::memcpy(t.raw(), data, count);
      return t;
    }
    case 0x09:
    case 0x0B:
    case 0x0C: {
      Tensor t = Tensor::empty(shape, DType::kInt32);
      std::int32_t* out = t.data<std::int32_t>();
      for (std::size_t i = 0; i < count; ++i) {
        out[i] = type == 0x09   ? static_cast<std::int8_t>(data[i])
                 : type == 0x0B ? big_endian<std::int16_t>(data + 2 * i)
                                : big_endian<std::int32_t>(data + 4 * i);
      }
      return t;
    }
    case 0x0D: {
      Tensor t = Tensor::empty(shape, DType::kFloat32);
      for (std::size_t i = 0; i < count; ++i) t.data<float>()[i] = big_endian<float>(data + 4 * i);
      return t;
    }
    default: {
      Tensor t = Tensor::empty(shape, DType::kFloat64);
      for (std::size_t i = 0; i < count; ++i)
        t.data<double>()[i] = big_endian<double>(data + 8 * i);
      return t;
    }
  }
}

Tensor read_idx(const std::string& path) {
  return parse_idx(read_file_bytes(path), path);
}

}  // namespace myelin
