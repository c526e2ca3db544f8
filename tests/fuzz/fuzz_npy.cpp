// libFuzzer target: the NumPy .npy reader (magic, versions, header dictionary, shapes, types).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "myelin/error.hpp"
#include "myelin/io.hpp"
#include "touch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const myelin::Tensor t =
        myelin::parse_npy(std::vector<unsigned char>(data, data + size), "input");
    touch_bytes(t);
  } catch (const myelin::Error&) {
    // A clear error is the expected outcome of bad input; anything else is a finding.
  }
  return 0;
}
