// libFuzzer target: IDX files as the data loader reads them, gzip-compressed or not (the gzip
// path covers multi-member streams and trailing bytes).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "myelin/error.hpp"
#include "myelin/io.hpp"
#include "touch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    std::vector<unsigned char> bytes(data, data + size);
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) bytes = myelin::gunzip(bytes, "input");
    const myelin::Tensor t = myelin::parse_idx(bytes, "input");
    touch_bytes(t);
  } catch (const myelin::Error&) {
    // A clear error is the expected outcome of bad input; anything else is a finding.
  }
  return 0;
}
