#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "myelin/export.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// safetensors: an 8-byte little-endian header length N, N bytes of JSON ({"__metadata__":
// {string: string}, "<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
// ...}, possibly padded with spaces), then the tensors' bytes; offsets count from the end of the
// header. myelin reads and writes F32, F64, I32, I64 and U8 (BOOL is read as uint8).
struct MYELIN_API SafeTensors {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order of their data
  std::map<std::string, std::string> metadata;

  // The tensor of that name; throws myelin::Error when there is none.
  const Tensor& at(const std::string& name) const;
  bool contains(const std::string& name) const;
};

// Every inconsistency (a header length larger than the file, malformed JSON, an unknown dtype,
// offsets out of range or overlapping, a shape that does not match the bytes) is a myelin::Error
// naming the file.
MYELIN_API SafeTensors read_safetensors(const std::string& path);
MYELIN_API SafeTensors parse_safetensors(const std::vector<unsigned char>& bytes,
                                         const std::string& name);
// Writes tensors (host copies are made of device tensors) in the order given; the header is
// padded with spaces to a multiple of 8 bytes. Writes to a temporary file and renames it, so a
// crash never leaves a half-written file under `path`.
MYELIN_API void write_safetensors(const std::string& path,
                                  const std::vector<std::pair<std::string, Tensor>>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

}  // namespace myelin
