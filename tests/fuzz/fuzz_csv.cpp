// libFuzzer target: the CSV reader (headers, numbers, row lengths, non-finite values).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "myelin/error.hpp"
#include "myelin/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const myelin::CsvTable table =
        myelin::parse_csv(std::string(reinterpret_cast<const char*>(data), size), "input");
    // The reader promises finite numbers only.
    const float* values = table.values.data<float>();
    for (std::int64_t i = 0; i < table.values.numel(); ++i) {
      if (!std::isfinite(values[i])) __builtin_trap();
    }
  } catch (const myelin::Error&) {
    // A clear error is the expected outcome of bad input; anything else is a finding.
  }
  return 0;
}
