// CSV of numbers.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "myelin/error.hpp"
#include "myelin/io.hpp"

namespace myelin {

namespace {

std::vector<std::string> split_line(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

bool parse_number(const std::string& text, double& value, bool& overflow) {
  std::size_t b = 0, e = text.size();
  while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
  while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r')) --e;
  if (b == e) return false;
  const std::string trimmed = text.substr(b, e - b);
  char* end = nullptr;
  errno = 0;
  value = std::strtod(trimmed.c_str(), &end);
  // ERANGE with a huge result is an overflow (1e400); with a tiny one, an underflow to 0, fine.
  overflow = errno == ERANGE && std::fabs(value) > 1.0;
  return end == trimmed.c_str() + trimmed.size();
}

// A field with nothing but spaces, or NaN written out: a missing value.
bool is_missing(const std::string& text) {
  std::size_t b = 0, e = text.size();
  while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
  while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r')) --e;
  const std::string t = text.substr(b, e - b);
  return t.empty() || t == "nan" || t == "NaN" || t == "NAN";
}

}  // namespace

CsvTable parse_csv(const std::string& text, const std::string& name, bool missing_allowed) {
  CsvTable table;
  std::vector<float> values;
  std::size_t cols = 0, rows = 0, line_number = 0;
  std::istringstream in(text);
  std::string line;
  std::vector<double> row;
  std::vector<char> numeric, overflow;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines
    const std::vector<std::string> fields = split_line(line);
    row.assign(fields.size(), 0.0);
    numeric.assign(fields.size(), 0);
    overflow.assign(fields.size(), 0);
    std::size_t numbers = 0;
    for (std::size_t k = 0; k < fields.size(); ++k) {
      bool big = false;
      numeric[k] = parse_number(fields[k], row[k], big) ? 1 : 0;
      overflow[k] = big ? 1 : 0;
      numbers += numeric[k];
    }
    // The first line names the columns when none of its fields is a number; a line mixing
    // numbers and words is a damaged row, even the first.
    if (numbers == 0 && rows == 0 && table.header.empty()) {
      table.header = fields;
      cols = fields.size();
      continue;
    }
    if (cols == 0) cols = fields.size();
    if (missing_allowed && fields.size() == cols) {
      table.first_missing_line.resize(cols, 0);
      for (std::size_t k = 0; k < fields.size(); ++k) {
        if (is_missing(fields[k])) {
          row[k] = std::numeric_limits<double>::quiet_NaN();
          numeric[k] = 1;
          if (table.first_missing_line[k] == 0) table.first_missing_line[k] = line_number;
        }
      }
    }
    for (std::size_t k = 0; k < fields.size(); ++k) {
      if (missing_allowed && fields.size() == cols && is_missing(fields[k])) continue;
      auto field = [&](const char* what) {
        fail(name, ":", line_number, ": field ", k + 1, " ('", fields[k], "') ", what);
      };
      if (numeric[k] == 0) field("is not a number");
      if (overflow[k] != 0 ||
          (std::isfinite(row[k]) && std::fabs(row[k]) > std::numeric_limits<float>::max())) {
        field("is out of range for float32");
      }
      if (!std::isfinite(row[k])) field("is not a finite number");
    }
    if (fields.size() != cols) {
      fail(name, ":", line_number, ": ", fields.size(), " fields, expected ", cols);
    }
    for (double v : row) values.push_back(static_cast<float>(v));
    ++rows;
  }
  if (rows == 0) fail(name, ": no data rows");
  table.values = Tensor::empty(
      Shape{static_cast<std::int64_t>(rows), static_cast<std::int64_t>(cols)}, DType::kFloat32);
  std::copy(values.begin(), values.end(), table.values.data<float>());
  return table;
}

CsvTable read_csv(const std::string& path, bool missing_allowed) {
  const std::vector<unsigned char> bytes = read_file_bytes(path);
  return parse_csv(std::string(bytes.begin(), bytes.end()), path, missing_allowed);
}

}  // namespace myelin
