#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace myelin::cli {

using Args = std::vector<std::string>;

int run_info(const Args& args);
int run_spirals(const Args& args);
int run_train(const Args& args);
int run_eval(const Args& args);
int run_gradcheck(const Args& args);
int run_inspect(const Args& args);
int run_predict(const Args& args);
int run_tune(const Args& args);
int run_report(const Args& args);

// Usage errors: the tool prints the message and exits with code 2.
struct UsageError {
  std::string message;
};

// Parses "--name value" options; returns the value or `fallback`.
std::string option(const Args& args, const std::string& name, const std::string& fallback);
// A finite number.
double option_number(const Args& args, const std::string& name, double fallback);
// A whole number in [min, max] (written plainly or as 1e6).
std::int64_t option_integer(const Args& args, const std::string& name, std::int64_t fallback,
                            std::int64_t min, std::int64_t max = std::int64_t{1} << 53);
// Fails with a UsageError for any "--x" not in `known`.
void check_options(const Args& args, const std::vector<std::string>& known);

}  // namespace myelin::cli
