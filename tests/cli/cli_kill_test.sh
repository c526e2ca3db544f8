#!/usr/bin/env bash
# A training killed at any instant resumes to the run it would have been: the tool is killed
# (SIGKILL, through a preloaded library) at each call that changes a file in turn, including
# halfway through every write and before every rename; then it is resumed (or, when the kill
# came before the run directory existed, started again), and the run must end with the bits of an
# uninterrupted run, logs without duplicate or missing lines, and no temporary file left.
#   cli_kill_test.sh MYELIN_BINARY KILL_INJECTION_LIBRARY WORK_DIR
set -uo pipefail
myelin=$1
injection=$2
work=$3
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cli_start "$work"

# 3 classes, 4 features, 60 rows: 40 to train in batches of 16 (3 updates an epoch), 20 dev rows.
awk 'BEGIN { srand(5); for (i = 0; i < 60; ++i) {
  c = i % 3; printf "%.3f,%.3f,%.3f,%.3f,%d\n", rand() + c, rand(), rand() - c, rand(), c } }' \
  >train.csv
printf '{"layers": [{"type": "linear", "out": 8}, {"type": "relu"}, {"type": "linear", "out": 3}],
  "epochs": 3, "batch_size": 16, "optimizer": {"type": "adam", "lr": 0.01},
  "data": {"format": "csv", "train_csv": "train.csv", "dev_size": 20}}' >spec.json

# What a run leaves, without the figures that depend on time: each file's path (checkpoints
# unnumbered), each tensor's checksum, the logs' update and epoch numbers and losses.
run_state() {
  (cd "$1" && find . | sed 's|checkpoints/[0-9]*|checkpoints/N|' | LC_ALL=C sort)
  checkpoint_contents "$1/model.safetensors"
  "$myelin" inspect "$1/optimizer.safetensors"
  sed -e 's/, "samples_per_second": [^}]*//' "$1/steps.jsonl"
  cut -d, -f1-6 "$1/metrics.csv"
}

"$myelin" train --spec spec.json --out whole >whole.log 2>&1
check "an uninterrupted run" test $? -eq 0
run_state whole >whole.state

MYELIN_KILL_COUNT=$PWD/count LD_PRELOAD=$injection "$myelin" train --spec spec.json --out counted \
  >counted.log 2>&1
check "a run with the kill library loaded and no kill asked for" test $? -eq 0
check "... is the uninterrupted run" test "$(run_state counted)" = "$(cat whole.state)"
points=$(cat count 2>/dev/null || echo 0)
check "the run changes files at many points ($points)" test "$points" -gt 20

killed=0
recovered=0
for ((k = 1; k <= points; ++k)); do
  rm -rf run run.* .run.*
  # In a subshell whose stderr is dropped: bash reports "Killed" there, not in the test's log.
  (
    MYELIN_KILL_AT=$k LD_PRELOAD=$injection "$myelin" train --spec spec.json --out run \
      >kill.log 2>&1
    exit $?
  ) 2>/dev/null
  code=$?
  if [ "$code" -ne 137 ]; then
    echo "FAILED: kill point $k: the run exited with $code, not killed"
    failures=$((failures + 1))
    continue
  fi
  killed=$((killed + 1))
  if [ -e run/spec.json ]; then
    "$myelin" train --resume run >resume.log 2>&1
  else
    "$myelin" train --spec spec.json --out run >resume.log 2>&1
  fi
  code=$?
  leftovers=$(ls -A | grep -v -x -e run -e whole -e counted -e spec.json -e train.csv -e count \
    -e whole.log -e counted.log -e whole.state -e kill.log -e resume.log)
  if [ "$code" -ne 0 ]; then
    echo "FAILED: kill point $k: continuing exited with $code: $(tail -n 1 resume.log)"
    failures=$((failures + 1))
  elif [ -n "$leftovers" ]; then
    echo "FAILED: kill point $k: left beside the run: $leftovers"
    failures=$((failures + 1))
  elif ! diff <(run_state run) whole.state >diff.log 2>&1; then
    echo "FAILED: kill point $k: the run differs from the uninterrupted one:"
    head -n 8 diff.log
    rm -f diff.log
    failures=$((failures + 1))
  else
    recovered=$((recovered + 1))
  fi
  rm -f diff.log
done
check "killed at every one of the $points points ($killed)" test "$killed" -eq "$points"
check "every killed run ended as the uninterrupted one ($recovered of $points)" \
  test "$recovered" -eq "$points"

# A run directory written before checkpoints had a commit link holds the model and optimizer
# files themselves; it resumes, and takes the new layout at its next checkpoint.
rm -rf run
"$myelin" train --spec spec.json --out run --stop-after 3 >stopped.log 2>&1
cp --remove-destination run/checkpoint/model.safetensors run/checkpoint/optimizer.safetensors run/
rm -r run/checkpoint run/checkpoints
"$myelin" train --resume run >resume.log 2>&1
check "a run directory of the earlier layout resumes" test $? -eq 0
check "... to the uninterrupted run, in the new layout" test "$(run_state run)" = "$(cat whole.state)"
cp -rL whole copied
"$myelin" train --resume copied --epochs 4 >copied.log 2>&1
check "a copy that lost its links is refused" test $? -eq 1
check "... saying why" grep -q "copied/checkpoint: is not a link to a checkpoint" copied.log

cli_finish
