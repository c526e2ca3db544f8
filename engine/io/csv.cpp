// CSV of numbers.
#include <cstdlib>
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

bool parse_number(const std::string& text, double& value) {
  std::size_t b = 0, e = text.size();
  while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
  while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r')) --e;
  if (b == e) return false;
  const std::string trimmed = text.substr(b, e - b);
  char* end = nullptr;
  value = std::strtod(trimmed.c_str(), &end);
  return end == trimmed.c_str() + trimmed.size();
}

}  // namespace

CsvTable parse_csv(const std::string& text, const std::string& name) {
  CsvTable table;
  std::vector<double> values;
  std::size_t cols = 0, rows = 0, line_number = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines
    const std::vector<std::string> fields = split_line(line);
    std::vector<double> row(fields.size());
    bool numeric = true;
    for (std::size_t k = 0; k < fields.size() && numeric; ++k)
      numeric = parse_number(fields[k], row[k]);
    if (!numeric) {
      if (rows == 0 && table.header.empty()) {  // the first line names the columns
        table.header = fields;
        cols = fields.size();
        continue;
      }
      for (std::size_t k = 0; k < fields.size(); ++k) {
        double v;
        if (!parse_number(fields[k], v)) {
          fail(name, ":", line_number, ": field ", k + 1, " ('", fields[k], "') is not a number");
        }
      }
    }
    if (cols == 0) cols = fields.size();
    if (fields.size() != cols) {
      fail(name, ":", line_number, ": ", fields.size(), " fields, expected ", cols);
    }
    values.insert(values.end(), row.begin(), row.end());
    ++rows;
  }
  if (rows == 0) fail(name, ": no data rows");
  table.values = Tensor::empty(
      Shape{static_cast<std::int64_t>(rows), static_cast<std::int64_t>(cols)}, DType::kFloat32);
  for (std::size_t i = 0; i < values.size(); ++i) {
    table.values.data<float>()[i] = static_cast<float>(values[i]);
  }
  return table;
}

CsvTable read_csv(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file_bytes(path);
  return parse_csv(std::string(bytes.begin(), bytes.end()), path);
}

}  // namespace myelin
