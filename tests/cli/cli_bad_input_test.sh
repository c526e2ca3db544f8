#!/usr/bin/env bash
# Bad input to the myelin tool: every case ends with exit 1 (a bad file or run) or 2 (a bad
# spec or option) and one line naming the problem, never a signal, and a run that fails leaves
# no run directory behind.
#   cli_bad_input_test.sh MYELIN_BINARY WORK_DIR
set -uo pipefail
myelin=$1
work=$2
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cli_start "$work"

# refuses NAME CODE TEXT COMMAND...: exits with CODE, one line on stderr containing TEXT, and
# leaves no run directory out-NAME. A command that would run on (a bad value taken as valid) is
# stopped after a minute and fails.
refuses() {
  local name=$1 want=$2 text=$3
  shift 3
  timeout 60 "$@" >"$name.out" 2>"$name.err"
  local code=$?
  check "$name: exit $want (got $code)" test "$code" -eq "$want"
  check "$name: one line on stderr" test "$(wc -l <"$name.err")" -eq 1
  check "$name: names the problem ($text)" grep -qF -- "$text" "$name.err"
  check "$name: no run directory left" test ! -e "out-$name"
  head -c 300 "$name.err"
}

# A small CSV data set: 4 features and a label, 120 rows.
awk 'BEGIN { srand(3); for (i = 0; i < 120; ++i) {
  c = i % 3; printf "%.3f,%.3f,%.3f,%.3f,%d\n", rand() + c, rand(), rand() - c, rand(), c } }' \
  >train.csv
csv_spec() {  # csv_spec FILE EXTRA_TOP_LEVEL_FIELDS
  printf '{"layers": [{"type": "linear", "out": 8}, {"type": "relu"}, {"type": "linear", "out": 3}],
  "epochs": 1, "batch_size": 16, %s "data": {"format": "csv", "train_csv": "train.csv",
  "dev_size": 20}}' "$2" >"$1"
}
csv_spec good.json ''

# --- numbers the JSON reader cannot hold ----------------------------------------------------------
printf '{"optimizer": {"type": "sgd", "lr": 1e999}}' >huge_lr.json
refuses huge_lr 2 "huge_lr.json:1:37: number out of range: 1e999" "$myelin" train --spec huge_lr.json --out out-huge_lr
printf '{"epochs": 2147483648e2147483648}' >huge_epochs.json
refuses huge_epochs 2 "out of range" "$myelin" train --spec huge_epochs.json --out out-huge_epochs
csv_spec big_batch.json '"batch_size": 2147483648,'
refuses big_batch 2 "batch_size: expected an integer in [1," \
  "$myelin" train --spec big_batch.json --out out-big_batch

# --- directories and devices where files belong ---------------------------------------------------
mkdir -p adir
refuses inspect_dir 1 "adir/: is a directory" "$myelin" inspect adir/
refuses spec_dir 2 "adir: is a directory" "$myelin" train --spec adir --out out-spec_dir
printf '{"data": {"train_features": "adir/", "train_labels": "adir/"}}' >features_dir.json
refuses features_dir 1 "adir/: is a directory" \
  "$myelin" train --spec features_dir.json --out out-features_dir
printf '{"data": {"train_features": "/dev/zero", "train_labels": "/dev/zero"}}' >features_dev.json
refuses features_dev 1 "/dev/zero: not a regular file" \
  "$myelin" train --spec features_dev.json --out out-features_dev

# --- run directories that cannot be made ------------------------------------------------------------
touch afile
refuses out_under_file 2 "afile/x" "$myelin" train --spec good.json --out afile/x
refuses out_is_file 2 "afile exists and is not a directory" \
  "$myelin" train --spec good.json --out afile
refuses out_unwritable 2 "/proc/myelin-run: cannot create" \
  "$myelin" train --spec good.json --out /proc/myelin-run

# --- gradcheck on more rows than the data has -----------------------------------------------------
refuses gradcheck_batch 2 "--batch 500 is more than the 100 training rows" \
  "$myelin" gradcheck good.json --batch 500

# --- options: whole numbers in the spec's ranges, or a clear error; spec.json stays readable ----
refuses epochs_huge 2 "epochs: expected an integer in [0, 1000000], got 2000000" \
  "$myelin" train --spec good.json --out out-epochs_huge --epochs 2000000
refuses limit_huge 2 "data.limit: expected an integer in [0," \
  "$myelin" train --spec good.json --out out-limit_huge --limit 1e13
refuses epochs_negative 2 "--epochs expects a whole number >= 0, got '-1'" \
  "$myelin" train --spec good.json --out out-epochs_negative --epochs -1
refuses epochs_nan 2 "--epochs expects a whole number >= 0, got 'nan'" \
  "$myelin" train --spec good.json --out out-epochs_nan --epochs nan
refuses limit_negative 2 "--limit expects a whole number >= 0, got '-5'" \
  "$myelin" train --spec good.json --out out-limit_negative --limit -5
refuses stop_negative 2 "--stop-after expects a whole number >= 1, got '-1'" \
  "$myelin" train --spec good.json --out out-stop_negative --stop-after -1
refuses graphs_word 2 "--cuda-graphs takes on or off, not 'maybe'" \
  "$myelin" train --spec good.json --out out-graphs_word --cuda-graphs maybe
refuses graphs_on_cpu 2 "--cuda-graphs applies to a CUDA device, and this run trains on cpu" \
  "$myelin" train --spec good.json --out out-graphs_on_cpu --device cpu --cuda-graphs off
refuses batch_fraction 2 "--batch expects a whole number >= 2, got '2.5'" \
  "$myelin" gradcheck good.json --batch 2.5

# --- messages that say what is wrong ---------------------------------------------------------------
printf '{"epochs": th}' >literal.json
refuses literal 2 "literal.json:1:13: malformed JSON: syntax error while parsing value - invalid literal; last read:" \
  "$myelin" train --spec literal.json --out out-literal
csv_spec seed_max.json '"seed": 18446744073709551615,'
"$myelin" train --spec seed_max.json --out seed_max --epochs 0 >seed_max.out 2>&1
check "a seed of 2^64-1 is accepted" test $? -eq 0
check "and kept as written" grep -q '"seed": 18446744073709551615' seed_max/spec.json
csv_spec seed_negative.json '"seed": -1,'
refuses seed_negative 2 "seed: expected an integer in [0, 18446744073709551615], got a number -1" \
  "$myelin" train --spec seed_negative.json --out out-seed_negative

# --- a device this build or this machine does not have --------------------------------------------
"$myelin" info >info.txt
if grep -q "not built (CPU-only library)" info.txt; then
  refuses no_cuda_build 2 "cuda:0: this myelin was built without the CUDA backend" \
    "$myelin" train --spec good.json --out out-no_cuda_build --device cuda
elif grep -q "no usable GPU" info.txt; then
  refuses no_gpu 2 "cuda:0: no usable GPU" \
    "$myelin" train --spec good.json --out out-no_gpu --device cuda
fi
refuses no_such_gpu 2 "cuda:7" "$myelin" train --spec good.json --out out-no_such_gpu --device cuda:7

# --- data: finite numbers in every row, a header only when no field is a number --------------------
{ echo "1,2,3,4,0"; echo "1,nan,3,4,1"; head -50 train.csv; } >nan.csv
sed 's/"train\.csv"/"nan.csv"/' good.json >nan.json
refuses nan_csv 1 "nan.csv:2: field 2 is empty or NaN: a feature must be a number" \
  "$myelin" train --spec nan.json --out out-nan_csv
{ echo "1,2,3,4,0"; echo "1,1e400,3,4,1"; head -50 train.csv; } >big.csv
sed 's/"train\.csv"/"big.csv"/' good.json >big.json
refuses big_csv 1 "big.csv:2: field 2 ('1e400') is out of range for float32" \
  "$myelin" train --spec big.json --out out-big_csv
{ echo "1,2,3,4x,0"; head -50 train.csv; } >typo.csv
sed 's/"train\.csv"/"typo.csv"/' good.json >typo.json
refuses typo_csv 1 "typo.csv:1: field 4 ('4x') is not a number" \
  "$myelin" train --spec typo.json --out out-typo_csv
sed 's/{"type": "relu"}/{"type": "dropout", "p": 1.0}/' good.json >p_one.json
refuses p_one 2 "layers[1].p: expected a number in [0, 1), got 1.0" \
  "$myelin" train --spec p_one.json --out out-p_one

# --- a resumed run keeps what defines it; only epochs and the device may change -------------------
"$myelin" train --spec good.json --out run --stop-after 2 >run.log 2>&1
check "a run stopped after two updates" test $? -eq 0
cp run/spec.json spec.saved
resume_refuses() {  # resume_refuses NAME SED_EXPRESSION FIELD
  sed "$2" spec.saved >run/spec.json
  refuses "$1" 2 "$3" "$myelin" train --resume run
  cp spec.saved run/spec.json
}
resume_refuses resume_batch 's/"batch_size": 16/"batch_size": 8/' \
  "batch_size: 16 in the checkpoint, 8 in run/spec.json"
resume_refuses resume_seed 's/"seed": 0/"seed": 5/' "seed: 0 in the checkpoint, 5 in run/spec.json"
resume_refuses resume_dev 's/"dev_size": 20/"dev_size": 10/' "data.dev_size: 20 in the checkpoint"
resume_refuses resume_layer 's/"type": "relu"/"type": "tanh"/' "layers[1].type: \"relu\" in the checkpoint"
resume_refuses resume_data 's/"train\.csv"/"nan.csv"/' "data.train_csv"
"$myelin" train --resume run --epochs 2 >resumed.log 2>&1
check "a resumed run may train for more epochs" test $? -eq 0
check "and did" grep -q "^2," run/metrics.csv

# --- runs killed before their first checkpoint, or between a log line and its checkpoint -------
steps_of() { grep -o '"step": [0-9]*' "$1/steps.jsonl"; }
epochs_of() { cut -d, -f1 "$1/metrics.csv"; }
tensors_of() { "$myelin" inspect "$1/model.safetensors" | grep -v '^#'; }
"$myelin" train --spec good.json --out whole --epochs 2 >/dev/null 2>&1
check "an uninterrupted run of two epochs" test -s whole/model.safetensors
"$myelin" train --spec good.json --out early --epochs 2 --stop-after 3 >/dev/null 2>&1
rm -r early/checkpoint* early/*.safetensors  # as if killed before its first checkpoint
"$myelin" train --resume early >early.log 2>&1
check "a run killed before its first checkpoint resumes from the start" test $? -eq 0
check "... and ends with the weights of the uninterrupted run" \
  test "$(tensors_of early)" = "$(tensors_of whole)"
check "... with the same log lines" test "$(steps_of early)" = "$(steps_of whole)"
"$myelin" train --spec good.json --out late --epochs 2 --stop-after 10 >/dev/null 2>&1
echo '{"step": 11, "epoch": 1, "batch": 3, "loss": 1}' >>late/steps.jsonl  # written, then killed
echo '2,0.5,0.5,0.5,0.5,0.001,1.0,100' >>late/metrics.csv
"$myelin" train --resume late >late.log 2>&1
check "a run killed after logging past its checkpoint resumes" test $? -eq 0
check "... and ends with the weights of the uninterrupted run" \
  test "$(tensors_of late)" = "$(tensors_of whole)"
check "... with no duplicate step lines" test "$(steps_of late)" = "$(steps_of whole)"
check "... and no duplicate epoch rows" test "$(epochs_of late)" = "$(epochs_of whole)"

cli_finish
