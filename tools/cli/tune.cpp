// myelin tune: random search over the ranges of a spec's "search" field. Each trial is a run
// directory trained by `myelin train` in a child process (so a trial that fails or is killed
// leaves the others whole), ranked by the dev metric (the spec's early-stopping metric, dev_loss
// by default); never the test set. An optional second round samples around the best trials
// (coarse to fine). The state, tune.json, is rewritten atomically after every trial, so an
// interrupted search resumes without losing a finished trial and resumes a trial that was
// training.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.hpp"
#include "myelin/app.hpp"
#include "myelin/io.hpp"
#include "myelin/safetensors.hpp"
#include "run_directory.hpp"
#include "session.hpp"

namespace myelin::cli {

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

volatile std::sig_atomic_t g_tune_interrupted = 0;
extern "C" void on_tune_interrupt(int) {
  g_tune_interrupted = 1;
}

std::string trial_name(std::int64_t trial) {
  char text[24];
  std::snprintf(text, sizeof text, "%03lld", static_cast<long long>(trial));
  return text;
}

// Runs `myelin train ARGS` with its output in `log`; returns its exit code (128 + the signal
// when it was killed by one). While it trains, `prune()` is asked every 50 ms; when it says so the
// trial gets SIGINT (it saves a checkpoint and stops, as after Ctrl-C) and `pruned` is set.
int run_child(const std::vector<std::string>& args, const std::string& log,
              const std::function<bool()>& prune, bool& pruned) {
  std::vector<std::string> all = {"myelin", "train"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) fail("tune: cannot start a trial (fork failed)");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    std::signal(SIGINT, SIG_DFL);
    ::execv("/proc/self/exe", argv.data());
    std::_Exit(127);
  }
  int status = 0;
  pruned = false;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) fail("tune: lost the trial's process");
    if (!pruned && prune()) {
      pruned = true;
      ::kill(pid, SIGINT);
    }
    ::usleep(50000);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// The dev metric of each epoch a run has logged (metrics.csv's column `metric`).
std::vector<double> epoch_metrics(const std::string& run_dir, const std::string& metric) {
  std::ifstream in(run_dir + "/metrics.csv");
  std::string line;
  if (!std::getline(in, line)) return {};
  std::vector<std::string> header;
  std::stringstream names(line);
  for (std::string name; std::getline(names, name, ',');) header.push_back(name);
  const auto column = std::find(header.begin(), header.end(), metric) - header.begin();
  std::vector<double> out;
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::string field;
    for (std::ptrdiff_t i = 0; i <= column && std::getline(fields, field, ','); ++i) {
    }
    out.push_back(std::strtod(field.c_str(), nullptr));
  }
  return out;
}

struct Tune {
  std::string dir;
  Json state;  // tune.json

  std::string path(const std::string& name) const { return dir + "/" + name; }
  void save() const { write_file_atomically(path("tune.json"), state.dump(1) + "\n"); }
};

// The best dev metric a trial's run reached and its epoch (from best.safetensors).
void read_result(const std::string& run_dir, Json& result) {
  const std::string best = run_dir + "/best.safetensors";
  std::error_code ec;
  if (!fs::exists(best, ec)) {
    result["metric"] = nullptr;
    result["best_epoch"] = nullptr;
    return;
  }
  const auto meta = read_safetensors(best).metadata;
  result["metric"] = std::strtod(meta.at("best_value").c_str(), nullptr);
  result["best_epoch"] = std::stoll(meta.at("best_epoch"));
}

// Trials in ranking order: finished ones by their metric, then the rest.
std::vector<const Json*> ranked(const Json& results, bool lower_better, int round = 0) {
  std::vector<const Json*> out;
  for (const Json& r : results) {
    if (round == 0 || r["round"].get<int>() == round) out.push_back(&r);
  }
  std::stable_sort(out.begin(), out.end(), [&](const Json* a, const Json* b) {
    const bool fa = (*a)["metric"].is_number(), fb = (*b)["metric"].is_number();
    if (fa != fb) return fa;
    if (!fa) return false;
    const double x = (*a)["metric"].get<double>(), y = (*b)["metric"].get<double>();
    return lower_better ? x < y : x > y;
  });
  return out;
}

std::string value_text(const Json& v) {
  if (v.is_number_float()) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", v.get<double>());
    return text;
  }
  return v.dump();
}

}  // namespace

int run_tune(const Args& args) {
  const bool resuming = !args.empty() && args[0] == "--resume";
  if (args.empty() || (!resuming && args[0].rfind("--", 0) == 0)) {
    throw UsageError{
        "usage: myelin tune SPEC.json --trials N --out DIR [--fine N] [--top K] [--epochs N] "
        "[--limit N] [--dev-size N] [--seed S] [--prune median|off] [--device D]\n"
        "       myelin tune --resume DIR"};
  }
  Tune tune;
  if (resuming) {
    if (args.size() < 2) throw UsageError{"--resume takes the tune directory"};
    const Args rest(args.begin() + 2, args.end());
    check_options(rest, {"--device"});
    tune.dir = args[1];
    try {
      tune.state = Json::parse(read_text(tune.path("tune.json")));
    } catch (const Json::exception& e) {
      fail(tune.path("tune.json"), ": not a tune state (", e.what(), ")");
    }
    if (!option(rest, "--device", "").empty()) tune.state["device"] = option(rest, "--device", "");
  } else {
    const Args rest(args.begin() + 1, args.end());
    check_options(rest, {"--trials", "--out", "--fine", "--top", "--epochs", "--limit",
                         "--dev-size", "--seed", "--device", "--prune"});
    const std::string prune_rule = option(rest, "--prune", "off");
    if (prune_rule != "off" && prune_rule != "median") {
      throw UsageError{"--prune takes median or off, not '" + prune_rule + "'"};
    }
    ModelSpec spec;
    try {
      spec = read_model_spec(args[0]);
    } catch (const SpecError& e) {
      throw UsageError{e.what()};
    }
    if (spec.search.empty()) {
      throw UsageError{args[0] +
                       ": has no \"search\" (the ranges to sample, like \"search\": "
                       "{\"optimizer.lr\": {\"log_uniform\": [1e-4, 1e-1]}})"};
    }
    const std::int64_t trials = option_integer(rest, "--trials", 0, 1, 100000);
    if (trials == 0) throw UsageError{"--trials N: how many trials to train"};
    tune.dir = option(rest, "--out", "");
    if (tune.dir.empty()) throw UsageError{"--out DIR: the tune directory to write"};
    // The budget of every trial, and its data: part of each trial's spec.
    const std::int64_t epochs = option_integer(rest, "--epochs", -1, 1);
    if (epochs > 0) {
      spec.epochs = epochs;
      if (spec.horizon_follows_epochs && spec.schedule.kind == LrSchedule::Kind::kCosine) {
        spec.schedule.cosine_epochs = epochs;
      }
    }
    const std::int64_t limit = option_integer(rest, "--limit", -1, 0);
    if (limit >= 0) spec.data.limit = limit;
    const std::int64_t dev_size = option_integer(rest, "--dev-size", -1, 0);
    if (dev_size >= 0) spec.data.dev_size = dev_size;
    try {
      parse_search(spec, args[0]);
    } catch (const SpecError& e) {
      throw UsageError{e.what()};
    }
    std::error_code ec;
    if (fs::exists(tune.dir, ec) && !fs::is_empty(tune.dir, ec)) {
      throw UsageError{tune.dir +
                       " exists and is not empty (continue it with myelin tune "
                       "--resume " +
                       tune.dir + ", or choose another --out)"};
    }
    fs::create_directories(tune.path("trials"), ec);
    if (ec) throw UsageError{tune.dir + ": cannot create it (" + ec.message() + ")"};
    tune.state = {{"format", "myelin-tune"},
                  {"version", 1},
                  {"source", args[0]},
                  {"spec", Json::parse(model_spec_json(spec))},
                  {"seed", static_cast<std::uint64_t>(option_integer(
                               rest, "--seed", static_cast<std::int64_t>(spec.seed), 0))},
                  {"trials", trials},
                  {"fine", option_integer(rest, "--fine", 0, 0, 100000)},
                  {"top", option_integer(rest, "--top", 3, 1, 100000)},
                  {"device", option(rest, "--device", "")},
                  {"fine_search", nullptr},
                  {"prune", prune_rule},
                  {"results", Json::array()}};
    tune.save();
  }

  const std::string source = tune.path("tune.json");
  const ModelSpec base = parse_model_spec(tune.state["spec"].dump(), source);
  const SearchSpace space = parse_search(base, source);
  const std::string metric = base.early_stopping.metric;
  const bool lower_better = lower_is_better(metric);
  const std::int64_t trials = tune.state["trials"].get<std::int64_t>();
  const std::int64_t fine = tune.state["fine"].get<std::int64_t>();
  const auto seed = tune.state["seed"].get<std::uint64_t>();
  const std::string device = tune.state["device"].get<std::string>();
  std::printf("tune %s: %lld trials%s over %zu hyper-parameters, ranked by %s (%s is better)\n",
              tune.dir.c_str(), static_cast<long long>(trials),
              fine > 0 ? (" and " + std::to_string(fine) + " around the best").c_str() : "",
              space.dimensions.size(), metric.c_str(), lower_better ? "lower" : "higher");

  std::signal(SIGINT, on_tune_interrupt);
  Json& results = tune.state["results"];
  for (std::int64_t t = 0; t < trials + fine; ++t) {
    const int round = t < trials ? 1 : 2;
    SearchSpace from = space;
    if (round == 2) {
      if (tune.state["fine_search"].is_null()) {
        std::vector<std::vector<std::string>> best;
        const std::int64_t top = tune.state["top"].get<std::int64_t>();
        for (const Json* r : ranked(results, lower_better, 1)) {
          if (!(*r)["metric"].is_number() || static_cast<std::int64_t>(best.size()) >= top) break;
          std::vector<std::string> values;
          for (const Json& v : (*r)["values"]) values.push_back(v.dump());
          best.push_back(values);
        }
        tune.state["fine_search"] = Json::parse(narrow_search(space, best).json());
        tune.save();
        std::printf("round 2 samples around the best %zu trials: %s\n", best.size(),
                    tune.state["fine_search"].dump().c_str());
      }
      ModelSpec narrowed = base;
      narrowed.search = tune.state["fine_search"].dump();
      from = parse_search(narrowed, source);
    }
    if (t < static_cast<std::int64_t>(results.size()) &&
        results[static_cast<std::size_t>(t)]["status"] != "running") {
      continue;  // finished before an interruption
    }
    if (g_tune_interrupted) break;
    const std::vector<std::string> values = sample_search(from, seed, t);
    const ModelSpec trial_spec = apply_search(base, from, values, source);
    const std::string name = trial_name(t);
    const std::string run_dir = tune.path("trials/" + name);
    const std::string spec_file = tune.path("trials/" + name + ".json");
    Json result = {{"trial", t},          {"round", round},    {"values", Json::array()},
                   {"status", "running"}, {"metric", nullptr}, {"best_epoch", nullptr}};
    for (const std::string& v : values) result["values"].push_back(Json::parse(v));
    if (t >= static_cast<std::int64_t>(results.size())) {
      write_file_atomically(spec_file, model_spec_json(trial_spec));
      results.push_back(result);
      tune.save();
    }
    std::string shown;
    for (std::size_t i = 0; i < values.size(); ++i) {
      shown +=
          (i > 0 ? ", " : "") + space.dimensions[i].path + " " + value_text(Json::parse(values[i]));
    }
    std::printf("trial %s (round %d): %s\n", name.c_str(), round, shown.c_str());
    std::fflush(stdout);
    std::vector<std::string> train_args;
    std::error_code ec;
    if (fs::exists(run_dir, ec)) {
      train_args = {"--resume", run_dir};  // killed while training: it continues
    } else {
      train_args = {"--spec", spec_file, "--out", run_dir};
    }
    if (!device.empty()) train_args.insert(train_args.end(), {"--device", device});
    // The median stopping rule: a trial whose best dev metric so far is worse than the median of
    // the finished trials' at the same epoch stops there (with 3 such trials at least).
    const bool pruning = tune.state.value("prune", "off") == "median";
    auto prune = [&]() {
      if (!pruning) return false;
      const std::vector<double> mine = epoch_metrics(run_dir, metric);
      if (mine.empty() || static_cast<std::int64_t>(mine.size()) >= trial_spec.epochs) return false;
      const std::size_t epoch = mine.size() - 1;
      std::vector<double> others;
      for (const Json& o : results) {
        if (o["status"] != "done" && o["status"] != "pruned") continue;
        const std::vector<double> theirs = epoch_metrics(
            tune.path("trials/" + trial_name(o["trial"].get<std::int64_t>())), metric);
        if (theirs.size() > epoch && std::isfinite(theirs[epoch])) others.push_back(theirs[epoch]);
      }
      if (others.size() < 3) return false;
      std::sort(others.begin(), others.end());
      const double median = others.size() % 2 == 1
                                ? others[others.size() / 2]
                                : 0.5 * (others[others.size() / 2 - 1] + others[others.size() / 2]);
      double best = lower_better ? INFINITY : -INFINITY;
      for (double v : mine) {
        if (std::isfinite(v)) best = lower_better ? std::min(best, v) : std::max(best, v);
      }
      return lower_better ? !(best <= median) : !(best >= median);
    };
    bool pruned = false;
    int code = run_child(train_args, tune.path("trials/" + name + ".log"), prune, pruned);
    pruned = pruned && code == 130;  // a trial that finished before the signal landed is done
    if (pruned) {
      code = 0;  // it stopped because it was told to
    } else if (code == 130 || code == 128 + SIGINT || code == 128 + SIGKILL || g_tune_interrupted) {
      std::printf("interrupted in trial %s: continue with myelin tune --resume %s\n", name.c_str(),
                  tune.dir.c_str());
      return 130;
    }
    Json& r = results[static_cast<std::size_t>(t)];
    read_result(run_dir, r);
    r["status"] = code == 0 && r["metric"].is_number() ? (pruned ? "pruned" : "done") : "failed";
    if (code != 0) r["exit_code"] = code;
    tune.save();
    std::printf("  %s %s%s%s\n", metric.c_str(),
                r["metric"].is_number() ? value_text(r["metric"]).c_str() : "none",
                pruned ? "  (pruned: worse than the median of the finished trials)" : "",
                code == 0 ? ""
                          : ("  (failed: exit " + std::to_string(code) + ", see " +
                             tune.path("trials/" + name + ".log") + ")")
                                .c_str());
  }
  std::signal(SIGINT, SIG_DFL);
  if (g_tune_interrupted) {
    std::printf("interrupted: continue with myelin tune --resume %s\n", tune.dir.c_str());
    return 130;
  }

  // The table, best first, and the best trial's spec.
  const std::vector<const Json*> order = ranked(results, lower_better);
  std::string header = "rank,trial,round";
  for (const SearchDimension& d : space.dimensions) header += "," + d.path;
  header += "," + metric + ",best_epoch,status\n";
  std::string csv = header;
  std::printf("\n%-5s %-6s %-6s", "rank", "trial", "round");
  for (const SearchDimension& d : space.dimensions) std::printf(" %14s", d.path.c_str());
  std::printf(" %12s %6s  %s\n", metric.c_str(), "epoch", "status");
  for (std::size_t k = 0; k < order.size(); ++k) {
    const Json& r = *order[k];
    std::printf("%-5zu %-6s %-6d", k + 1, trial_name(r["trial"].get<std::int64_t>()).c_str(),
                r["round"].get<int>());
    std::string row = std::to_string(k + 1) + "," + trial_name(r["trial"].get<std::int64_t>()) +
                      "," + std::to_string(r["round"].get<int>());
    for (const Json& v : r["values"]) {
      std::printf(" %14s", value_text(v).c_str());
      row += "," + v.dump();
    }
    const std::string m = r["metric"].is_number() ? value_text(r["metric"]) : "nan";
    const std::string e = r["best_epoch"].is_number() ? r["best_epoch"].dump() : "";
    std::printf(" %12s %6s  %s\n", m.c_str(), e.c_str(), r["status"].get<std::string>().c_str());
    row += "," + (r["metric"].is_number() ? csv_number(r["metric"].get<double>(), "%.9g") : "nan") +
           "," + e + "," + r["status"].get<std::string>() + "\n";
    csv += row;
  }
  write_file_atomically(tune.path("trials.csv"), csv);
  if (order.empty() || !(*order.front())["metric"].is_number()) {
    std::printf("no trial finished with a finite %s\n", metric.c_str());
    return 1;
  }
  const std::string best = trial_name((*order.front())["trial"].get<std::int64_t>());
  write_file_atomically(tune.path("best_spec.json"),
                        read_text(tune.path("trials/" + best + ".json")));
  std::printf("\nthe best trial is %s: its spec is %s (train it with: myelin train --spec %s)\n",
              best.c_str(), tune.path("best_spec.json").c_str(),
              tune.path("best_spec.json").c_str());
  return 0;
}

}  // namespace myelin::cli
