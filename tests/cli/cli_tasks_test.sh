#!/usr/bin/env bash
# End-to-end tests of the tool's tasks on data derived from Fashion-MNIST (derive_data.py):
# multi-label with missing labels (.npy with NaN, CSV with empty cells), regression from CSV,
# predictions that agree with eval, and the command line's edges (schedule horizon, SGD momentum,
# unused spec fields, --limit, --help, epoch numbering, eval's baseline).
#   cli_tasks_test.sh MYELIN_BINARY WORK_DIR
set -uo pipefail
myelin=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
cli_start "$work"
python=/usr/bin/python3  # Debian's, with python3-numpy

"$python" "$here/derive_data.py" . || { echo "FAILED: derive_data.py"; exit 1; }

# The value of "test NAME X" in an eval report.
metric() { sed -n "s/^test $1 //p" "$2"; }
refuses() {  # refuses NAME CODE TEXT COMMAND...
  local name=$1 code=$2 text=$3
  shift 3
  "$@" >"$name.out" 2>"$name.err"
  local got=$?
  check "$name: exit $code (got $got)" test "$got" -eq "$code"
  check "$name: names the problem ($text)" grep -qF -- "$text" "$name.err"
  cat "$name.err"
}
at_least() { "$python" -c "import sys; sys.exit(0 if float('$1') >= float('$2') else 1)"; }

# --- multi-label with ~20% of the labels missing ----------------------------------------------
layers='[{"type": "linear", "out": 128}, {"type": "relu"}, {"type": "linear", "out": 4}]'
cat >ml_npy.json <<JSON
{"task": "multi_label", "layers": $layers, "epochs": 4, "batch_size": 64,
 "data": {"format": "npy", "train_features": "ml_train_x.npy", "train_labels": "ml_train_y.npy",
          "test_features": "ml_test_x.npy", "test_labels": "ml_test_y.npy", "dev_size": 1000}}
JSON
cat >ml_csv.json <<JSON
{"task": "multi_label", "layers": $layers, "epochs": 4, "batch_size": 64,
 "data": {"format": "csv", "train_csv": "ml_train.csv", "test_csv": "ml_test.csv",
          "label_columns": ["footwear", "top", "legs", "bright"], "dev_size": 1000}}
JSON
for kind in npy csv; do
  "$myelin" train --spec ml_$kind.json --out ml_$kind >ml_$kind.log 2>&1
  check "multi-label ($kind): trains" test $? -eq 0
  check "multi-label ($kind): loss is finite" not grep -qi "nan" ml_$kind/metrics.csv
  "$myelin" eval ml_$kind >ml_$kind.eval 2>&1
  check "multi-label ($kind): eval" test $? -eq 0
  auc=$(metric macro_auc ml_$kind.eval)
  check "multi-label ($kind): macro ROC AUC $auc >= 0.95" at_least "$auc" 0.95
  # Missing labels are not counted: about 80% of 2,000 rows per label are observed.
  observed=$(awk '$1 == "macro" {print $7}' ml_$kind.eval)
  check "multi-label ($kind): $observed observed labels, of 8000" \
    "$python" -c "import sys; sys.exit(0 if 6000 < $observed < 7000 else 1)"
  check "multi-label ($kind): metrics.csv has the task's columns" \
    grep -q "^epoch,train_loss,train_macro_auc,train_macro_f1,dev_loss" ml_$kind/metrics.csv
done
check "multi-label (csv): labels named by the header" grep -q "^footwear " ml_csv.eval
cat ml_csv.eval

# --- regression from CSV: the targets are functions of the features ---------------------------
cat >reg.json <<JSON
{"task": "regression",
 "layers": [{"type": "linear", "out": 128}, {"type": "relu"}, {"type": "linear", "out": 2}],
 "epochs": 20, "batch_size": 64,
 "data": {"format": "csv", "train_csv": "reg_train.csv", "test_csv": "reg_test.csv",
          "label_columns": ["ink", "upper"], "dev_size": 1000}}
JSON
"$myelin" train --spec reg.json --out reg >reg.log 2>&1
check "regression: trains" test $? -eq 0
"$myelin" eval reg >reg.eval 2>&1
check "regression: eval" test $? -eq 0
# R^2 is 1 - MSE / (the mean predictor's MSE): 0.9 means a tenth of the baseline's error.
r2=$(metric r2 reg.eval)
check "regression: R^2 $r2 >= 0.9 (the mean predictor has 0)" at_least "$r2" 0.9
check "regression: per-target errors" grep -q "^upper " reg.eval
cat reg.eval

# --- data mismatch: dev and test from another distribution (inverted images) -------------------
cat >mismatch.json <<'JSON'
{"layers": [{"type": "linear", "out": 128}, {"type": "relu"}, {"type": "linear", "out": 10}],
 "epochs": 3, "batch_size": 64,
 "data": {"format": "npy", "train_features": "ml_train_x.npy", "train_labels": "cls_train_y.npy",
          "dev_features": "inv_dev_x.npy", "dev_labels": "inv_dev_y.npy",
          "test_features": "inv_test_x.npy", "test_labels": "inv_test_y.npy",
          "train_dev_size": 1000}}
JSON
"$myelin" train --spec mismatch.json --out mismatch >mismatch.log 2>&1
check "mismatch: trains" test $? -eq 0
check "mismatch: the dev set is its own file, train-dev carved" \
  grep -q "7000 training rows, 1000 train-dev rows, 1000 dev rows" mismatch.log
check "mismatch: metrics.csv logs train-dev" grep -q "^epoch,train_loss,train_accuracy,train_dev_loss,train_dev_accuracy,dev_loss" mismatch/metrics.csv
"$myelin" eval mismatch --baseline-error 0.05 >mismatch.eval 2>&1
check "mismatch: eval" test $? -eq 0
for rung in baseline train train-dev dev test; do
  check "mismatch: the ladder has $rung" grep -q "^  $rung " mismatch.eval
done
gap() { awk -v g="$1" '$0 ~ g {print $NF}' mismatch.eval | head -1; }
check "mismatch: the data mismatch gap $(gap 'data mismatch') > 0.3" at_least "$(gap 'data mismatch')" 0.3
check "mismatch: attack the data mismatch first" grep -q "advice: the data mismatch is the largest gap" mismatch.eval
sed -n '/error ladder/,/advice/p' mismatch.eval
refuses dev_size_and_files 2 "dev_size (rows carved from the training file) must be 0 or left out" \
  "$myelin" train --spec mismatch.json --out out-dev --dev-size 500

# --- predictions ---------------------------------------------------------------------------------
"$myelin" predict reg --input reg_test.csv --out reg_pred.npy >pred.log 2>&1
check "predict (regression, CSV with its target columns)" test $? -eq 0
check "predict (regression): the R^2 of eval" "$python" - "$r2" <<'PY'
import sys
import numpy as np
rows = np.genfromtxt("reg_test.csv", delimiter=",", skip_header=1)
pred, y = np.load("reg_pred.npy"), rows[:, -2:]
r2 = np.mean(1 - ((pred - y) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0))
print("R^2 of the predictions", r2)
sys.exit(0 if abs(r2 - float(sys.argv[1])) < 1e-4 else 1)
PY
"$myelin" predict ml_npy --input ml_test_x.npy --out ml_prob.npy >>pred.log 2>&1
check "predict (multi-label): probabilities" "$python" -c "
import numpy as np; p = np.load('ml_prob.npy'); assert p.shape == (2000, 4) and (p >= 0).all() and (p <= 1).all()"

# The default model on a few thousand rows (a quarter of them on the device: see lib.sh).
printf '{"data": {"limit": %d, "dev_size": %d}, "epochs": 1}' "$(scaled_rows 6000)" "$(scaled_rows 1000)" >small.json
"$myelin" train --spec small.json --out cls >cls.log 2>&1
check "classifier trains" test $? -eq 0
"$myelin" eval cls >cls.eval 2>&1
fashion=/usr/share/datasets/fashion-mnist
"$myelin" predict cls --input $fashion/t10k-images-idx3-ubyte.gz --out classes.npy >>pred.log 2>&1
check "predict (classes of the IDX test set)" test $? -eq 0
check "predict: the test accuracy of eval" "$python" - "$(metric accuracy cls.eval)" <<'PY'
import gzip, sys
import numpy as np
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz") as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8)
accuracy = (np.load("classes.npy") == labels).mean()
print("accuracy of the predictions", accuracy)
sys.exit(0 if abs(accuracy - float(sys.argv[1])) < 1e-4 else 1)
PY
"$myelin" predict cls --input $fashion/t10k-images-idx3-ubyte.gz --out probs.npy --output probabilities >>pred.log 2>&1
check "predict: probabilities sum to 1" "$python" -c "
import numpy as np; p = np.load('probs.npy'); assert p.shape == (10000, 10) and np.allclose(p.sum(1), 1, atol=1e-5)"
cat pred.log

# --- transfer learning: a new 3-class head on a frozen body trained on other classes -----------
cat >base.json <<'JSON'
{"layers": [{"type": "linear", "out": 128}, {"type": "batch_norm"}, {"type": "relu"},
            {"type": "linear", "out": 5}],
 "epochs": 3, "batch_size": 64,
 "data": {"format": "npy", "train_features": "base_train_x.npy", "train_labels": "base_train_y.npy",
          "test_features": "base_test_x.npy", "test_labels": "base_test_y.npy", "dev_size": 500}}
JSON
sed 's/"out": 5}/"out": 3}/; s/base_/new_/g; s/"epochs": 3/"epochs": 8, "optimizer": {"type": "adam", "lr": 0.01}/' \
  base.json >new.json
"$myelin" train --spec base.json --out base >base.log 2>&1
check "transfer: the base model trains" test $? -eq 0
"$myelin" train --spec new.json --out transfer --init base/model.safetensors --reinit 3 --freeze 0,1 >transfer.log 2>&1
check "transfer: trains" test $? -eq 0
check "transfer: lists what it loaded" \
  grep -q "loaded 7 tensors: 0.weight 0.bias 1.weight 1.bias 1.running_mean 1.running_var 1.num_batches_tracked" transfer.log
check "transfer: the new head starts fresh" grep -q "3.weight starts from the spec's initialiser (layer 3 starts fresh)" transfer.log
check "transfer: the checkpoint's normalisation" grep -q "normalisation: the checkpoint's" transfer.log
check "transfer: the summary counts trainable and frozen parameters" \
  grep -q "101123 parameters: 387 trainable, 100736 frozen" transfer.log
body() { checkpoint_contents "$1" | grep '^[01]\.'; }
check "transfer: frozen tensors and statistics bit-identical" test "$(body base/model.safetensors)" = "$(body transfer/model.safetensors)"
check "transfer: the frozen body is all there" test "$(body transfer/model.safetensors | wc -l)" -eq 7
check "transfer: spec.json keeps what is frozen" grep -q '"freeze": \[' transfer/spec.json
"$myelin" eval transfer >transfer.eval 2>&1
accuracy=$(metric accuracy transfer.eval)
# The head trained: an untrained one would be right a third of the time.
check "transfer: test accuracy $accuracy >= 0.85 on the new classes" at_least "$accuracy" 0.85
"$myelin" inspect transfer/model.safetensors >inspect.out 2>&1
check "inspect shows the model summary" grep -q "frozen, eval mode (running statistics kept)" inspect.out
# Without --reinit the head of another shape starts fresh too, and says why.
"$myelin" train --spec new.json --out transfer2 --init base/model.safetensors --freeze 0,1 \
  --frozen-batch-norm train --epochs 1 >transfer2.log 2>&1
check "transfer: a head of another shape starts fresh" \
  grep -q "3.weight starts from the spec's initialiser (float32 \[5, 128\] in the file, float32 \[3, 128\] in the model)" transfer2.log
check "transfer: --frozen-batch-norm train updates the statistics" \
  not grep -q "$(checkpoint_contents base/model.safetensors | grep '^1.running_mean')" <("$myelin" inspect transfer2/model.safetensors)
# A checkpoint without metadata (as PyTorch writes them) gets normalisation fitted here.
"$python" - base/model.safetensors plain.safetensors <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
header.pop("__metadata__")
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + data[8 + n:])
PY
"$myelin" eval base >base.eval 2>&1
"$myelin" eval base --checkpoint plain.safetensors >plain.eval 2>&1
check "eval of a checkpoint without normalisation" test $? -eq 0
check "eval: normalisation fitted, with a message" grep -q "fitted on the training split" plain.eval
check "eval: the same accuracy as with the run's own statistics" \
  test "$(metric accuracy plain.eval)" = "$(metric accuracy base.eval)"
"$myelin" train --spec new.json --out transfer3 --init plain.safetensors --reinit 3 --freeze 0,1 --epochs 1 >transfer3.log 2>&1
check "transfer: a checkpoint without normalisation" test $? -eq 0
check "transfer: normalisation fitted, with a message" grep -q "plain.safetensors has none (a checkpoint written by PyTorch?), so it is fitted on this training split" transfer3.log
"$myelin" train --spec new.json --out transfer4 --init base/model.safetensors --reinit 3 --refit-normalization on --epochs 1 >transfer4.log 2>&1
check "transfer: --refit-normalization on" grep -q "refitted on this training split" transfer4.log
refuses nothing_trainable 2 "every layer with parameters is frozen, so nothing would train" \
  "$myelin" train --spec new.json --out out-frozen --init base/model.safetensors --freeze 0,1,3
refuses freeze_relu 2 "freeze: layer 2 (relu) has no parameters to freeze" \
  "$myelin" train --spec new.json --out out-relu --freeze 2
refuses reinit_alone 2 "--reinit and --refit-normalization go with --init" \
  "$myelin" train --spec new.json --out out-reinit --reinit 3
"$python" -c "
import json, struct
text = json.dumps({'w': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}).encode()
text += b' ' * (-len(text) % 8)
open('other.safetensors', 'wb').write(struct.pack('<Q', len(text)) + text + struct.pack('<f', 1.0))"
refuses init_nothing 1 "no tensor matches the model's by name, shape and type" \
  "$myelin" train --spec new.json --out out-nothing --init other.safetensors
refuses resume_freeze 2 "--freeze starts a run: a resumed run keeps its own" \
  "$myelin" train --resume transfer --freeze 0

# --- bad input of the tasks: exit 2 or 1, one line naming the problem ------------------------
sed 's/"out": 4}]/"out": 3}]/' ml_npy.json >width.json
refuses width 2 "the last layer has 3 outputs, but the data has 4 labels per row" \
  "$myelin" train --spec width.json --out out-width
sed 's/"multi_label"/"classification"/' ml_npy.json >cls_on_ml.json
refuses labels_2d 1 "expected one class index per row, got shape [8000, 4]" \
  "$myelin" train --spec cls_on_ml.json --out out-labels_2d
sed 's/"multi_label"/"regression"/' ml_csv.json >reg_missing.json
refuses reg_missing 1 "(a label) is empty or NaN: only multi_label labels may be missing" \
  "$myelin" train --spec reg_missing.json --out out-reg_missing
sed 's/"footwear", //; s/"out": 4}]/"out": 3}]/; s/"legs"/"leggs"/' ml_csv.json >column.json
refuses column_name 1 "no column is named 'leggs' (did you mean 'legs'?)" \
  "$myelin" train --spec column.json --out out-column
"$python" -c "
import numpy as np; y = np.load('ml_train_y.npy'); y[3, 2] = 2; np.save('bad_y.npy', y)"
sed 's/ml_train_y.npy/bad_y.npy/' ml_npy.json >bad_y.json
refuses binary 1 "bad_y.npy: row 3, label 2: 2 is not 0, 1 or NaN" \
  "$myelin" train --spec bad_y.json --out out-binary
refuses predict_output 2 "a regression model writes values" \
  "$myelin" predict reg --input reg_test.csv --out x.npy --output classes
refuses predict_width 1 "has 784 features per row; the model takes 196" \
  "$myelin" predict reg --input ml_test_x.npy --out x.npy

# --- the command line's edges --------------------------------------------------------------------
# --epochs sets the horizon of a schedule that follows the run's length: the cosine reaches 0.
"$myelin" train --spec small.json --out horizon --epochs 2 >horizon.log 2>&1
check "--epochs 2: trains" test $? -eq 0
check "--epochs 2: the cosine schedule's horizon is 2 epochs" grep -q '"epochs": 2' horizon/spec.json
# Epoch 2 of 2 runs at half the lr (the cosine at its midpoint); over 20 epochs it would be 0.00099.
check "--epochs 2: the second epoch's lr is half" test "$(tail -1 horizon/metrics.csv | cut -d, -f6)" = 0.0005
# Extending a finished run keeps its schedule, and says what the extra epochs get.
"$myelin" train --resume horizon --epochs 3 >extend.log 2>&1
check "extending a finished run" test $? -eq 0
check "extending says what schedule the extra epochs get" \
  grep -q "extended from 2 to 3 epochs; the cosine schedule's horizon stays 2 epochs, so epochs past it run at its floor" extend.log
check "the replayed schedule is unchanged: epoch 2 still at half the lr" \
  test "$(sed -n 3p horizon/metrics.csv | cut -d, -f6)" = 0.0005
check "the extra epoch runs at the floor" test "$(sed -n 4p horizon/metrics.csv | cut -d, -f6)" = 0
# A schedule with its own horizon keeps it.
printf '{"data": {"limit": %d, "dev_size": %d}, "epochs": 1, "schedule": {"type": "cosine", "epochs": 7}}' \
  "$(scaled_rows 6000)" "$(scaled_rows 1000)" >own.json
"$myelin" train --spec own.json --out own --epochs 2 >/dev/null 2>&1
check "--epochs 2: a spec's own horizon stays" grep -q '"epochs": 7' own/spec.json

# sgd with momentum is torch.optim.SGD(momentum=...): the momentum rule, not plain SGD.
sgd_run() {  # sgd_run NAME OPTIMIZER_JSON
  printf '{"data": {"limit": %d, "dev_size": %d}, "epochs": 1, "optimizer": %s}' "$(scaled_rows 3000)" \
    "$(scaled_rows 500)" "$2" >"$1.json"
  "$myelin" train --spec "$1.json" --out "$1" >"$1.log" 2>&1
  check "$1: trains" test $? -eq 0
}
sgd_run sgd0 '{"type": "sgd", "lr": 0.01}'
sgd_run sgd9 '{"type": "sgd", "lr": 0.01, "momentum": 0.9}'
sgd_run mom9 '{"type": "momentum", "lr": 0.01, "momentum": 0.9}'
check "sgd momentum 0.9 changes the run" not cmp -s sgd0/metrics.csv sgd9/metrics.csv
check "sgd momentum 0.9 is the momentum rule" \
  test "$(checkpoint_contents sgd9/model.safetensors | grep -v '^#')" = "$(checkpoint_contents mom9/model.safetensors | grep -v '^#')"

bad_field() {  # bad_field NAME JSON TEXT
  printf '%s' "$2" >"$1.json"
  refuses "$1" 2 "$3" "$myelin" train --spec "$1.json" --out "out-$1"
  check "$1: nothing written" test ! -e "out-$1"
}
bad_field adam_alpha '{"optimizer": {"type": "adam", "alpha": 0.9}}' \
  "optimizer.alpha: adam does not use alpha (its fields: type, lr, beta1, beta2, eps, amsgrad, l2, weight_decay)"
bad_field sgd_beta '{"optimizer": {"type": "sgd", "beta1": 0.9}}' "optimizer.beta1: sgd does not use beta1"
bad_field step_min '{"schedule": {"type": "step", "min_factor": 0.1}}' "schedule.min_factor: step does not use min_factor"
bad_field idx_csv '{"data": {"format": "idx", "train_csv": "a.csv"}}' "data.train_csv: the idx format does not use train_csv"
bad_field two_labels '{"data": {"format": "csv", "train_csv": "a.csv", "label_column": 0, "label_columns": [1]}}' \
  "give label_column (one column) or label_columns, not both"

# --limit counts rows before the dev split, and says how to make room for training rows.
refuses limit 1 "--dev-size" "$myelin" train --out out-limit --limit 4000
limit=$(scaled_rows 4000)
dev=$(scaled_rows 800)
"$myelin" train --out limited --limit $limit --dev-size $dev --epochs 1 >limited.log 2>&1
check "--limit $limit --dev-size $dev trains" test $? -eq 0
check "--limit $limit --dev-size $dev: $((limit - dev)) training rows" \
  grep -q "$((limit - dev)) training rows, $dev dev rows" limited.log

# Per-command help: exit 0, the command's options.
for command in train eval predict gradcheck inspect spirals info; do
  "$myelin" $command --help >help.out 2>&1
  check "$command --help: exit 0" test $? -eq 0
  check "$command --help: usage" grep -q "usage: myelin $command" help.out
done
check "train --help lists --dev-size" bash -c "\"$myelin\" train --help | grep -q -- --dev-size"

# One epoch numbering: steps.jsonl and metrics.csv both count from 1.
check "steps.jsonl counts epochs from 1" grep -q '"epoch": 1,' cls/steps.jsonl
check "steps.jsonl has no epoch 0" not grep -q '"epoch": 0,' cls/steps.jsonl
check "metrics.csv counts epochs from 1" test "$(sed -n 2p cls/metrics.csv | cut -d, -f1)" = 1
# The progress lines show the epoch's running mean loss, not one update's.
check "progress shows the epoch's running mean loss" "$python" - <<'PY'
import json, re, sys
losses = [json.loads(line)["loss"] for line in open("cls/steps.jsonl")]
lines = re.findall(r"^epoch 1/1 step (\d+)/\d+ loss ([0-9.]+)", open("cls.log").read(), re.M)
assert lines, "no progress lines"
for step, shown in lines:
    # Every update before the last has a full batch of 128 rows: the mean is a plain mean.
    mean = sum(losses[:int(step)]) / int(step)
    print(f"step {step}: shown {shown}, mean of the epoch so far {mean:.4f}, this update {losses[int(step) - 1]:.4f}")
    if abs(float(shown) - mean) > 6e-5:
        sys.exit(1)
PY

# eval's advice names its baseline.
check "eval without a baseline says it assumes 0" grep -q "assuming a baseline error of 0" cls.eval
"$myelin" eval cls --baseline-error 0.05 >cls_baseline.eval 2>&1
check "eval with a baseline uses it" grep -q "baseline 0.0500" cls_baseline.eval
check "eval with a baseline assumes nothing" not grep -q "assuming" cls_baseline.eval

cli_finish
