#!/usr/bin/env bash
# End-to-end tests of myelin tune: random search over a spec's ranges, a second round around the
# best, the ranked table and the best spec, the same trials from the same seed, and a search
# killed mid-trial that resumes to the table of an uninterrupted one.
#   cli_tune_test.sh MYELIN_BINARY WORK_DIR
set -uo pipefail
myelin=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
cli_start "$work"
python=/usr/bin/python3
small=(--limit "$(scaled_rows 2000)" --dev-size "$(scaled_rows 500)" --epochs 1)

cat >search.json <<'JSON'
{"layers": [{"type": "linear", "out": 64}, {"type": "relu"}, {"type": "dropout", "p": 0.2},
            {"type": "linear", "out": 10}],
 "optimizer": {"type": "adam", "lr": 0.001}, "epochs": 1,
 "search": {"optimizer.lr": {"log_uniform": [1e-4, 1e-1]},
            "layers[2].p": {"uniform": [0, 0.5]},
            "batch_size": {"choice": [64, 128, 256]}}}
JSON

"$myelin" tune search.json --trials 5 --fine 2 --top 2 --out tune "${small[@]}" >tune.out 2>&1
code=$?
cat tune.out
check "tune exits 0 (got $code)" test "$code" -eq 0
check "a table of the 7 trials" test "$(($(wc -l <tune/trials.csv) - 1))" -eq 7
check "ranked best first, within the ranges, round 2 within the narrowed ones" "$python" - <<'PY'
import csv, json, math
rows = list(csv.DictReader(open("tune/trials.csv")))
losses = [float(r["dev_loss"]) for r in rows]
assert losses == sorted(losses), losses
state = json.load(open("tune/tune.json"))
fine = state["fine_search"]
for r in rows:
    lr, p, b = float(r["optimizer.lr"]), float(r["layers[2].p"]), int(r["batch_size"])
    assert 1e-4 <= lr <= 1e-1 and 0 <= p <= 0.5 and b in (64, 128, 256), r
    if r["round"] == "2":
        lo, hi = fine["optimizer.lr"]["log_uniform"]
        assert lo <= lr <= hi and b in fine["batch_size"]["choice"], (r, fine)
# The narrowed range surrounds the two best of round 1.
first = sorted((r for r in rows if r["round"] == "1"), key=lambda r: float(r["dev_loss"]))[:2]
lo, hi = fine["optimizer.lr"]["log_uniform"]
assert all(lo <= float(r["optimizer.lr"]) <= hi for r in first)
assert hi / lo < 1e3, (lo, hi)  # narrower than the first round's 1e3
PY
check "the best spec has no search" not grep -q '"search"' tune/best_spec.json
check "the best spec is the best trial's" \
  cmp tune/best_spec.json "tune/trials/$(sed -n '2p' tune/trials.csv | cut -d, -f2).json"
"$myelin" train --spec tune/best_spec.json --out best_run >best_run.out 2>&1
check "the best spec trains as it is" test $? -eq 0
check "its trial's dev loss comes back" "$python" - <<'PY'
import csv
best = list(csv.DictReader(open("tune/trials.csv")))[0]
rows = list(csv.DictReader(open("best_run/metrics.csv")))
assert abs(float(rows[-1]["dev_loss"]) - float(best["dev_loss"])) < 1e-5, (rows[-1], best)
PY
check "every trial's log is kept" test "$(ls tune/trials/*.log | wc -l)" -eq 7
check "trials never read the test set" not grep -q "t10k" tune/trials/000.log

# --- the same seed draws the same trials; a killed search resumes to the same table ----------
# Twelve epochs a trial, so that the kill lands inside one, after its first checkpoint: an epoch
# of 1,500 rows takes about 0.1 s in a release build, so the window is a second or more.
long=(--limit "$(scaled_rows 2000)" --dev-size "$(scaled_rows 500)" --epochs 12)
"$myelin" tune search.json --trials 4 --out whole "${long[@]}" >whole.out 2>&1
check "an uninterrupted search of 4" test $? -eq 0
setsid "$myelin" tune search.json --trials 4 --out killed "${long[@]}" >killed.out 2>&1 &
pid=$!
# Polled with grep, not python, so that a look takes milliseconds (tune.json has a
# "status" line per trial).
done_count=0
for _ in $(seq 6000); do  # until two trials are done and the third has a checkpoint
  done_count=$(grep -c '"status": "done"' killed/tune.json 2>/dev/null)
  [ "${done_count:-0}" -ge 2 ] && [ -e killed/trials/002/checkpoint ] && break
  sleep 0.01
done
kill -9 -- -"$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check "killed inside the third trial (done: $done_count)" test "$done_count" -eq 2
sums_before=$(md5sum killed/trials/000.log killed/trials/001.log)
"$myelin" tune --resume killed >resumed.out 2>&1
code=$?
cat resumed.out
check "the resumed search finishes (exit $code)" test "$code" -eq 0
check "finished trials are not trained again" test "$(md5sum killed/trials/000.log killed/trials/001.log)" = "$sums_before"
check "the killed trial continued from its checkpoint" grep -q "resuming at epoch" killed/trials/002.log
check "the table equals the uninterrupted one" cmp whole/trials.csv killed/trials.csv

# --- the median stopping rule ends bad trials early ---------------------------------------------
cat >prune.json <<'JSON'
{"layers": [{"type": "linear", "out": 64}, {"type": "relu"}, {"type": "linear", "out": 10}],
 "optimizer": {"type": "adam", "lr": 0.001}, "epochs": 4,
 "search": {"optimizer.lr": {"log_uniform": [1e-6, 1e-1]}}}
JSON
"$myelin" tune prune.json --trials 8 --out prune --limit "$(scaled_rows 2000)" \
  --dev-size "$(scaled_rows 500)" --prune median \
  >prune.out 2>&1
code=$?
cat prune.out
check "a pruning search exits 0 (got $code)" test "$code" -eq 0
check "pruned trials stopped early, each worse than the median of those before it" "$python" - <<'PY'
import csv, json, statistics
results = json.load(open("prune/tune.json"))["results"]
def dev(t):
    return [float(r["dev_loss"]) for r in csv.DictReader(open(f"prune/trials/{t:03d}/metrics.csv"))]
pruned = [r for r in results if r["status"] == "pruned"]
assert pruned, "no trial was pruned"
for r in results:
    t, losses = r["trial"], dev(r["trial"])
    if r["status"] == "done":
        assert len(losses) == 4, (t, losses)
        continue
    assert r["status"] == "pruned" and len(losses) < 4, (t, r["status"], losses)
    before = [dev(o["trial"]) for o in results[:t] if o["status"] in ("done", "pruned")]
    # The rule held at some epoch it logged (the signal may land an epoch after the decision).
    assert any(
        len([b for b in before if len(b) > k]) >= 3
        and min(losses[: k + 1]) > statistics.median(b[k] for b in before if len(b) > k)
        for k in range(len(losses))), (t, losses, before)
PY

# --- what tune refuses -------------------------------------------------------------------------
refuses() {  # refuses NAME CODE TEXT COMMAND...
  local name=$1 code=$2 text=$3
  shift 3
  "$@" >"$name.out" 2>&1
  local got=$?
  check "$name: exit $code (got $got)" test "$got" -eq "$code"
  check "$name: says $text" grep -qF -- "$text" "$name.out"
}
echo '{"search": {"optimizer.momentum": {"uniform": [0, 1]}}}' >bad_path.json
refuses bad_path 2 "search.optimizer.momentum: 'optimizer.momentum' is not a field of this spec" \
  "$myelin" tune bad_path.json --trials 2 --out bad_path
echo '{"search": {"optimizer.lr": {"log_uniform": [0, 1]}}}' >bad_range.json
refuses bad_range 2 "log_uniform: the range must be positive" \
  "$myelin" tune bad_range.json --trials 2 --out bad_range
echo '{"search": {"layers[3].p": {"uniform": [0, 2]}}}' >bad_value.json
refuses bad_value 2 "makes an invalid spec: bad_value.json: layers[3].p: expected a number in [0, 1)" "$myelin" tune bad_value.json --trials 2 --out bad_value
refuses no_search 2 'has no "search"' "$myelin" tune tune/best_spec.json --trials 2 --out no_search
refuses train_search 2 "search: is for myelin tune" "$myelin" train --spec search.json --out x
refuses taken 2 "exists and is not empty" "$myelin" tune search.json --trials 2 --out tune
refuses bad_prune 2 "--prune takes median or off" \
  "$myelin" tune search.json --trials 2 --out bad_prune --prune mean

cli_finish
