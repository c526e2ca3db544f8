// myelin report: one self-contained HTML page about a run directory or a tune directory, its
// figures inline SVG (no script, no fetch at view time). A run's page: loss and metric curves
// (train and dev), the learning rate, per-layer gradient norms and update ratios, dead and
// saturated units (from diagnostics.jsonl), and the checkpoint evaluated on the dev split (or
// the test split, when asked): the confusion matrix, per-class F1 and the bias/variance ladder.
// A tune's page: each hyper-parameter against the dev metric, the trials' dev curves, the table.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.hpp"
#include "myelin/app.hpp"
#include "myelin/diagnostics.hpp"
#include "myelin/io.hpp"
#include "session.hpp"
#include "svg_chart.hpp"

namespace myelin::cli {

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr std::size_t kMostPoints = 400;  // per curve: longer logs are averaged into buckets

std::string format(const char* fmt, double v) {
  char text[64];
  std::snprintf(text, sizeof text, fmt, v);
  return std::isfinite(v) ? text : (std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
}

// A CSV of numbers with a header line (metrics.csv): its columns by name.
struct NumberTable {
  std::vector<std::string> names;
  std::vector<std::vector<double>> columns;
  std::vector<double> column(const std::string& name) const {
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? std::vector<double>{} : columns[it - names.begin()];
  }
  bool has(const std::string& name) const {
    return std::find(names.begin(), names.end(), name) != names.end();
  }
};

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  for (std::string f; std::getline(in, f, ',');) fields.push_back(f);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

NumberTable read_number_table(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError{path + ": cannot read it"};
  NumberTable table;
  std::string line;
  if (!std::getline(in, line) || line.empty()) throw UsageError{path + ": empty (no header)"};
  table.names = split_csv_line(line);
  table.columns.resize(table.names.size());
  for (std::int64_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const std::vector<std::string> fields = split_csv_line(line);
    if (fields.size() != table.names.size()) {
      throw UsageError{path + ":" + std::to_string(number) + ": " + std::to_string(fields.size()) +
                       " fields, the header has " + std::to_string(table.names.size())};
    }
    for (std::size_t i = 0; i < fields.size(); ++i) {
      char* end = nullptr;
      const double v = std::strtod(fields[i].c_str(), &end);
      if (fields[i].empty() || *end != '\0') {
        throw UsageError{path + ":" + std::to_string(number) + ": column " + table.names[i] +
                         " holds '" + fields[i] + "', not a number"};
      }
      table.columns[i].push_back(v);
    }
  }
  return table;
}

// Each line of a .jsonl log, parsed; a line that is not JSON is an error naming it.
std::vector<Json> read_json_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError{path + ": cannot read it"};
  std::vector<Json> lines;
  std::string line;
  for (std::int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    try {
      lines.push_back(Json::parse(line));
    } catch (const Json::exception&) {
      throw UsageError{path + ":" + std::to_string(number) + ": not a JSON line"};
    }
    if (!lines.back().is_object()) {
      throw UsageError{path + ":" + std::to_string(number) + ": not a JSON object"};
    }
  }
  return lines;
}

double number_field(const Json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_number() ? it->get<double>() : NAN;
}

// At most kMostPoints points: the means of consecutive buckets (NaN where a bucket has no
// finite value), x the bucket's last x.
void thin(std::vector<double>& x, std::vector<double>& y) {
  if (x.size() <= kMostPoints) return;
  const std::size_t bucket = (x.size() + kMostPoints - 1) / kMostPoints;
  std::vector<double> tx, ty;
  for (std::size_t start = 0; start < x.size(); start += bucket) {
    const std::size_t end = std::min(x.size(), start + bucket);
    double sum = 0.0;
    int n = 0;
    for (std::size_t i = start; i < end; ++i) {
      if (std::isfinite(y[i])) {
        sum += y[i];
        ++n;
      }
    }
    tx.push_back(x[end - 1]);
    ty.push_back(n > 0 ? sum / n : NAN);
  }
  x.swap(tx);
  y.swap(ty);
}

// A log axis when the values are positive and span two orders of magnitude or more.
bool wants_log(const std::vector<svg::Series>& series) {
  double lo = INFINITY, hi = 0.0;
  for (const svg::Series& s : series) {
    for (double v : s.y) {
      if (!std::isfinite(v)) continue;
      if (v <= 0.0) return false;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  return hi > 0.0 && hi / lo >= 100.0;
}

// The page: figures in a grid of columns at least 520 px wide (two on a laptop screen).
class Page {
 public:
  explicit Page(std::string title) : title_(std::move(title)) {}
  void heading(const std::string& text) { body_ += "<h2>" + svg::escape(text) + "</h2>\n"; }
  void html(const std::string& fragment) { body_ += fragment; }
  void open_grid() { body_ += "<div class=\"grid\">\n"; }
  void close_grid() { body_ += "</div>\n"; }
  // A figure: `id` names it (the figures of a page have distinct ids), `note` explains it.
  void figure(const std::string& id, const std::string& svg_text, const std::string& note) {
    body_ += "<figure id=\"fig-" + id + "\">\n" + svg_text + "<figcaption>" + svg::escape(note) +
             "</figcaption>\n</figure>\n";
  }
  std::string str() const {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>" +
           svg::escape(title_) +
           "</title>\n<style>\n"
           "body { font-family: sans-serif; margin: 0 auto; padding: 16px 24px; max-width: "
           "1400px; color: #222; background: #fff; }\n"
           "h1 { font-size: 22px; margin: 8px 0; } h2 { font-size: 18px; margin: 24px 0 8px; "
           "border-bottom: 1px solid #ddd; }\n"
           ".grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); "
           "gap: 16px; }\n"
           "figure { margin: 0; padding: 8px; border: 1px solid #e2e2e2; border-radius: 4px; }\n"
           "figure svg { width: 100%; height: auto; display: block; }\n"
           "figcaption { font-size: 13px; color: #555; margin-top: 4px; }\n"
           "table { border-collapse: collapse; font-size: 13px; } td, th { padding: 3px 10px; "
           "border-bottom: 1px solid #eee; text-align: left; }\n"
           "pre { background: #f6f6f6; padding: 8px; font-size: 12px; white-space: pre-wrap; }\n"
           ".warn { color: #a33; }\n"
           "</style>\n</head>\n<body>\n<h1>" +
           svg::escape(title_) + "</h1>\n" + body_ + "</body>\n</html>\n";
  }

 private:
  std::string title_;
  std::string body_;
};

std::string table_html(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string out = "<table>\n";
  for (const auto& [k, v] : rows) {
    out += "<tr><th>" + svg::escape(k) + "</th><td>" + svg::escape(v) + "</td></tr>\n";
  }
  return out + "</table>\n";
}

// The diagnostics log as series: per parameter and per activation layer, in first-seen order.
struct DiagnosticSeries {
  std::vector<double> steps;
  std::vector<std::string> parameters, layers;
  std::map<std::string, std::vector<double>> grad_norm, update_ratio, dead, saturated;
  struct Seen {
    std::int64_t first = 0, last = 0, count = 0;
  };
  std::map<std::string, Seen> warnings;
};

DiagnosticSeries read_diagnostics(const std::string& path) {
  DiagnosticSeries d;
  const std::vector<Json> lines = read_json_lines(path);
  const auto put = [&d](std::map<std::string, std::vector<double>>& series,
                        std::vector<std::string>& order, const std::string& name, double v) {
    auto& values = series[name];
    if (values.empty() && std::find(order.begin(), order.end(), name) == order.end()) {
      order.push_back(name);
    }
    values.resize(d.steps.size() - 1, NAN);  // rows where it was missing
    values.push_back(v);
  };
  for (const Json& line : lines) {
    const double step = number_field(line, "step");
    d.steps.push_back(step);
    for (const Json& p : line.value("parameters", Json::array())) {
      const std::string name = p.value("name", "");
      std::vector<std::string> unused;
      put(d.grad_norm, d.parameters, name, number_field(p, "grad_norm"));
      put(d.update_ratio, unused, name, number_field(p, "update_ratio"));
    }
    for (const Json& a : line.value("activations", Json::array())) {
      const std::string name = "layer " + a.value("layer", "?") + " (" + a.value("op", "?") + ")";
      std::vector<std::string> unused;
      put(d.dead, d.layers, name, number_field(a, "dead_fraction"));
      put(d.saturated, unused, name, number_field(a, "saturated_fraction"));
    }
    for (const Json& w : line.value("warnings", Json::array())) {
      if (!w.is_string()) continue;
      DiagnosticSeries::Seen& seen = d.warnings[w.get<std::string>()];
      if (seen.count++ == 0) seen.first = static_cast<std::int64_t>(step);
      seen.last = static_cast<std::int64_t>(step);
    }
  }
  for (auto* series : {&d.grad_norm, &d.update_ratio, &d.dead, &d.saturated}) {
    for (auto& [name, values] : *series) values.resize(d.steps.size(), NAN);
  }
  return d;
}

bool is_weight(const std::string& name) {
  return name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
}

// Per weight tensor (biases left out: their tiny gradients would squash the axis), log scale.
std::string parameter_chart(const DiagnosticSeries& d,
                            const std::map<std::string, std::vector<double>>& values,
                            const std::string& title, const std::string& y_label,
                            const std::vector<std::pair<double, std::string>>& references) {
  svg::LineChart chart;
  chart.title = title;
  chart.x.label = "step";
  chart.y.label = y_label;
  chart.y.log = true;
  chart.references = references;
  for (const std::string& name : d.parameters) {
    if (!is_weight(name)) continue;
    svg::Series s{name, d.steps, values.at(name)};
    s.markers = d.steps.size() < 30;
    thin(s.x, s.y);
    chart.series.push_back(s);
  }
  return svg::line_chart(chart);
}

void run_figures(Page& page, const std::string& run_dir, const ModelSpec& spec) {
  const NumberTable metrics = read_number_table(run_dir + "/metrics.csv");
  if (!metrics.has("epoch")) throw UsageError{run_dir + "/metrics.csv: has no epoch column"};
  const std::vector<double> epochs = metrics.column("epoch");
  page.heading("Training curves");
  page.open_grid();
  const auto curves = [&](const std::string& what, const std::string& label) {
    svg::LineChart chart;
    chart.title = label + " per epoch";
    chart.x.label = "epoch";
    chart.y.label = label;
    for (const char* split : {"train", "dev"}) {
      const std::string column = std::string(split) + "_" + what;
      if (!metrics.has(column)) continue;
      svg::Series s{split, epochs, metrics.column(column)};
      s.markers = epochs.size() <= 40;
      s.dashed = std::string(split) == "dev";
      chart.series.push_back(s);
    }
    chart.y.log = what == "loss" && wants_log(chart.series);
    return chart;
  };
  svg::LineChart loss = curves("loss", "loss");
  page.figure("loss", svg::line_chart(loss),
              "The loss of each epoch: train is the mean over its steps (with dropout and batch "
              "statistics), dev is measured in eval mode at the epoch's end. A dev curve rising "
              "while train falls is overfitting.");
  for (const std::string& m : task_metrics(spec.task)) {
    svg::LineChart chart = curves(m, m);
    if (chart.series.empty()) continue;
    page.figure(m, svg::line_chart(chart), "The " + m + " of each epoch, train and dev.");
  }

  const std::string steps_path = run_dir + "/steps.jsonl";
  if (fs::exists(steps_path)) {
    svg::Series loss_steps{"loss"}, lr_steps{"lr"};
    for (const Json& line : read_json_lines(steps_path)) {
      const double step = number_field(line, "step");
      loss_steps.x.push_back(step);
      loss_steps.y.push_back(number_field(line, "loss"));
      lr_steps.x.push_back(step);
      lr_steps.y.push_back(number_field(line, "lr"));
    }
    thin(loss_steps.x, loss_steps.y);
    thin(lr_steps.x, lr_steps.y);
    svg::LineChart chart;
    chart.title = "Training loss per step";
    chart.x.label = "step";
    chart.y.label = "loss";
    chart.series = {loss_steps};
    chart.y.log = wants_log(chart.series);
    page.figure("step-loss", svg::line_chart(chart),
                "The mini-batch loss (averaged over buckets of steps when there are many): its "
                "noise is the mini-batch's; a sudden rise is a learning rate too high.");
    svg::LineChart lr;
    lr.title = "Learning rate";
    lr.x.label = "step";
    lr.y.label = "learning rate";
    lr.series = {lr_steps};
    page.figure("lr", svg::line_chart(lr),
                "The learning rate of each step (schedule " +
                    Json::parse(model_spec_json(spec))["schedule"].dump() + ").");
  }
  page.close_grid();

  const std::string diagnostics_path = run_dir + "/diagnostics.jsonl";
  page.heading("Diagnostics");
  if (!fs::exists(diagnostics_path)) {
    page.html(
        "<p>This run has no diagnostics.jsonl (diagnostics_every 0, or a run older than "
        "diagnostics).</p>\n");
    return;
  }
  const DiagnosticSeries d = read_diagnostics(diagnostics_path);
  if (d.steps.empty()) {
    page.html("<p>diagnostics.jsonl is empty: no diagnostic step has run yet.</p>\n");
    return;
  }
  if (!d.warnings.empty()) {
    std::string list = "<ul class=\"warn\">\n";
    for (const auto& [kind, seen] : d.warnings) {
      list += "<li><b>" + svg::escape(kind) + "</b>: at " + std::to_string(seen.count) +
              " diagnostic step(s), from step " + std::to_string(seen.first) + " to " +
              std::to_string(seen.last) + ". " + svg::escape(diagnostic_remedy(kind)) + "</li>\n";
    }
    page.html(list + "</ul>\n");
  } else {
    page.html("<p>No warning at any of the " + std::to_string(d.steps.size()) +
              " diagnostic steps (vanishing or exploding gradients, dead ReLUs, saturated "
              "units).</p>\n");
  }
  page.open_grid();
  page.figure("grad-norms",
              parameter_chart(d, d.grad_norm, "Gradient norm per layer", "||gradient||", {}),
              "The L2 norm of each weight's gradient. Norms falling by orders of magnitude from "
              "the output layer back to the first are vanishing gradients; growing, exploding.");
  page.figure("update-ratios",
              parameter_chart(d, d.update_ratio, "Update / weight ratio per layer",
                              "||update|| / ||weight||", {{1e-3, "1e-3"}}),
              "How far each step moves each weight, relative to its size: around 1e-3 is "
              "healthy; far above, the learning rate is too high; far below, too low.");
  svg::LineChart units;
  units.title = "Dead and saturated units";
  units.x.label = "step";
  units.y.label = "fraction of units";
  units.y.min = -0.04;  // a margin: healthy layers' zeros lie clear of the frame
  units.y.max = 1.04;
  units.references = {{0.5, "warning"}};
  for (const std::string& layer : d.layers) {
    const bool relu = std::any_of(d.dead.at(layer).begin(), d.dead.at(layer).end(),
                                  [](double v) { return std::isfinite(v); });
    svg::Series s{layer + (relu ? " dead" : " saturated"), d.steps,
                  relu ? d.dead.at(layer) : d.saturated.at(layer)};
    s.markers = d.steps.size() < 30;
    thin(s.x, s.y);
    units.series.push_back(s);
  }
  page.figure("units", svg::line_chart(units),
              "ReLU layers: the fraction of units active on no row of the batch (dead). Sigmoid "
              "and tanh layers: the fraction of outputs in the flat tails (saturated).");
  page.close_grid();
}

// The figures of the checkpoint evaluated on `split_name`, and the error ladder.
void evaluation_figures(Page& page, OpenedRun& run, const std::string& split_name,
                        double baseline) {
  const bool on_test = split_name == "test";
  const Split& split = on_test ? run.data.test : run.data.dev;
  if (split.rows() == 0) {
    page.heading("Evaluation");
    page.html("<p>The run has no dev split (dev_size 0): nothing to evaluate.</p>\n");
    return;
  }
  const SplitResult result = run.evaluate(split);
  const SplitResult train = run.evaluate(run.data.train);
  std::vector<std::string> names = run.names();
  const std::int64_t classes = run.model.classes;
  for (std::int64_t c = static_cast<std::int64_t>(names.size()); c < classes; ++c) {
    names.push_back((run.spec.task == Task::kRegression ? "target " : "class ") +
                    std::to_string(c));
  }
  if (run.spec.task == Task::kMultiLabel) {
    for (std::int64_t c = 0; c < classes && c < static_cast<std::int64_t>(names.size()); ++c) {
      if (names[c].rfind("class ", 0) == 0) names[c] = "label " + std::to_string(c);
    }
  }
  page.heading("Evaluation on the " + split_name + " split (" + std::to_string(result.rows) +
               " rows) of " + run.checkpoint);
  std::string headline;
  for (const auto& [name, value] : result.headline()) {
    headline += (headline.empty() ? "" : ", ") + name + " " + format("%.4f", value);
  }
  if (run.spec.task == Task::kClassification) {
    headline += ", macro-F1 " + format("%.4f", result.confusion.macro_f1());
  }
  page.html("<p>" +
            svg::escape(split_name + ": " + headline + ", loss " + format("%.4f", result.loss)) +
            "</p>\n");
  page.open_grid();
  if (run.spec.task == Task::kClassification) {
    const ConfusionMatrix& m = result.confusion;
    svg::HeatMap map;
    map.title = "Confusion matrix (" + split_name + ")";
    map.row_label = "true class";
    map.column_label = "predicted class";
    map.rows = map.columns = names;
    for (std::int64_t t = 0; t < classes; ++t) {
      std::int64_t row_total = 0;
      for (std::int64_t p = 0; p < classes; ++p) row_total += m.count(t, p);
      map.shade.emplace_back();
      map.cells.emplace_back();
      for (std::int64_t p = 0; p < classes; ++p) {
        const double share =
            row_total > 0 ? static_cast<double>(m.count(t, p)) / static_cast<double>(row_total)
                          : 0.0;
        map.shade.back().push_back(std::sqrt(share));  // errors, a few percent, stay visible
        map.cells.back().push_back(std::to_string(m.count(t, p)));
      }
    }
    page.figure("confusion", svg::heat_map(map),
                "Counts of (true, predicted) pairs; the shade is the share of the true class's "
                "rows (square root, so that small confusions show). Off the diagonal: the "
                "errors to analyse first.");
    svg::BarChart bars;
    bars.title = "F1 per class (" + split_name + ")";
    bars.y_label = "F1";
    bars.y_max = 1.1;  // room for the value labels of bars near 1
    bars.categories = names;
    svg::Series f1{"F1"};
    for (std::int64_t c = 0; c < classes; ++c) f1.y.push_back(m.f1(c));
    bars.groups = {f1};
    bars.references = {{m.macro_f1(), "macro-F1 " + format("%.3f", m.macro_f1())}};
    page.figure("f1", svg::bar_chart(bars),
                "The harmonic mean of precision and recall per class; the line is their "
                "unweighted mean, the single-number metric.");
  } else if (run.spec.task == Task::kMultiLabel) {
    svg::BarChart bars;
    bars.title = "F1 per label (" + split_name + ")";
    bars.y_label = "F1";
    bars.y_max = 1.1;  // room for the value labels of bars near 1
    bars.categories = names;
    svg::Series f1{"F1"};
    for (const LabelScores& s : result.multi_label->labels()) f1.y.push_back(s.f1);
    bars.groups = {f1};
    const double macro = result.multi_label->macro().f1;
    bars.references = {{macro, "macro-F1 " + format("%.3f", macro)}};
    page.figure("f1", svg::bar_chart(bars),
                "Each label is a yes/no decision (probability >= 0.5): its F1 over the rows where "
                "it is known.");
  } else {
    svg::BarChart bars;
    bars.title = "RMSE per target (" + split_name + ")";
    bars.y_label = "RMSE";
    bars.categories = names;
    svg::Series rmse{"RMSE"};
    for (const TargetScores& s : result.regression->targets()) rmse.y.push_back(s.rmse);
    bars.groups = {rmse};
    page.figure("rmse-per-target", svg::bar_chart(bars),
                "The root mean squared error of each target.");
  }

  BiasVariance bv;
  bv.baseline_error = baseline;
  bv.train_error = train.error();
  std::vector<std::string> steps, gaps;
  std::vector<double> errors;
  const auto step = [&](const char* name, double error, const char* gap) {
    if (!steps.empty()) gaps.emplace_back(gap);
    steps.emplace_back(name);
    errors.push_back(error);
  };
  if (baseline >= 0) step("baseline", baseline, "");
  step("train", bv.train_error, "avoidable bias");
  const bool train_dev = run.data.train_dev.rows() > 0;
  if (train_dev) {
    bv.train_dev_error = run.evaluate(run.data.train_dev).error();
    step("train-dev", bv.train_dev_error, "variance");
  }
  bv.dev_error = on_test ? run.evaluate(run.data.dev).error() : result.error();
  step("dev", bv.dev_error, train_dev ? "data mismatch" : "variance");
  if (on_test) {
    bv.test_error = result.error();
    step("test", bv.test_error, "overfitting to dev");
  }
  svg::BarChart ladder;
  ladder.title = "Bias / variance ladder";
  ladder.y_label = run.spec.task == Task::kRegression ? "RMSE" : "error";
  ladder.categories = steps;
  svg::Series e{"error"};
  e.y = errors;
  e.color = "#d62728";
  ladder.groups = {e};
  ladder.gaps = gaps;
  page.figure("ladder",
              svg::bar_chart(ladder) + "<pre>" + svg::escape(bias_variance_report(bv)) + "</pre>\n",
              "Each step's error; the gaps between steps are avoidable bias (train - baseline), "
              "variance (train-dev or dev - train), data mismatch (dev - train-dev)" +
                  std::string(on_test ? " and overfitting to dev (test - dev)" : "") +
                  ". Attack the largest first.");
  page.close_grid();
}

std::string layers_text(const ModelSpec& spec) {
  const Json json = Json::parse(model_spec_json(spec));
  std::string out;
  for (const Json& layer : json["layers"]) {
    std::string item = layer.value("type", "?");
    if (layer.contains("out")) item += " " + layer["out"].dump();
    if (layer.contains("p")) item += " " + layer["p"].dump();
    out += (out.empty() ? "" : ", ") + item;
  }
  return out;
}

int report_run(const std::string& run_dir, const std::string& out, const Args& rest) {
  const std::string split = option(rest, "--split", "dev");
  if (split != "dev" && split != "test") {
    throw UsageError{"--split takes dev or test, not '" + split + "'"};
  }
  const double baseline = option_number(rest, "--baseline-error", -1.0);
  if (!option(rest, "--baseline-error", "").empty() && baseline < 0.0) {
    throw UsageError{"--baseline-error must be >= 0"};
  }
  const std::string which = option(rest, "--checkpoint", "last");
  // A run stopped before its first checkpoint (or before any finite weights) has logs but no
  // model: its page shows the logs.
  std::error_code ec;
  const bool model = which != "last" || fs::exists(run_dir + "/model.safetensors", ec);
  std::unique_ptr<OpenedRun> run;
  ModelSpec spec;
  if (model) {
    run = open_run(run_dir, which, option(rest, "--device", ""), split == "test");
    spec = run->spec;
  } else {
    try {
      spec = read_model_spec(run_dir + "/spec.json");
    } catch (const SpecError& e) {
      throw UsageError{e.what()};
    }
  }
  if (spec.task != Task::kRegression && baseline > 1.0) {
    throw UsageError{"--baseline-error is an error rate in [0, 1] for " +
                     std::string(task_name(spec.task))};
  }
  Page page("myelin report: " + fs::path(run_dir).lexically_normal().filename().string());
  const Json spec_json = Json::parse(model_spec_json(spec));
  std::vector<std::pair<std::string, std::string>> facts = {
      {"run directory", run_dir},
      {"task", task_name(spec.task)},
      {"layers", layers_text(spec)},
      {"optimizer", spec_json["optimizer"].dump()},
      {"batch size, epochs", std::to_string(spec.batch_size) + ", " + std::to_string(spec.epochs)}};
  if (run) {
    facts.emplace_back("data", std::to_string(run->data.train.rows()) + " training rows, " +
                                   std::to_string(run->data.dev.rows()) + " dev rows, " +
                                   std::to_string(run->data.features) + " features");
    facts.emplace_back("evaluated", run->checkpoint + " on " + run->device.str());
    const auto& meta = run->metadata;
    if (meta.count("epoch") != 0) facts.emplace_back("checkpoint epoch", meta.at("epoch"));
    if (meta.count("best_metric") != 0) {
      facts.emplace_back("best so far",
                         meta.at("best_metric") + " " +
                             format("%.4g", std::strtod(meta.at("best_value").c_str(), nullptr)) +
                             " at epoch " + meta.at("best_epoch"));
    }
  }
  page.html(table_html(facts));
  run_figures(page, run_dir, spec);
  if (run) {
    evaluation_figures(page, *run, split, baseline);
  } else {
    page.heading("Evaluation");
    page.html(
        "<p class=\"warn\">The run has no model.safetensors (it stopped before its first "
        "checkpoint): nothing to evaluate.</p>\n");
  }
  write_file_atomically(out, page.str());
  if (run) {
    std::printf("wrote %s (%s split of %s)\n", out.c_str(), split.c_str(), run->checkpoint.c_str());
  } else {
    std::printf("wrote %s (the logs only: %s has no model.safetensors)\n", out.c_str(),
                run_dir.c_str());
  }
  return 0;
}

std::string value_label(const Json& v) {
  if (v.is_number_float()) return format("%.4g", v.get<double>());
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string trial_name(const Json& result) {
  char name[24];
  std::snprintf(name, sizeof name, "%03lld", static_cast<long long>(result.value("trial", 0)));
  return name;
}

int report_tune(const std::string& dir, const std::string& out) {
  const std::string source = dir + "/tune.json";
  Json state;
  try {
    state = Json::parse(read_text(source));
  } catch (const Json::exception& e) {
    throw UsageError{source + ": not a tune state (" + e.what() + ")"};
  }
  if (!state.is_object() || state.value("format", "") != "myelin-tune" || !state.contains("spec") ||
      !state["results"].is_array()) {
    throw UsageError{source + ": not a tune state (no format, spec or results)"};
  }
  const ModelSpec base = parse_model_spec(state["spec"].dump(), source);
  const SearchSpace space = parse_search(base, source);
  const std::string metric = base.early_stopping.metric;
  const bool lower_better = lower_is_better(metric);
  const Json& results = state["results"];
  for (const Json& r : results) {
    if (!r.is_object() || !r["values"].is_array() ||
        r["values"].size() != space.dimensions.size()) {
      throw UsageError{source + ": trial " + r.value("trial", Json()).dump() +
                       " does not have a value per hyper-parameter"};
    }
  }

  const Json* best = nullptr;
  for (const Json& r : results) {
    if (!r["metric"].is_number()) continue;
    const double v = r["metric"].get<double>();
    if (best == nullptr || (lower_better ? v < (*best)["metric"].get<double>()
                                         : v > (*best)["metric"].get<double>())) {
      best = &r;
    }
  }
  Page page("myelin tune report: " + fs::path(dir).lexically_normal().filename().string());
  std::int64_t finished = 0;
  for (const Json& r : results) finished += r["status"] != "running";
  page.html(table_html(
      {{"tune directory", dir},
       {"search", space.json()},
       {"ranked by", metric + (lower_better ? " (lower is better)" : " (higher is better)")},
       {"trials",
        std::to_string(finished) + " finished of " + std::to_string(results.size()) + " started"},
       {"best", best == nullptr ? "none yet"
                                : "trial " + trial_name(*best) + ": " + metric + " " +
                                      format("%.6g", (*best)["metric"].get<double>())}}));
  page.heading("Each hyper-parameter against " + metric);
  page.open_grid();
  for (std::size_t i = 0; i < space.dimensions.size(); ++i) {
    const SearchDimension& dim = space.dimensions[i];
    svg::LineChart chart;
    chart.title = dim.path;
    chart.x.label = dim.path + (dim.kind == SearchDimension::Kind::kLogUniform ? " (log)" : "");
    chart.x.log = dim.kind == SearchDimension::Kind::kLogUniform;
    chart.y.label = metric;
    if (dim.kind == SearchDimension::Kind::kChoice) {
      for (const std::string& c : dim.choices)
        chart.x.categories.push_back(value_label(Json::parse(c)));
    }
    svg::Series coarse{"round 1"}, fine{"round 2"}, pruned{"pruned"}, top{"best"};
    for (svg::Series* s : {&coarse, &fine, &pruned, &top}) {
      s->line = false;
      s->markers = true;
    }
    pruned.color = "#999999";
    top.color = "#d62728";
    for (const Json& r : results) {
      if (!r["metric"].is_number()) continue;
      const Json& v = r["values"][i];
      double x = NAN;
      if (dim.kind == SearchDimension::Kind::kChoice) {
        const auto it = std::find(dim.choices.begin(), dim.choices.end(), v.dump());
        x = it == dim.choices.end() ? NAN : static_cast<double>(it - dim.choices.begin());
      } else if (v.is_number()) {
        x = v.get<double>();
      }
      svg::Series& s = &r == best                 ? top
                       : r["status"] == "pruned"  ? pruned
                       : r.value("round", 1) == 2 ? fine
                                                  : coarse;
      s.x.push_back(x);
      s.y.push_back(r["metric"].get<double>());
    }
    for (svg::Series* s : {&coarse, &fine, &pruned, &top}) {
      if (!s->x.empty()) chart.series.push_back(*s);
    }
    chart.y.log = wants_log(chart.series);
    page.figure("param-" + std::to_string(i), svg::line_chart(chart),
                "Each finished trial's best " + metric + " against its " + dim.path +
                    (chart.x.log ? ", on a log axis (it was sampled log-uniformly)" : "") + ".");
  }
  page.close_grid();

  page.heading("The trials' " + metric + " per epoch");
  page.open_grid();
  svg::LineChart curves;
  curves.title = metric + " per epoch, every trial";
  curves.x.label = "epoch";
  curves.y.label = metric;
  for (const Json& r : results) {
    const std::string name = trial_name(r);
    const std::string metrics = dir + "/trials/" + name + "/metrics.csv";
    if (!fs::exists(metrics)) continue;
    const NumberTable t = read_number_table(metrics);
    if (!t.has(metric)) continue;
    svg::Series s{std::string("trial ") + name, t.column("epoch"), t.column(metric)};
    if (&r == best)
      s.color = "#d62728";
    else
      s.color = "#9ab";
    curves.series.push_back(s);
  }
  // The best trial drawn last, on top.
  std::stable_partition(curves.series.begin(), curves.series.end(),
                        [](const svg::Series& s) { return s.color != "#d62728"; });
  curves.y.log = wants_log(curves.series);
  page.figure("curves", svg::line_chart(curves),
              "Each trial's dev curve (the best in red): trials stopped early by pruning or by "
              "early stopping end sooner.");
  page.close_grid();

  page.heading("Trials");
  std::string table = "<table>\n<tr><th>trial</th><th>round</th>";
  for (const SearchDimension& dim : space.dimensions)
    table += "<th>" + svg::escape(dim.path) + "</th>";
  table += "<th>" + svg::escape(metric) + "</th><th>best epoch</th><th>status</th></tr>\n";
  for (const Json& r : results) {
    table += "<tr><td>" + trial_name(r) + "</td><td>" + r.value("round", Json()).dump() + "</td>";
    for (const Json& v : r["values"]) table += "<td>" + svg::escape(value_label(v)) + "</td>";
    table += "<td>" + (r["metric"].is_number() ? format("%.6g", r["metric"].get<double>()) : "") +
             "</td><td>" + (r["best_epoch"].is_number() ? r["best_epoch"].dump() : "") +
             "</td><td>" + svg::escape(r.value("status", "")) + "</td></tr>\n";
  }
  page.html(table + "</table>\n");
  write_file_atomically(out, page.str());
  std::printf("wrote %s (%zu trials)\n", out.c_str(), results.size());
  return 0;
}

}  // namespace

int run_report(const Args& args) {
  if (args.empty() || args[0].rfind("--", 0) == 0) {
    throw UsageError{
        "usage: myelin report RUN_DIR|TUNE_DIR [--out FILE.html] [--checkpoint last|best|FILE] "
        "[--split dev|test] [--baseline-error X] [--device D]"};
  }
  const std::string dir = args[0];
  const Args rest(args.begin() + 1, args.end());
  const std::string out = option(rest, "--out", dir + "/report.html");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw UsageError{dir + ": not a directory"};
  const fs::path out_dir = fs::path(out).parent_path();
  if (!out_dir.empty() && !fs::is_directory(out_dir, ec)) {
    throw UsageError{"--out " + out + ": " + out_dir.string() + " is not a directory"};
  }
  if (fs::exists(dir + "/tune.json", ec)) {
    check_options(rest, {"--out"});
    return report_tune(dir, out);
  }
  if (!fs::exists(dir + "/spec.json", ec) || !fs::exists(dir + "/metrics.csv", ec)) {
    throw UsageError{dir +
                     ": neither a run directory (spec.json and metrics.csv) nor a tune "
                     "directory (tune.json)"};
  }
  check_options(rest, {"--out", "--checkpoint", "--split", "--baseline-error", "--device"});
  return report_run(dir, out, rest);
}

}  // namespace myelin::cli
