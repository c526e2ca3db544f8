// The myelin command-line tool. Library errors become one line on stderr and exit code 1;
// usage errors exit with code 2.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

#include "commands.hpp"
#include "myelin/app.hpp"

namespace myelin::cli {

std::string option(const Args& args, const std::string& name, const std::string& fallback) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name) {
      if (i + 1 >= args.size()) throw UsageError{"option " + name + " needs a value"};
      return args[i + 1];
    }
  }
  return fallback;
}

double option_number(const Args& args, const std::string& name, double fallback) {
  const std::string text = option(args, name, "");
  if (text.empty()) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(value)) {
    throw UsageError{"option " + name + " expects a finite number, got '" + text + "'"};
  }
  return value;
}

std::int64_t option_integer(const Args& args, const std::string& name, std::int64_t fallback,
                            std::int64_t min, std::int64_t max) {
  const std::string text = option(args, name, "");
  if (text.empty()) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !(value >= static_cast<double>(min)) ||
      value != std::floor(value)) {
    throw UsageError{name + " expects a whole number >= " + std::to_string(min) + ", got '" + text +
                     "'"};
  }
  if (value > static_cast<double>(max)) {
    throw UsageError{name + " expects a whole number <= " + std::to_string(max) + ", got '" + text +
                     "'"};
  }
  return static_cast<std::int64_t>(value);
}

void check_options(const Args& args, const std::vector<std::string>& known) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind("--", 0) != 0) {
      throw UsageError{"unexpected argument '" + args[i] + "'"};
    }
    bool ok = false;
    for (const std::string& k : known) ok = ok || args[i] == k;
    if (!ok) throw UsageError{"unknown option '" + args[i] + "'"};
    ++i;  // every option takes a value
  }
}

}  // namespace myelin::cli

namespace {

struct CommandHelp {
  const char* name;
  const char* text;  // "usage: myelin NAME ..." and its options
};

const CommandHelp kCommands[] = {
    {"train",
     "usage: myelin train [--spec SPEC.json] [--out DIR] [options]\n"
     "  train a model spec (default: an MLP on Fashion-MNIST) on a GPU when one is usable\n"
     "  --spec FILE        the model, its task, training settings and data (see the README)\n"
     "  --out DIR          the run directory (default: runs/DATE-TIME)\n"
     "  --resume DIR       continue a stopped run exactly where it stopped\n"
     "  --epochs N         the run's length (a schedule without its own horizon follows it)\n"
     "  --limit N          use the first N rows of the training file (before the dev split)\n"
     "  --dev-size N       rows carved from the training file for the dev split\n"
     "  --init FILE        start from the tensors of FILE that match by name, shape and type\n"
     "  --reinit 3         with --init: these layers start fresh (a new head)\n"
     "  --refit-normalization on|off  with --init: fit the normalisation to this data\n"
     "  --freeze 0,1       keep these layers fixed\n"
     "  --frozen-batch-norm eval|train  frozen batch norms keep their statistics (eval)\n"
     "  --device auto|cpu|cuda[:N]\n"
     "  --stop-after N     updates, then checkpoint and stop, as Ctrl-C does\n"
     "  --cuda-graphs on|off  (on: each CUDA step after the first is one graph)\n"},
    {"eval",
     "usage: myelin eval RUN_DIR [--baseline-error X] [--checkpoint last|best|FILE] [--device "
     "D]\n"
     "  the test-set report of a run for its task (per class, label or target), and bias and\n"
     "  variance from the train and dev errors against a baseline (human-level) error\n"
     "  --checkpoint last (the run's last checkpoint), best (its best by the dev metric:\n"
     "               best.safetensors) or a safetensors file\n"},
    {"predict",
     "usage: myelin predict RUN_DIR --input FILE --out FILE.npy [--output KIND] [--checkpoint "
     "FILE] [--device D]\n"
     "  the model's outputs for the rows of FILE (IDX, .npy or CSV features), normalised as in "
     "training\n"
     "  --output logits|probabilities|classes (classification: classes; multi_label:\n"
     "           probabilities; regression: values)\n"},
    {"tune",
     "usage: myelin tune SPEC.json --trials N --out DIR [options], or --resume DIR\n"
     "  random search over the spec's \"search\" ranges, a run directory per trial\n"
     "  ranked by the dev metric (never the test set); the table in DIR/trials.csv, the best\n"
     "  trial's spec in DIR/best_spec.json\n"
     "  --fine N      a second round of N trials around the best (--top K, 3) of the first\n"
     "  --epochs N    each trial's budget (its spec's early_stopping also applies)\n"
     "  --limit N, --dev-size N  the data of every trial, as in myelin train\n"
     "  --seed S      the draws (default: the spec's seed)\n"
     "  --prune median  stop a trial whose best dev metric so far is worse than the median of\n"
     "                the finished trials' at the same epoch (with 3 of them at least)\n"
     "  --device D    where the trials train\n"
     "  --resume DIR  continue an interrupted search: finished trials are kept, a trial that\n"
     "                was training continues from its checkpoint\n"},
    {"report",
     "usage: myelin report RUN_DIR|TUNE_DIR [--out FILE.html] [options]\n"
     "  one self-contained HTML page of figures (default: DIR/report.html). A run: loss,\n"
     "  metric and learning-rate curves, per-layer gradient norms and update ratios, dead and\n"
     "  saturated units, the confusion matrix, F1 per class and the bias/variance ladder. A\n"
     "  tune directory: each hyper-parameter against the dev metric, the trials' curves\n"
     "  --checkpoint last|best|FILE  the checkpoint evaluated (last)\n"
     "  --split dev|test  the split of the confusion matrix and F1 (dev; test adds it to the\n"
     "                    ladder)\n"
     "  --baseline-error X  a human-level or reference error: the ladder's first step\n"
     "  --device D\n"},
    {"gradcheck",
     "usage: myelin gradcheck SPEC.json [--batch N] [--elements N]\n"
     "  gradient check of a whole model against central differences in double\n"},
    {"inspect",
     "usage: myelin inspect FILE.safetensors\n"
     "  metadata, tensors, shapes and checksums\n"},
    {"spirals",
     "usage: myelin spirals [options]\n"
     "  train an MLP on the two-spirals problem\n"
     "  --steps N (3000) --lr X (0.3) --hidden N (64) --seed N (0) --threads N\n"
     "  --device cpu|cuda[:N] (cpu)\n"},
    {"info",
     "usage: myelin info\n"
     "  print the build, the usable devices and the op table\n"},
};

void usage(std::ostream& out) {
  out << "usage: myelin <command> [options]   (myelin <command> --help for its options)\n"
         "commands:\n";
  for (const CommandHelp& c : kCommands) {
    const std::string text = c.text;
    const std::size_t line = text.find('\n');
    const std::size_t second = text.find('\n', line + 1);
    out << "  " << c.name << ":" << text.substr(line + 1, second - line - 1).substr(1) << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace myelin::cli;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  const Args args(argv + 2, argv + argc);
  for (const std::string& a : args) {
    if (a != "--help" && a != "-h") continue;
    for (const CommandHelp& c : kCommands) {
      if (command == c.name) {
        std::cout << c.text;
        return 0;
      }
    }
  }
  try {
    if (command == "info") return run_info(args);
    if (command == "train") return run_train(args);
    if (command == "eval") return run_eval(args);
    if (command == "gradcheck") return run_gradcheck(args);
    if (command == "inspect") return run_inspect(args);
    if (command == "predict") return run_predict(args);
    if (command == "tune") return run_tune(args);
    if (command == "report") return run_report(args);
    if (command == "spirals") return run_spirals(args);
    std::cerr << "myelin: unknown command '" << command << "'\n";
    usage(std::cerr);
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "myelin " << command << ": " << e.message << "\n";
    return 2;
  } catch (const myelin::Error& e) {
    std::cerr << "myelin " << command << ": error: " << e.what() << "\n";
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    std::cerr << "myelin " << command << ": error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "myelin " << command << ": error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {  // a defect of the tool: still a message, not a signal
    std::cerr << "myelin " << command << ": internal error: " << e.what() << "\n";
    return 1;
  }
}
