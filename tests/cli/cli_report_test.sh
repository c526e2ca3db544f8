#!/usr/bin/env bash
# End-to-end tests of myelin report: the page of the quickstart run (the default model, trained
# as tools/quickstart trains it) and of a tune directory, each rendered in headless Chromium,
# with every figure checked for drawn data in the screenshot (render_report.py); that the check
# catches a figure without its data; runs without diagnostics or without a model; and bad input,
# each a clear error. Exits 77 (skipped) when Chromium or Pillow is missing, after the checks
# that need neither.
#   cli_report_test.sh MYELIN_BINARY WORK_DIR [quickstart|short]
# short (the sanitized build, ten times slower): the default model for 3 epochs on 20,000 rows;
# on the emulated device (lib.sh) on 5,000, with diagnostics every 25 of its 90 steps.
set -uo pipefail
myelin=$1
work=$2
length=${3:-quickstart}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
cli_start "$work"
python=/usr/bin/python3
render() { "$python" "$here/render_report.py" "$@"; }
run_figures=(loss accuracy step-loss lr grad-norms update-ratios units confusion f1 ladder)

# --- the quickstart run: the default model, every epoch, all the data ------------------------
budget=()
[ "$length" = short ] &&
  budget=(--epochs 3 --limit "$(scaled_rows 20000)" --dev-size "$(scaled_rows 5000)")
if [ "$on_device" -eq 1 ]; then
  echo '{"diagnostics_every": 25}' >device.json
  budget+=(--spec device.json)
fi
"$myelin" train --out run "${budget[@]}" >train.out 2>&1
check "the default model trains ($length)" test $? -eq 0
"$myelin" report run >report.out 2>&1
code=$?
cat report.out
check "report exits 0 (got $code)" test "$code" -eq 0
check "it writes run/report.html" test -s run/report.html
check "one figure per kind, each an inline SVG" test "$(grep -c '<figure id="fig-' run/report.html)" -eq ${#run_figures[@]}
check "no script, no link, nothing fetched" not grep -qE '<script|<link|src=|https?://[^w]' run/report.html
check "the confusion matrix names the classes" grep -qF '>Ankle boot</text>' run/report.html
check "the ladder's gap is named" grep -qF '>variance</text>' run/report.html
"$myelin" report run --out best.html --checkpoint best --split test --baseline-error 0.05 >best.out 2>&1
check "report of the best checkpoint on the test split" test $? -eq 0
check "the test split joins the ladder" grep -qF '>overfitting to dev</text>' best.html
check "and the baseline" grep -qF '>avoidable bias</text>' best.html

# --- a run without diagnostics: the page says so and draws the rest --------------------------
"$myelin" train --out quiet --epochs 1 --limit "$(scaled_rows 3000)" --dev-size "$(scaled_rows 500)" \
  >/dev/null 2>&1
rm quiet/diagnostics.jsonl
"$myelin" report quiet >quiet.out 2>&1
check "a run without diagnostics.jsonl has a report" test $? -eq 0
check "which says it has no diagnostics" grep -qF 'has no diagnostics.jsonl' quiet/report.html
check "and draws no diagnostics figure" not grep -qF 'fig-grad-norms' quiet/report.html

# --- a run stopped before its first checkpoint: the page of its logs -------------------------
cp -r quiet nomodel
rm nomodel/model.safetensors
"$myelin" report nomodel >nomodel.out 2>&1
check "a run without a model has a report" test $? -eq 0
check "which says there is nothing to evaluate" grep -qF 'has no model.safetensors' nomodel/report.html
check "and still draws its curves" grep -qF 'fig-loss' nomodel/report.html

# --- a tune directory ----------------------------------------------------------------------
cat >search.json <<'JSON'
{"layers": [{"type": "linear", "out": 32}, {"type": "relu"}, {"type": "linear", "out": 10}],
 "search": {"optimizer.lr": {"log_uniform": [1e-4, 1e-1]},
            "batch_size": {"choice": [64, 128]}}}
JSON
"$myelin" tune search.json --trials 6 --out tune --limit "$(scaled_rows 2000)" \
  --dev-size "$(scaled_rows 500)" --epochs 2 >tune.out 2>&1
check "a small search runs" test $? -eq 0
"$myelin" report tune >tune_report.out 2>&1
check "report of a tune directory" test $? -eq 0
check "a figure per hyper-parameter and the trials' curves" test "$(grep -c '<figure id="fig-' tune/report.html)" -eq 3
check "the log-uniform one on a log axis" grep -qF 'optimizer.lr (log)' tune/report.html

# --- bad input: a clear error naming what and where, exit 2 ----------------------------------
refuses() {  # refuses DESCRIPTION EXPECTED-MESSAGE ARGS...
  local what=$1 message=$2
  shift 2
  "$myelin" report "$@" >bad.out 2>&1
  local code=$?
  check "$what: exit 2 (got $code)" test "$code" -eq 2
  check "$what: says '$message'" grep -qF -- "$message" bad.out
}
refuses "no such directory" "nosuch: not a directory" nosuch
mkdir -p empty
refuses "not a run" "neither a run directory" empty
refuses "a bad split" "--split takes dev or test" run --split train
refuses "an unknown option" "unknown option '--bins'" run --bins 3
refuses "an option of runs on a tune" "unknown option '--split'" tune --split dev
refuses "no such output directory" "is not a directory" run --out nosuch/report.html
cp -r quiet broken
echo "4,0.5,oops,0.4,0.8,0.001,1,1" >>broken/metrics.csv
refuses "a bad metrics.csv" "broken/metrics.csv:3: column train_accuracy holds 'oops'" broken
cp -r run garbled
echo '{"step": 9, "parameters": [' >>garbled/diagnostics.jsonl
line=$(wc -l <garbled/diagnostics.jsonl)
refuses "a broken diagnostics line" "garbled/diagnostics.jsonl:$line: not a JSON line" garbled
mkdir -p badtune && echo '{"format": "myelin-tune"' >badtune/tune.json
refuses "a broken tune.json" "badtune/tune.json: not a tune state" badtune

# --- rendered in headless Chromium: every figure holds drawn data ----------------------------
render run/report.html run.png "${run_figures[@]}" >render.out 2>&1
code=$?
cat render.out
if [ "$code" -eq 77 ]; then
  cli_finish || exit 1
  exit 77
fi
check "every figure of the run's page is drawn" test "$code" -eq 0
render best.html best.png "${run_figures[@]}" >render_best.out 2>&1
check "and of the test split's page" test $? -eq 0
render tune/report.html tune.png param-0 param-1 curves >render_tune.out 2>&1
code=$?
cat render_tune.out
check "every figure of the tune's page is drawn" test "$code" -eq 0
# The check itself: the same page without its curves and markers fails on those figures.
sed -e '/^<path /d' -e '/^<circle /d' run/report.html >bare.html
render bare.html bare.png loss lr >render_bare.out 2>&1
check "a figure without its data fails the check" test $? -eq 1
check "naming the figure" grep -qE "^FAILED: figure loss" render_bare.out

cli_finish
