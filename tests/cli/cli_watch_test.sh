#!/usr/bin/env bash
# End-to-end tests of training that watches itself: a diverging run stops at its first
# non-finite step with advice and a finite checkpoint, the skip policy and its limit (kept across
# a resume), and logs that stay machine-readable with non-finite values in them.
#   cli_watch_test.sh MYELIN_BINARY WORK_DIR
set -uo pipefail
myelin=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
cli_start "$work"
python=/usr/bin/python3  # Debian's, with python3-numpy
files() { "$python" "$here/run_files.py" "$@"; }
small=(--limit "$(scaled_rows 8000)" --dev-size "$(scaled_rows 1000)")

# --- SGD with lr 1e6 diverges: the run stops at the first non-finite step -----------------------
echo '{"optimizer": {"type": "sgd", "lr": 1e6}, "epochs": 2}' >diverge.json
"$myelin" train --spec diverge.json --out diverge "${small[@]}" >diverge.out 2>diverge.err
code=$?
cat diverge.err
check "a diverging run exits 1 (got $code)" test "$code" -eq 1
read -r first last < <(files jsonl diverge/steps.jsonl)
check "every line of steps.jsonl is JSON, non-finite values as null" test -n "$first"
check "a step is non-finite (the first: $first)" test "${first:-0}" -gt 0
check "it stops within a step of it (last logged: $last)" test "${last:-99}" -le $((first + 1))
check "the message names that step" grep -qF "training stopped at step $first " diverge.err
check "and the value" grep -qE "the (loss|gradient norm) is (nan|inf)" diverge.err
check "advice: the learning rate of this run" grep -qF "optimizer.lr is 1e+06 (sgd): try 1e+05" diverge.err
check "advice: clipping" grep -qF "clip_norm is off" diverge.err
check "the finite weights are saved" grep -qF "the last finite weights are saved in diverge" diverge.err
check "the checkpoint's weights are finite" files finite diverge/model.safetensors
check "the training state's too" files finite diverge/optimizer.safetensors
check "metrics.csv stays readable" files csv diverge/metrics.csv
"$myelin" eval diverge >diverge_eval.out 2>&1
check "the stopped run can be evaluated" test $? -eq 0

# --- the count of non-finite steps goes with the run: resumed with the skip policy -------------
sed -i 's/"on_nonfinite": "stop"/"on_nonfinite": "skip", "max_skipped": 2/' diverge/spec.json
check "the policy may change on resume" grep -qF '"max_skipped": 2' diverge/spec.json
"$myelin" train --resume diverge >resumed.out 2>resumed.err
code=$?
cat resumed.err
check "resumed, it stops past max_skipped (exit $code)" test "$code" -eq 1
check "counting the step before the resume" \
  grep -qF "that is 3 non-finite steps, more than the 2 the run may skip" resumed.err
check "skipped steps are logged as skipped" grep -qF '"skipped": true' diverge/steps.jsonl
check "steps.jsonl is still JSON" files jsonl diverge/steps.jsonl
check "its checkpoint is finite" files finite diverge/model.safetensors

# --- skip: the run goes on, and the logs hold NaN as nan / null ----------------------------------
echo '{"optimizer": {"type": "sgd", "lr": 1e6}, "epochs": 2, "on_nonfinite": "skip",
       "max_skipped": 1000}' >skip.json
# All the rows, on the device too: the run must reach a non-finite step within its 16 updates.
"$myelin" train --spec skip.json --out skip --limit 1500 --dev-size 500 >skip.out 2>&1
code=$?
cat skip.out
check "a skip run finishes (exit $code)" test "$code" -eq 0
check "it says how many steps were non-finite" grep -qE "^[0-9]+ non-finite steps in the run" skip.out
check "the epoch lines count them" grep -qE "epoch 1/2 .* [0-9]+ non-finite steps" skip.out
check "metrics.csv holds nan" grep -q ",nan," skip/metrics.csv
check "and every field reads as a number, never -nan" files csv skip/metrics.csv
check "steps.jsonl is JSON" files jsonl skip/steps.jsonl
check "the weights are finite" files finite skip/model.safetensors

# --- weights that are not finite are never written -------------------------------------------
# Adam with eps 0 divides 0 by 0 for a weight whose gradient is 0: the update itself is NaN.
echo '{"optimizer": {"type": "adam", "lr": 0.1, "eps": 0}, "epochs": 1}' >eps.json
"$myelin" train --spec eps.json --out eps --limit 3000 --dev-size 500 >eps.out 2>eps.err
code=$?
cat eps.err
check "eps 0: the run stops (exit $code)" test "$code" -eq 1
check "advice: eps" grep -qF "optimizer.eps is 0" eps.err
check "the non-finite weights are not written" grep -qF "not written: '0.weight' holds" eps.err
check "and the run says it has no checkpoint" grep -qF "the run has no checkpoint" eps.err
check "no checkpoint link" test ! -e eps/checkpoint

# --- early stopping and the best model -------------------------------------------------------
# The best by dev_loss is the epoch of the lowest dev loss in metrics.csv, and eval reads it.
echo '{"optimizer": {"type": "adam", "lr": 0.003}, "epochs": 12,
       "early_stopping": {"metric": "dev_loss", "patience": 2}}' >early.json
"$myelin" train --spec early.json --out early --limit "$(scaled_rows 3000)" \
  --dev-size "$(scaled_rows 500)" >early.out 2>&1
code=$?
cat early.out
check "an early-stopping run exits 0 (got $code)" test "$code" -eq 0
rows=$(files csv early/metrics.csv)
best_epoch=$("$python" - early/metrics.csv <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
best = min(rows, key=lambda r: (float(r["dev_loss"]), int(r["epoch"])))
print(best["epoch"])
PY
)
meta() { "$myelin" inspect "$1" | sed -n "s/^# $2: //p"; }
check "best.safetensors is the epoch of the lowest dev loss ($best_epoch)"   test "$(meta early/best.safetensors epoch)" = "$best_epoch"
check "it records that epoch as the best" test "$(meta early/best.safetensors best_epoch)" = "$best_epoch"
if [ "$rows" -lt 12 ]; then
  check "the run stopped $rows - $best_epoch = 2 epochs after its best" test $((rows - best_epoch)) -eq 2
  check "and says so" grep -qE "^early stopping after epoch $rows: dev_loss has not improved" early.out
else
  check "a run that never stops early names its best" grep -qF "is in early/best.safetensors" early.out
fi
"$myelin" eval early --checkpoint best >early_eval.out 2>&1
check "eval --checkpoint best evaluates it" grep -qF "evaluating early/best.safetensors" early_eval.out
check "and names its epoch" grep -qF "its epoch $best_epoch; the best dev_loss" early_eval.out
check "the best link is in the run directory" test -L early/best.safetensors

# Never better by more than 1 in accuracy: the best stays epoch 1, and the run stops after
# epoch 1 + patience, also when it is interrupted and resumed in between.
echo '{"optimizer": {"type": "adam", "lr": 0.003}, "epochs": 8,
       "early_stopping": {"metric": "dev_accuracy", "patience": 3, "min_delta": 1}}' >flat.json
limit=$(scaled_rows 3000)
dev=$(scaled_rows 500)
batches=$(((limit - dev + 127) / 128))  # per epoch; the stop falls in epoch 2
"$myelin" train --spec flat.json --out flat --limit $limit --dev-size $dev \
  --stop-after $((batches + batches / 2)) >flat.out 2>&1
check "stopped mid-run" grep -qF "stopped at epoch 2" flat.out
"$myelin" train --resume flat >flat2.out 2>&1
code=$?
cat flat2.out
check "the resumed run stops early (exit $code)" test "$code" -eq 0
check "after epoch 4, counting the epochs before the resume"   grep -qF "early stopping after epoch 4: dev_accuracy has not improved by more than 1 for 3 epochs" flat2.out
check "metrics.csv has those 4 epochs" test "$(files csv flat/metrics.csv)" -eq 4
check "the best is epoch 1" test "$(meta flat/best.safetensors epoch)" = 1
check "the last checkpoint is epoch 4" test "$(meta flat/model.safetensors epoch)" = 4
echo '{"early_stopping": {"metric": "dev_f1"}}' >bad_metric.json
"$myelin" train --spec bad_metric.json --out bad_metric >bad_metric.out 2>&1
check "an unknown early-stopping metric is refused with the choices"   grep -qF "dev_loss, dev_accuracy" bad_metric.out
"$myelin" eval skip --checkpoint best >no_best.out 2>&1
check "a run without a finite dev metric has no best" grep -qF "has no best.safetensors" no_best.out

# --- diagnostics: the founding document's three pictures, and a healthy net -------------------
# Eight hidden layers of 64 on Fashion-MNIST, one activation and initialisation each.
"$python" - <<'PY'
import json
def spec(act, init, bias=None, n=8):
    layers = []
    for _ in range(n):
        layer = {"type": "linear", "out": 64, "init": init}
        if bias is not None:
            layer["bias_init"] = bias
        layers += [layer, {"type": act}]
    layers.append({"type": "linear", "out": 10})
    return {"layers": layers, "optimizer": {"type": "sgd", "lr": 0.01}, "epochs": 1,
            "diagnostics_every": 10}
json.dump(spec("sigmoid", "xavier_normal"), open("deep_sigmoid.json", "w"))
json.dump(spec("tanh", "xavier_normal"), open("deep_tanh.json", "w"))
json.dump(spec("relu", "kaiming_normal"), open("deep_relu.json", "w"))
json.dump(spec("relu", "kaiming_normal", {"type": "constant", "value": -3}), open("dead.json", "w"))
json.dump(spec("tanh", {"type": "normal", "std": 1000}, n=2), open("saturated.json", "w"))
PY
for name in deep_sigmoid deep_tanh deep_relu dead saturated; do
  "$myelin" train --spec $name.json --out $name --limit 3000 --dev-size 500 >$name.out 2>&1
  check "$name trains (exit $?)" test $? -eq 0
  grep "^warning" $name.out
done
check "a deep sigmoid net: vanishing gradients at step 1"   grep -qE "^warning at step 1: vanishing gradients: the gradient norm goes from .* orders of magnitude smaller" deep_sigmoid.out
check "tanh with Xavier init: no warning" not grep -q "^warning" deep_tanh.out
check "ReLU with He init: no warning" not grep -q "^warning" deep_relu.out
check "a bias of -3 kills ReLUs" grep -qE "^warning at step 1: dead ReLUs: .*100% of the 64 units of layer 15 \(relu\)" dead.out
check "with the advice" grep -qF "Try leaky_relu, a lower learning rate, He initialisation" dead.out
check "N(0, 1000) weights saturate tanh" grep -qE "^warning at step 1: saturated units: 100% of the outputs of layer 1 \(tanh\)" saturated.out
check "with the advice" grep -qF "Try smaller initial weights (Xavier)" saturated.out
# 20 steps, diagnostics every 10: steps 1 and 11.
check "diagnostics.jsonl has a line per diagnostic step" test "$(wc -l <deep_sigmoid/diagnostics.jsonl)" -eq 2
check "each line is JSON naming its warnings" "$python" -c "
import json, sys
lines = [json.loads(l) for l in open('deep_sigmoid/diagnostics.jsonl')]
assert [l['step'] for l in lines] == [1, 11], lines
assert 'vanishing_gradients' in lines[0]['warnings']
first = lines[0]['parameters'][0]
assert first['name'] == '0.weight' and first['grad_norm'] < 1e-3 * lines[0]['parameters'][-2]['grad_norm']
assert len(lines[0]['activations']) == 8 and lines[0]['activations'][0]['op'] == 'sigmoid'
"
check "dead fractions are logged" "$python" -c "
import json
d = json.loads(open('dead/diagnostics.jsonl').readline())
assert d['activations'][-1]['dead_fraction'] == 1.0, d['activations']
"

# --- the policy's fields -----------------------------------------------------------------------
echo '{"max_skipped": 3}' >lonely.json
"$myelin" train --spec lonely.json --out lonely >lonely.out 2>&1
code=$?
check "max_skipped without skip is refused (exit $code)" test "$code" -eq 2
check "saying why" grep -qF 'max_skipped: goes with "on_nonfinite": "skip"' lonely.out
echo '{"on_nonfinite": "ignore"}' >bad_policy.json
"$myelin" train --spec bad_policy.json --out bad_policy >bad_policy.out 2>&1
check "an unknown policy is refused" grep -qF "on_nonfinite" bad_policy.out

cli_finish
