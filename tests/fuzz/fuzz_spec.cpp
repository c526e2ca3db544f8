// libFuzzer target: the model spec reader. A spec it accepts must also survive the round trip
// the tool makes (written to spec.json and read back unchanged).
#include <cstddef>
#include <cstdint>
#include <string>

#include "myelin/app/spec.hpp"
#include "myelin/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  myelin::ModelSpec spec;
  try {
    spec =
        myelin::parse_model_spec(std::string(reinterpret_cast<const char*>(data), size), "input");
  } catch (const myelin::Error&) {
    return 0;  // a clear error is the expected outcome of bad input
  }
  // Outside the try: an accepted spec that cannot be written and read back is a finding.
  const myelin::ModelSpec again =
      myelin::parse_model_spec(myelin::model_spec_json(spec), "written back");
  if (!myelin::spec_differences(spec, again).empty()) __builtin_trap();
  return 0;
}
