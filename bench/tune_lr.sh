#!/usr/bin/env bash
# Random search against a dense grid, for the learning rate: myelin tune with 12 trials of
# optimizer.lr drawn log-uniformly from [1e-5, 1], against 25 runs on a log grid over the same
# range (a factor of 1.6 apart), every run with the same budget: the default model, Adam, 2
# epochs on 10,000 Fashion-MNIST training rows (2,000 of them the dev split), ranked by dev loss.
# Passes when the search's best learning rate is within a factor of 3 of the grid's best. The
# test set is never read. The log goes to bench/results/tune-lr-DATE.log.
#   bench/tune_lr.sh [MYELIN_BINARY]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
myelin=${1:-$root/build/release/tools/myelin}
python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$root/bench/results/tune-lr-$(date +%F).log
budget=(--limit 10000 --dev-size 2000)
cd "$work"
{
  echo "# myelin tune (12 random trials) against a 25-point log grid of optimizer.lr in [1e-5, 1]"
  echo "# $(date -u +%FT%TZ), $("$myelin" info | head -1), budget: ${budget[*]} --epochs 2"
  echo '{"epochs": 2, "search": {"optimizer.lr": {"log_uniform": [1e-5, 1]}}}' >search.json
  start=$SECONDS
  "$myelin" tune search.json --trials 12 --out tune "${budget[@]}" --epochs 2
  echo "# the search took $((SECONDS - start)) s"
  start=$SECONDS
  echo "lr,dev_loss" >grid.csv
  for lr in $("$python" -c "print(' '.join('%.6g' % 10 ** (-5 + 5 * k / 24) for k in range(25)))"); do
    echo "{\"epochs\": 2, \"optimizer\": {\"type\": \"adam\", \"lr\": $lr}}" >grid-$lr.json
    if "$myelin" train --spec grid-$lr.json --out grid-$lr "${budget[@]}" >grid-$lr.log 2>&1; then
      loss=$("$python" -c "
import csv; print(min(float(r['dev_loss']) for r in csv.DictReader(open('grid-$lr/metrics.csv'))))")
    else
      loss=nan
    fi
    echo "$lr,$loss" | tee -a grid.csv
  done
  echo "# the grid took $((SECONDS - start)) s"
  "$python" - <<'PY'
import csv, math
grid = [(float(r["lr"]), float(r["dev_loss"])) for r in csv.DictReader(open("grid.csv"))]
grid = [g for g in grid if math.isfinite(g[1])]
grid_lr, grid_loss = min(grid, key=lambda g: g[1])
best = next(csv.DictReader(open("tune/trials.csv")))
tune_lr, tune_loss = float(best["optimizer.lr"]), float(best["dev_loss"])
ratio = max(tune_lr / grid_lr, grid_lr / tune_lr)
print(f"grid best: lr {grid_lr:.4g}, dev loss {grid_loss:.4f} (25 runs)")
print(f"tune best: lr {tune_lr:.4g}, dev loss {tune_loss:.4f} (12 trials)")
print(f"the learning rates differ by a factor of {ratio:.2f}: "
      + ("PASS (within 3)" if ratio <= 3 else "FAIL (more than 3)"))
raise SystemExit(0 if ratio <= 3 else 1)
PY
} 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
