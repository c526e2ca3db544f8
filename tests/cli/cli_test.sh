#!/usr/bin/env bash
# End-to-end tests of the myelin tool: bad specs (exit code 2, one line, nothing written), a run
# stopped mid-epoch and resumed (the same final weights, bit for bit, as the uninterrupted run),
# eval and gradcheck output, bad files named in errors, and the README's table of ops kept
# complete.
#   cli_test.sh MYELIN_BINARY WORK_DIR
set -uo pipefail
myelin=$1
work=$2
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cli_start "$work"

# --- bad specs: exit 2, one clear line, nothing written ---------------------------------------
bad_spec() {  # bad_spec NAME JSON EXPECTED_TEXT
  printf '%s' "$2" >"$1.json"
  "$myelin" train --spec "$1.json" --out "out-$1" >"$1.out" 2>"$1.err"
  local code=$?
  check "$1: exit code 2 (got $code)" test "$code" -eq 2
  check "$1: one line on stderr" test "$(wc -l <"$1.err")" -eq 1
  check "$1: names the problem ($3)" grep -qF -- "$3" "$1.err"
  check "$1: nothing written" test ! -e "out-$1"
  cat "$1.err"
}
bad_spec malformed '{"epochs": 2,' 'malformed JSON'
bad_spec unknown '{"epocs": 2}' "epocs: unknown field (did you mean 'epochs'?)"
bad_spec type '{"batch_size": "big"}' 'batch_size: expected an integer'
bad_spec range '{"layers": [{"type": "dropout", "p": 2}, {"type": "linear", "out": 10}]}' 'layers[0].p: expected a number in [0, 1)'
bad_spec chain '{"layers": [{"type": "linear", "out": 64}, {"type": "linear", "in": 32, "out": 10}]}' 'layers[1].in: 32 does not chain'
bad_spec classes '{"layers": [{"type": "linear", "out": 4}], "data": {"limit": 6000, "dev_size": 1000}}' 'the last layer has 4 outputs'

"$myelin" train --spec missing.json --out out-missing >/dev/null 2>missing.err
check "missing spec file: exit 2" test $? -eq 2
check "missing spec file: named" grep -q "missing.json" missing.err

# --- a run stopped mid-epoch and resumed equals the uninterrupted run -------------------------
# The default model (dropout, batch norm, Adam) on 6,000 rows, 1,000 of them for dev: 40 updates
# per epoch; stop after 55 updates (epoch 2, batch 15). On the device a quarter of the rows: 10
# updates per epoch, stop after 13 (epoch 2, batch 3).
limit=$(scaled_rows 6000)
dev=$(scaled_rows 1000)
batches=$(((limit - dev + 127) / 128))
stop=$((batches + batches * 3 / 8))
printf '{"data": {"limit": %d, "dev_size": %d}, "epochs": 3}' "$limit" "$dev" >resume.json
"$myelin" train --spec resume.json --out whole >whole.log 2>&1
check "uninterrupted run" test $? -eq 0
"$myelin" train --spec resume.json --out parts --stop-after $stop >parts1.log 2>&1
check "stopped run exits 0" test $? -eq 0
check "stopped mid-epoch" grep -q "stopped at epoch 2, batch $((stop - batches))" parts1.log
"$myelin" train --resume parts >parts2.log 2>&1
check "resumed run" test $? -eq 0
check "resumed at the stopping point" grep -q "resuming at epoch 2, batch $((stop - batches))" parts2.log
check "same final weights, bit for bit" \
  test "$(checkpoint_contents whole/model.safetensors)" = "$(checkpoint_contents parts/model.safetensors)"
check "same optimizer state, bit for bit" cmp -s whole/optimizer.safetensors parts/optimizer.safetensors
# The epoch resumed mid-way reports its loss over the whole epoch: every logged figure but the
# timings is the uninterrupted run's.
check "same metrics, the resumed epoch's loss included" \
  test "$(cut -d, -f1-6 whole/metrics.csv)" = "$(cut -d, -f1-6 parts/metrics.csv)"
check "metrics.csv has a row per epoch" test "$(wc -l <parts/metrics.csv)" -eq 4
check "steps.jsonl has a line per update" test "$(wc -l <parts/steps.jsonl)" -eq $((3 * batches))
check "run directory keeps the spec" test -s parts/spec.json
"$myelin" train --out whole >/dev/null 2>exists.err
check "an existing run directory is not overwritten" test $? -eq 2

# --- --epochs 0: the initial model, written as a run's model ------------------------------------
"$myelin" train --spec resume.json --out zero --epochs 0 >zero.log 2>&1
check "--epochs 0 exits 0" test $? -eq 0
check "--epochs 0 writes the initial model" test -s zero/model.safetensors
check "--epochs 0 says the model is untrained" grep -q "the initial (untrained) model is in zero/model.safetensors" zero.log
check "--epochs 0 makes no update" test ! -s zero/steps.jsonl
"$myelin" eval zero >zero-eval.log 2>&1
check "the initial model can be evaluated" test $? -eq 0

# --- Ctrl-C: a checkpoint, then --resume -------------------------------------------------------
"$myelin" train --spec resume.json --out interrupted --epochs 50 >interrupted.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do  # wait until training is under way (up to 60 s)
  [ -s interrupted/steps.jsonl ] && [ "$(wc -l <interrupted/steps.jsonl)" -ge 5 ] && break
  sleep 0.1
done
kill -INT $pid
wait $pid
code=$?
check "Ctrl-C stops with exit code 130 (got $code)" test "$code" -eq 130
check "Ctrl-C saves a checkpoint" test -s interrupted/model.safetensors -a -s interrupted/optimizer.safetensors
check "Ctrl-C says how to continue" grep -q "continue with: myelin train --resume" interrupted.log
"$myelin" train --resume interrupted --epochs 1 >/dev/null 2>&1
check "an interrupted run can be resumed" test $? -eq 0

# --- eval -----------------------------------------------------------------------------------
"$myelin" eval whole --baseline-error 0.05 >eval.log 2>&1
check "eval runs" test $? -eq 0
for text in "test accuracy" "macro-F1" "confusion matrix" "avoidable bias" "advice:" "Ankle boot"; do
  check "eval prints '$text'" grep -q "$text" eval.log
done

# --- transfer: a new head on a frozen body ----------------------------------------------------
"$myelin" train --spec resume.json --out transfer --epochs 1 --init whole/model.safetensors --freeze 0,4 >transfer.log 2>&1
check "training from given weights with frozen layers" test $? -eq 0
"$myelin" inspect whole/model.safetensors >whole.inspect 2>&1
"$myelin" inspect transfer/model.safetensors >transfer.inspect 2>&1
check "inspect lists the tensors" grep -q "^0.weight F32 \[512, 784\]" whole.inspect
check "frozen layer 0 kept its weights" test "$(grep '^0.weight ' whole.inspect)" = "$(grep '^0.weight ' transfer.inspect)"
check "frozen layer 4 kept its weights" test "$(grep '^4.weight ' whole.inspect)" = "$(grep '^4.weight ' transfer.inspect)"
check "the head (layer 8) was trained" test "$(grep '^8.weight ' whole.inspect)" != "$(grep '^8.weight ' transfer.inspect)"
printf '{"layers": [{"type": "linear", "out": 32}, {"type": "relu"}, {"type": "linear", "out": 10}], "data": {"limit": %d, "dev_size": %d}, "epochs": 1}' "$(scaled_rows 3000)" "$(scaled_rows 500)" >small.json
"$myelin" train --spec small.json --out mismatch --init whole/model.safetensors >/dev/null 2>mismatch.err
# --init takes every tensor that matches by name, shape and type: here none does.
check "a checkpoint with nothing for the spec is refused" grep -q "no tensor matches the model's by name, shape and type" mismatch.err

# --- gradcheck ----------------------------------------------------------------------------------
printf '{"layers": [{"type": "linear", "out": 6}, {"type": "batch_norm"}, {"type": "tanh"}, {"type": "dropout", "p": 0.2}, {"type": "linear", "out": 10}], "data": {"limit": 2000, "dev_size": 500}}' >gc.json
"$myelin" gradcheck gc.json --batch 6 --elements 40 >gc.log 2>&1
check "gradcheck passes" test $? -eq 0
check "gradcheck lists every parameter" test "$(grep -c '^[0-9]\.' gc.log)" -eq 6
cat gc.log

# --- bad data files -------------------------------------------------------------------------------
printf 'not an idx file' >bad.idx
printf '{"data": {"train_features": "bad.idx", "train_labels": "bad.idx"}}' >baddata.json
"$myelin" train --spec baddata.json --out baddata >/dev/null 2>baddata.err
check "a bad data file is an error naming it" grep -q "bad.idx: not an IDX file" baddata.err
check "no crash on a bad data file (exit 1)" test "$(wc -l <baddata.err)" -eq 1

# --- the README's table of ops lists every op `myelin info` lists ------------------------------
readme="$(cd "$(dirname "$0")/../.." && pwd)/README.md"
"$myelin" info | sed -n '/^ops (/,$p' | awk 'NR > 1 && /^  [a-z]/ {print $1}' >ops.txt
check "myelin info lists the ops" test "$(wc -l <ops.txt)" -ge 20
"$myelin" info | grep -E '^memory plan of a training step of the default model \(batch [0-9]+\): [0-9]+ activations, saved tensors and gradients in [0-9.]+ MiB \(planned by liveness\), [0-9.]+ MiB with one allocation each' >plan.txt || true
check "myelin info prints the default model's memory plan" test -s plan.txt
while read -r op; do
  check "the README's table of ops has $op" grep -qE "^\| .*\`$op[\`(]" "$readme"
done <ops.txt

cli_finish
