#pragma once

// Charts as inline SVG for `myelin report`: line and scatter charts (linear or log axes, or
// categories), grouped bar charts and heat maps. Each function returns one <svg> element sized by
// its viewBox, so that the page scales it to its column. Non-finite values are left out (a line
// breaks there), as are values a log axis cannot show (<= 0).

#include <string>
#include <utility>
#include <vector>

namespace myelin::cli::svg {

// Text safe inside HTML and SVG.
std::string escape(const std::string& text);
// The i-th colour of the palette (distinct for the first ten, then repeating).
std::string color(std::size_t i);

struct Axis {
  std::string label;
  bool log = false;                     // log10 scale: values <= 0 are left out
  std::vector<std::string> categories;  // not empty: the values are the categories' indices
  double min = 0.0, max = 0.0;          // a fixed range when min < max; else fitted to the data
};

struct Series {
  Series() = default;
  explicit Series(std::string name_, std::vector<double> x_ = {}, std::vector<double> y_ = {})
      : name(std::move(name_)), x(std::move(x_)), y(std::move(y_)) {}
  std::string name;
  std::vector<double> x, y;
  std::string color;  // empty: the palette's next
  bool line = true;   // joined by lines
  bool markers = false;
  bool dashed = false;
};

struct LineChart {
  std::string title;
  Axis x, y;
  std::vector<Series> series;
  // Horizontal reference lines: (y, label).
  std::vector<std::pair<double, std::string>> references;
};
std::string line_chart(const LineChart& chart);

struct BarChart {
  std::string title;
  std::string y_label;
  std::vector<std::string> categories;
  std::vector<Series> groups;  // each a value per category (in y); x is unused
  double y_max = 0.0;          // > 0: the axis ends there; else at the largest value
  bool value_labels = true;    // the value above each bar
  std::vector<std::pair<double, std::string>> references;
  // One group only: the name of the step from each category to the next (a ladder's gaps).
  std::vector<std::string> gaps;
};
std::string bar_chart(const BarChart& chart);

struct HeatMap {
  std::string title;
  std::string row_label, column_label;
  std::vector<std::string> rows, columns;
  std::vector<std::vector<double>> shade;       // in [0, 1]: the cell's colour
  std::vector<std::vector<std::string>> cells;  // the text in each cell
};
std::string heat_map(const HeatMap& chart);

}  // namespace myelin::cli::svg
