// Charts as inline SVG: axes with 1-2-5 ticks (decades on log axes), polylines broken at missing
// values, grouped bars and shaded cells. Coordinates are SVG user units; the page scales them.
#include "svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace myelin::cli::svg {

namespace {

constexpr double kWidth = 640, kHeight = 380;
constexpr double kTop = 34, kLeft = 66, kBottom = 50;
constexpr double kLegendWidth = 160;

std::string num(double v, int digits = 4) {
  char text[40];
  std::snprintf(text, sizeof text, "%.*g", digits, v);
  return text;
}

std::string px(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

// A value's position along [a0, a1] for an axis range [lo, hi].
struct Scale {
  double lo = 0, hi = 1;
  bool log = false;
  double a0 = 0, a1 = 1;
  double operator()(double v) const {
    const double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                         : (v - lo) / (hi - lo);
    return a0 + t * (a1 - a0);
  }
};

bool shown(double v, const Axis& axis) {
  return std::isfinite(v) && (!axis.log || v > 0.0);
}

// The axis's range from the values it shows, widened to round ticks; returns the ticks.
std::vector<double> fit_axis(const Axis& axis, const std::vector<double>& values, double& lo,
                             double& hi) {
  std::vector<double> ticks;
  if (!axis.categories.empty()) {
    lo = -0.5;
    hi = static_cast<double>(axis.categories.size()) - 0.5;
    for (std::size_t i = 0; i < axis.categories.size(); ++i) ticks.push_back(i);
    return ticks;
  }
  lo = INFINITY;
  hi = -INFINITY;
  for (double v : values) {
    if (!shown(v, axis)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (axis.min < axis.max) {
    lo = axis.min;
    hi = axis.max;
  }
  if (!(lo <= hi)) {  // nothing to show
    lo = axis.log ? 1.0 : 0.0;
    hi = axis.log ? 10.0 : 1.0;
  }
  if (axis.log) {
    double e0 = std::floor(std::log10(lo)), e1 = std::ceil(std::log10(hi));
    if (e1 <= e0) e1 = e0 + 1;
    if (!(axis.min < axis.max)) {
      lo = std::pow(10.0, e0);
      hi = std::pow(10.0, e1);
    }
    const double every = std::max(1.0, std::ceil((e1 - e0) / 8.0));
    for (double e = e0; e <= e1; e += every) {
      const double decade = std::pow(10.0, e);
      for (double m : e1 - e0 <= 2 ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
        const double t = m * decade;
        if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push_back(t);
      }
    }
    return ticks;
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    const double pad = lo == 0.0 ? 1.0 : 0.1 * std::fabs(lo);
    lo -= pad;
    hi += pad;
  }
  const double rough = (hi - lo) / 5.0;
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (step >= rough) break;
  }
  if (!(axis.min < axis.max)) {
    lo = std::floor(lo / step + 1e-9) * step;
    hi = std::ceil(hi / step - 1e-9) * step;
  }
  // Multiples of the step within the range (a fixed range may start between them).
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-6; k += 1.0) {
    ticks.push_back(std::fabs(k) < 0.5 ? 0.0 : k * step);
  }
  return ticks;
}

std::string open_svg(double width, double height, const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + px(width) + " " + px(height) +
         "\" role=\"img\" aria-label=\"" + escape(title) +
         "\" class=\"chart\" font-family=\"sans-serif\" font-size=\"12\">\n<title>" +
         escape(title) + "</title>\n<text x=\"" + px(width / 2) +
         "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">" +
         escape(title) + "</text>\n";
}

std::string text(double x, double y, const std::string& s, const char* anchor,
                 const std::string& extra = "") {
  return "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\" text-anchor=\"" + anchor + "\"" + extra +
         ">" + escape(s) + "</text>\n";
}

std::string line(double x0, double y0, double x1, double y1, const std::string& style) {
  return "<line x1=\"" + px(x0) + "\" y1=\"" + px(y0) + "\" x2=\"" + px(x1) + "\" y2=\"" + px(y1) +
         "\" " + style + "/>\n";
}

std::string short_name(const std::string& name, std::size_t most) {
  return name.size() <= most ? name : name.substr(0, most - 1) + "\u2026";
}

// The legend at the right of the plot: a swatch (a dot for a scatter) and a name per series.
std::string legend(const std::vector<std::string>& names, const std::vector<std::string>& colors,
                   const std::vector<bool>& dashed, const std::vector<bool>& dots, double x,
                   double y) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 20; ++i) {
    const double row = y + 16.0 * static_cast<double>(i);
    if (dots[i]) {
      out += "<circle cx=\"" + px(x + 9) + "\" cy=\"" + px(row - 4) + "\" r=\"5\" fill=\"" +
             colors[i] + "\"/>\n";
    } else {
      out += line(x, row - 4, x + 18, row - 4,
                  "stroke=\"" + colors[i] + "\" stroke-width=\"3\"" +
                      (dashed[i] ? " stroke-dasharray=\"5 3\"" : ""));
    }
    out += text(x + 24, row, short_name(names[i], 22), "start");
  }
  if (names.size() > 20) {
    out += text(x, y + 16.0 * 20, "and " + std::to_string(names.size() - 20) + " more", "start");
  }
  return out;
}

std::string axis_label_text(const Axis& axis, double t) {
  if (!axis.categories.empty()) {
    const auto i = static_cast<std::size_t>(std::lround(t));
    return i < axis.categories.size() ? short_name(axis.categories[i], 14) : "";
  }
  // Round ticks: 6 significant digits spell them exactly (2000, not 2e+03; 0.3, not 0.30000001).
  return num(t, std::fabs(t) >= 1e6 || (t != 0.0 && std::fabs(t) < 1e-4) ? 3 : 6);
}

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string color(std::size_t i) {
  static const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                         "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
  return kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
}

std::string line_chart(const LineChart& chart) {
  std::vector<double> xs, ys;
  std::vector<std::string> names, colors;
  std::vector<bool> dashed, dots;
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const Series& s = chart.series[i];
    dots.push_back(!s.line);
    for (std::size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) {
      if (shown(s.x[k], chart.x) && shown(s.y[k], chart.y)) {
        xs.push_back(s.x[k]);
        ys.push_back(s.y[k]);
      }
    }
    names.push_back(s.name);
    colors.push_back(s.color.empty() ? color(i) : s.color);
    dashed.push_back(s.dashed);
  }
  for (const auto& [y, label] : chart.references) ys.push_back(y);
  const bool with_legend = chart.series.size() > 1;
  const double right = with_legend ? kLegendWidth : 24;
  Scale sx, sy;
  const std::vector<double> xt = fit_axis(chart.x, xs, sx.lo, sx.hi);
  const std::vector<double> yt = fit_axis(chart.y, ys, sy.lo, sy.hi);
  sx.log = chart.x.log;
  sy.log = chart.y.log;
  sx.a0 = kLeft;
  sx.a1 = kWidth - right;
  sy.a0 = kHeight - kBottom;
  sy.a1 = kTop;

  std::string out = open_svg(kWidth, kHeight, chart.title);
  out += "<rect class=\"plot\" x=\"" + px(sx.a0) + "\" y=\"" + px(sy.a1) + "\" width=\"" +
         px(sx.a1 - sx.a0) + "\" height=\"" + px(sy.a0 - sy.a1) +
         "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
  for (double t : yt) {
    out += line(sx.a0, sy(t), sx.a1, sy(t), "stroke=\"#e4e4e4\"");
    out += text(sx.a0 - 6, sy(t) + 4, axis_label_text(chart.y, t), "end");
  }
  for (double t : xt) {
    out += line(sx(t), sy.a0, sx(t), sy.a1, "stroke=\"#eeeeee\"");
    out += text(sx(t), sy.a0 + 16, axis_label_text(chart.x, t), "middle");
  }
  out += text((sx.a0 + sx.a1) / 2, kHeight - 10, chart.x.label, "middle");
  out += text(16, (sy.a0 + sy.a1) / 2, chart.y.label, "middle",
              " transform=\"rotate(-90 16 " + px((sy.a0 + sy.a1) / 2) + ")\"");
  for (const auto& [y, label] : chart.references) {
    if (!shown(y, chart.y) || y < std::min(sy.lo, sy.hi) || y > std::max(sy.lo, sy.hi)) continue;
    out += line(sx.a0, sy(y), sx.a1, sy(y), "stroke=\"#555\" stroke-dasharray=\"6 4\"");
    out += text(sx.a1 - 4, sy(y) - 4, label, "end", " fill=\"#555\" font-size=\"11\"");
  }
  if (xs.empty()) {
    out += text((sx.a0 + sx.a1) / 2, (sy.a0 + sy.a1) / 2, "no finite values to show", "middle");
  }
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const Series& s = chart.series[i];
    std::string path, marks;
    bool pen_down = false;
    for (std::size_t k = 0; k < s.x.size() && k < s.y.size(); ++k) {
      if (!shown(s.x[k], chart.x) || !shown(s.y[k], chart.y)) {
        pen_down = false;
        continue;
      }
      const double x = sx(s.x[k]), y = sy(s.y[k]);
      path += (pen_down ? " L" : " M") + px(x) + " " + px(y);
      pen_down = true;
      if (s.markers) {
        // A scatter's markers are its only marks: larger than a curve's.
        marks += "<circle cx=\"" + px(x) + "\" cy=\"" + px(y) + "\" r=\"" + (s.line ? "4" : "6") +
                 "\" fill=\"" + colors[i] +
                 "\" fill-opacity=\"0.85\" stroke=\"#fff\" stroke-width=\"0.8\"/>\n";
      }
    }
    if (s.line && !path.empty()) {
      out += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + colors[i] +
             "\" stroke-width=\"2.2\" stroke-linejoin=\"round\"" +
             (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
    }
    out += marks;
  }
  if (with_legend) out += legend(names, colors, dashed, dots, sx.a1 + 14, kTop + 12);
  return out + "</svg>\n";
}

std::string bar_chart(const BarChart& chart) {
  std::vector<double> values;
  for (const Series& g : chart.groups) {
    for (double v : g.y) values.push_back(v);
  }
  values.push_back(0.0);
  for (const auto& [y, label] : chart.references) values.push_back(y);
  if (!chart.gaps.empty()) {  // headroom for the gaps' labels above the bars
    double top = 0.0;
    for (double v : values) top = std::isfinite(v) ? std::max(top, v) : top;
    values.push_back(top * 1.2);
  }
  Axis y_axis;
  y_axis.label = chart.y_label;
  if (chart.y_max > 0) {
    y_axis.min = 0.0;
    y_axis.max = chart.y_max;
  }
  std::size_t longest = 0;
  for (const std::string& c : chart.categories) longest = std::max(longest, c.size());
  const bool slanted = longest * chart.categories.size() > 70;
  const double bottom = slanted ? 96 : kBottom;
  const bool with_legend = chart.groups.size() > 1;
  Scale sy;
  const std::vector<double> yt = fit_axis(y_axis, values, sy.lo, sy.hi);
  sy.lo = std::min(sy.lo, 0.0);
  sy.a0 = kHeight - bottom;
  sy.a1 = kTop;
  const double x0 = kLeft, x1 = kWidth - (with_legend ? kLegendWidth : 24);

  std::string out = open_svg(kWidth, kHeight, chart.title);
  out += "<rect class=\"plot\" x=\"" + px(x0) + "\" y=\"" + px(sy.a1) + "\" width=\"" +
         px(x1 - x0) + "\" height=\"" + px(sy.a0 - sy.a1) +
         "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
  for (double t : yt) {
    if (t < sy.lo || t > sy.hi) continue;
    out += line(x0, sy(t), x1, sy(t), "stroke=\"#e4e4e4\"");
    out += text(x0 - 6, sy(t) + 4, num(t, 6), "end");
  }
  out += text(16, (sy.a0 + sy.a1) / 2, chart.y_label, "middle",
              " transform=\"rotate(-90 16 " + px((sy.a0 + sy.a1) / 2) + ")\"");
  const double band =
      (x1 - x0) / static_cast<double>(std::max<std::size_t>(1, chart.categories.size()));
  const double bar =
      band * 0.78 / static_cast<double>(std::max<std::size_t>(1, chart.groups.size()));
  const bool labels = chart.value_labels && chart.categories.size() * chart.groups.size() <= 30;
  std::vector<std::string> names, colors;
  std::vector<bool> dashed;
  for (std::size_t g = 0; g < chart.groups.size(); ++g) {
    const Series& group = chart.groups[g];
    const std::string fill = group.color.empty() ? color(g) : group.color;
    names.push_back(group.name);
    colors.push_back(fill);
    dashed.push_back(false);
    for (std::size_t c = 0; c < chart.categories.size() && c < group.y.size(); ++c) {
      const double v = group.y[c];
      const double left =
          x0 + band * (static_cast<double>(c) + 0.11) + bar * static_cast<double>(g);
      if (!std::isfinite(v)) {
        out += text(left + bar / 2, sy(0) - 4, "n/a", "middle", " font-size=\"10\"");
        continue;
      }
      const double top = sy(std::min(v, sy.hi)), base = sy(0);
      out += "<rect x=\"" + px(left) + "\" y=\"" + px(std::min(top, base)) + "\" width=\"" +
             px(bar) + "\" height=\"" + px(std::fabs(base - top)) + "\" fill=\"" + fill + "\"/>\n";
      if (labels) {
        out +=
            text(left + bar / 2, std::min(top, base) - 4, num(v, 3), "middle", " font-size=\"10\"");
      }
    }
  }
  // The steps of a ladder: from each bar's top to the next's, with the gap's name and size.
  if (!chart.gaps.empty() && chart.groups.size() == 1) {
    const std::vector<double>& v = chart.groups[0].y;
    for (std::size_t c = 0; c + 1 < v.size() && c < chart.gaps.size(); ++c) {
      if (!std::isfinite(v[c]) || !std::isfinite(v[c + 1])) continue;
      const double from = x0 + band * (static_cast<double>(c) + 0.11) + bar;
      const double to = x0 + band * (static_cast<double>(c) + 1.11);
      const double y0 = sy(std::min(v[c], sy.hi)), y1 = sy(std::min(v[c + 1], sy.hi));
      out += line(from, y0, to, y0, "stroke=\"#333\" stroke-dasharray=\"3 3\"");
      out += line(to - 4, y0, to - 4, y1, "stroke=\"#333\" stroke-width=\"1.5\"");
      const double gap = v[c + 1] - v[c];
      out += text((from + to) / 2, std::min(y0, y1) - 18, chart.gaps[c], "middle",
                  " font-size=\"11\" fill=\"#333\"");
      out += text((from + to) / 2, std::min(y0, y1) - 5, (gap >= 0 ? "+" : "") + num(gap, 3),
                  "middle", " font-size=\"11\" fill=\"#333\"");
    }
  }
  for (std::size_t c = 0; c < chart.categories.size(); ++c) {
    const double x = x0 + band * (static_cast<double>(c) + 0.5);
    if (slanted) {
      out += text(x, sy.a0 + 14, short_name(chart.categories[c], 16), "end",
                  " transform=\"rotate(-35 " + px(x) + " " + px(sy.a0 + 14) + ")\"");
    } else {
      out += text(x, sy.a0 + 16, chart.categories[c], "middle");
    }
  }
  for (const auto& [y, label] : chart.references) {
    if (!std::isfinite(y) || y > sy.hi || y < sy.lo) continue;
    out += line(x0, sy(y), x1, sy(y), "stroke=\"#555\" stroke-dasharray=\"6 4\"");
    // Named above the plot's top left corner, clear of the bars' value labels.
    out += line(x0, sy.a1 - 8, x0 + 22, sy.a1 - 8, "stroke=\"#555\" stroke-dasharray=\"6 4\"");
    out += text(x0 + 26, sy.a1 - 4, label, "start", " fill=\"#555\" font-size=\"11\"");
  }
  if (with_legend) {
    out +=
        legend(names, colors, dashed, std::vector<bool>(names.size(), false), x1 + 14, kTop + 12);
  }
  return out + "</svg>\n";
}

std::string heat_map(const HeatMap& chart) {
  const double n_rows = static_cast<double>(chart.rows.size());
  const double n_cols = static_cast<double>(chart.columns.size());
  const double cell = std::clamp(440.0 / std::max(n_rows, n_cols), 12.0, 48.0);
  const double left = 120, top = 40, bottom = 100;
  const double width = left + cell * n_cols + 24, height = top + cell * n_rows + bottom;
  std::string out = open_svg(width, height, chart.title);
  const bool numbers = cell >= 26;
  out += "<g class=\"plot\">\n";
  for (std::size_t r = 0; r < chart.rows.size(); ++r) {
    const double y = top + cell * static_cast<double>(r);
    out += text(left - 6, y + cell / 2 + 4, short_name(chart.rows[r], 16), "end");
    for (std::size_t c = 0; c < chart.columns.size(); ++c) {
      const double x = left + cell * static_cast<double>(c);
      const double s = r < chart.shade.size() && c < chart.shade[r].size()
                           ? std::clamp(chart.shade[r][c], 0.0, 1.0)
                           : 0.0;
      // White to dark blue.
      const auto mix = [s](int a, int b) { return static_cast<int>(std::lround(a + (b - a) * s)); };
      char fill[16];
      std::snprintf(fill, sizeof fill, "#%02x%02x%02x", mix(0xf7, 0x08), mix(0xfb, 0x30),
                    mix(0xff, 0x6b));
      out += "<rect x=\"" + px(x) + "\" y=\"" + px(y) + "\" width=\"" + px(cell) + "\" height=\"" +
             px(cell) + "\" fill=\"" + fill + "\" stroke=\"#fff\" stroke-width=\"1\"/>\n";
      if (numbers && r < chart.cells.size() && c < chart.cells[r].size()) {
        out += text(x + cell / 2, y + cell / 2 + 4, chart.cells[r][c], "middle",
                    std::string(" font-size=\"10\" fill=\"") + (s > 0.55 ? "#fff" : "#222") + "\"");
      }
    }
  }
  out += "</g>\n";
  const double base = top + cell * n_rows;
  for (std::size_t c = 0; c < chart.columns.size(); ++c) {
    const double x = left + cell * (static_cast<double>(c) + 0.5);
    out += text(x, base + 12, short_name(chart.columns[c], 16), "end",
                " transform=\"rotate(-40 " + px(x) + " " + px(base + 12) + ")\"");
  }
  out += text(left + cell * n_cols / 2, height - 8, chart.column_label, "middle");
  out += text(14, top + cell * n_rows / 2, chart.row_label, "middle",
              " transform=\"rotate(-90 14 " + px(top + cell * n_rows / 2) + ")\"");
  return out + "</svg>\n";
}

}  // namespace myelin::cli::svg
