// libFuzzer target: the safetensors reader (header JSON, offsets, dtypes, checksums).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "myelin/error.hpp"
#include "myelin/safetensors.hpp"
#include "touch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const myelin::SafeTensors file =
        myelin::parse_safetensors(std::vector<unsigned char>(data, data + size), "input");
    for (const auto& entry : file.tensors) touch_bytes(entry.second);
  } catch (const myelin::Error&) {
    // A clear error is the expected outcome of bad input; anything else is a finding.
  }
  return 0;
}
