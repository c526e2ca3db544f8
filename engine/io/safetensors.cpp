#include "myelin/safetensors.hpp"

#include <zlib.h>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "myelin/error.hpp"
#include "myelin/io.hpp"

namespace myelin {

namespace {

using Json = nlohmann::json;

struct Kind {
  const char* name;
  DType dtype;
};
constexpr Kind kKinds[] = {{"F32", DType::kFloat32}, {"F64", DType::kFloat64},
                           {"I32", DType::kInt32},   {"I64", DType::kInt64},
                           {"U8", DType::kUInt8},    {"BOOL", DType::kUInt8}};

const char* kind_name(DType dtype) {
  for (const Kind& k : kKinds) {
    if (k.dtype == dtype) return k.name;
  }
  return "?";
}

std::uint64_t read_u64_le(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

const Tensor& SafeTensors::at(const std::string& name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return t;
  }
  fail("safetensors: no tensor named '", name, "'");
}

bool SafeTensors::contains(const std::string& name) const {
  for (const auto& entry : tensors) {
    if (entry.first == name) return true;
  }
  return false;
}

namespace {

// The metadata entry holding a CRC-32 (hex) of every tensor's bytes, by tensor name.
constexpr const char* kChecksums = "myelin.crc32";

std::string crc32_hex(const Tensor& t) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(t.raw());
  // zlib takes at most 4 GiB per call.
  for (std::size_t done = 0; done < t.nbytes();) {
    const std::size_t n = std::min<std::size_t>(t.nbytes() - done, std::size_t{1} << 30);
    crc = crc32(crc, p + done, static_cast<uInt>(n));
    done += n;
  }
  char text[9];
  std::snprintf(text, sizeof text, "%08lx", static_cast<unsigned long>(crc));
  return text;
}

// Checks the tensors against their stored checksums (a file without them, as PyTorch writes,
// passes) and removes the entry from the caller's metadata.
void verify_checksums(SafeTensors& file, const std::string& name) {
  const auto it = file.metadata.find(kChecksums);
  if (it == file.metadata.end()) return;
  Json sums;
  try {
    sums = Json::parse(it->second);
  } catch (const Json::exception&) {
    fail(name, ": the checksums in its metadata are malformed");
  }
  if (!sums.is_object() || sums.size() != file.tensors.size()) {
    fail(name, ": the checksums in its metadata do not list its ", file.tensors.size(), " tensors");
  }
  for (const auto& [key, tensor] : file.tensors) {
    const auto sum = sums.find(key);
    if (sum == sums.end() || !sum->is_string()) fail(name, ": tensor '", key, "' has no checksum");
    if (sum->get<std::string>() != crc32_hex(tensor)) {
      fail(name, ": tensor '", key, "' does not match its checksum (the file is damaged)");
    }
  }
  file.metadata.erase(it);
}

}  // namespace

SafeTensors parse_safetensors(const std::vector<unsigned char>& bytes, const std::string& name) {
  if (bytes.size() < 8) fail(name, ": not a safetensors file (", bytes.size(), " bytes)");
  const std::uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > bytes.size() - 8) {
    fail(name, ": safetensors header length ", header_len, " is larger than the file (",
         bytes.size() - 8, " bytes after the length)");
  }
  const std::size_t data_start = 8 + static_cast<std::size_t>(header_len);
  const std::size_t data_size = bytes.size() - data_start;
  Json header;
  try {
    header =
        Json::parse(bytes.begin() + 8, bytes.begin() + static_cast<std::ptrdiff_t>(data_start));
  } catch (const Json::exception& e) {
    fail(name, ": the safetensors header is not valid JSON (", e.what(), ")");
  }
  if (!header.is_object()) fail(name, ": the safetensors header is not a JSON object");

  SafeTensors out;
  struct Span {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      if (!entry.is_object()) fail(name, ": __metadata__ must be an object of strings");
      for (const auto& [mk, mv] : entry.items()) {
        if (!mv.is_string()) fail(name, ": __metadata__ entry '", mk, "' is not a string");
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    const std::string where = name + ": tensor '" + key + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets")) {
      fail(where, " needs dtype, shape and data_offsets");
    }
    const Json& dt = entry["dtype"];
    if (!dt.is_string()) fail(where, ": dtype must be a string");
    const std::string dtype_text = dt.get<std::string>();
    const Kind* kind = nullptr;
    for (const Kind& k : kKinds) {
      if (dtype_text == k.name) kind = &k;
    }
    if (kind == nullptr) {
      fail(where, ": dtype ", dtype_text, " is not supported (F32, F64, I32, I64, U8, BOOL)");
    }
    const Json& shape_json = entry["shape"];
    if (!shape_json.is_array() || shape_json.size() > static_cast<std::size_t>(Shape::kMaxRank)) {
      fail(where, ": shape must be a list of at most ", Shape::kMaxRank, " dimensions");
    }
    std::vector<std::int64_t> dims;
    std::uint64_t count = 1;
    for (const Json& d : shape_json) {
      if (!d.is_number_unsigned()) fail(where, ": shape entries must be non-negative integers");
      const std::uint64_t n = d.get<std::uint64_t>();
      if (n != 0 && count > (std::uint64_t{1} << 40) / n) fail(where, ": shape is too large");
      count *= n;
      dims.push_back(static_cast<std::int64_t>(n));
    }
    const Json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      fail(where, ": data_offsets must be two non-negative integers");
    }
    const std::uint64_t begin = offsets[0].get<std::uint64_t>();
    const std::uint64_t end = offsets[1].get<std::uint64_t>();
    if (begin > end || end > data_size) {
      fail(where, ": data_offsets [", begin, ", ", end, "] are out of range (", data_size,
           " bytes of data)");
    }
    const std::uint64_t expected = count * dtype_size(kind->dtype);
    if (end - begin != expected) {
      fail(where, ": ", dtype_text, " ", Shape(dims).str(), " needs ", expected,
           " bytes, its offsets span ", end - begin);
    }
    Tensor t = Tensor::empty(Shape(dims), kind->dtype);
    if (expected > 0) std::memcpy(t.raw(), bytes.data() + data_start + begin, expected);
    spans.push_back({begin, end, key});
    out.tensors.emplace_back(key, t);
  }
  std::vector<std::size_t> by_offset(spans.size());
  for (std::size_t i = 0; i < spans.size(); ++i) by_offset[i] = i;
  std::sort(by_offset.begin(), by_offset.end(),
            [&](std::size_t a, std::size_t b) { return spans[a].begin < spans[b].begin; });
  for (std::size_t k = 1; k < by_offset.size(); ++k) {
    const Span& prev = spans[by_offset[k - 1]];
    const Span& cur = spans[by_offset[k]];
    if (cur.begin < prev.end) {
      fail(name, ": tensors '", prev.name, "' and '", cur.name, "' overlap (bytes [", prev.begin,
           ", ", prev.end, ") and [", cur.begin, ", ", cur.end, "))");
    }
  }
  // Keep the file's data order, so that writing back gives the same layout.
  std::vector<std::pair<std::string, Tensor>> ordered;
  for (std::size_t i : by_offset) ordered.push_back(out.tensors[i]);
  out.tensors = std::move(ordered);
  verify_checksums(out, name);
  return out;
}

SafeTensors read_safetensors(const std::string& path) {
  return parse_safetensors(read_file_bytes(path), path);
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  std::vector<Tensor> host;
  Json sums = Json::object();
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__" || header.contains(name)) {
      fail(path, ": tensor name '", name, "' is reserved or repeated");
    }
    host.push_back(tensor.to(Device::cpu()));
    sums[name] = crc32_hex(host.back());
    const std::uint64_t bytes = host.back().nbytes();
    header[name] = {{"dtype", kind_name(tensor.dtype())},
                    {"shape", host.back().shape().dims()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::map<std::string, std::string> meta = metadata;
  meta[kChecksums] = sums.dump();
  header["__metadata__"] = meta;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  unsigned char length[8];
  std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i, n >>= 8) length[i] = static_cast<unsigned char>(n & 0xff);
  std::vector<ByteSpan> pieces = {{length, 8}, {text.data(), text.size()}};
  for (const Tensor& t : host) pieces.push_back({t.raw(), t.nbytes()});
  write_file_atomically(path, pieces);
}

}  // namespace myelin
