#!/usr/bin/env bash
# The myelin tool on a CUDA device (a real GPU, or the emulated device): a run stopped mid-epoch
# and resumed equals the uninterrupted run bit for bit; SGD with momentum on a model without a
# bias before batch norm ends with the CPU's weights within the op tolerances; the default model
# (Adam) reaches the CPU's dev accuracy within half a point.
#   cli_gpu_test.sh MYELIN_BINARY COMPARE_CHECKPOINTS_BINARY WORK_DIR
set -uo pipefail
myelin=$1
compare=$2
work=$3
if ! "$myelin" info | grep -q '^  cuda:0'; then
  echo "no usable CUDA device"
  [ -n "${MYELIN_REQUIRE_GPU:-}" ] && exit 1
  exit 77  # skipped (ctest: SKIP_RETURN_CODE)
fi
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cli_start "$work"

# --- a run stopped mid-epoch on the device and resumed equals the uninterrupted run -------------
# Batch norm, dropout and Adam; 2,500 training rows in batches of 100: 25 updates per epoch; stop
# after 30 (epoch 2, batch 5).
printf '%s' '{"layers": [{"type": "linear", "out": 64}, {"type": "batch_norm"}, {"type": "relu"},
  {"type": "dropout", "p": 0.3}, {"type": "linear", "out": 10}], "batch_size": 100,
  "data": {"limit": 3000, "dev_size": 500}, "epochs": 2}' >resume.json
"$myelin" train --spec resume.json --device cuda --out whole >whole.log 2>&1
check "uninterrupted run on the device" test $? -eq 0
check "it ran on the device" grep -q "training on cuda:0" whole.log
"$myelin" train --spec resume.json --device cuda --out parts --stop-after 30 >parts1.log 2>&1
check "stopped run exits 0" test $? -eq 0
check "stopped mid-epoch" grep -q "stopped at epoch 2, batch 5" parts1.log
"$myelin" train --resume parts >parts2.log 2>&1
check "resumed run" test $? -eq 0
check "resumed on the device" grep -q "training on cuda:0" parts2.log
check "same final weights, bit for bit" \
  test "$(checkpoint_contents whole/model.safetensors)" = "$(checkpoint_contents parts/model.safetensors)"
check "same optimizer state, bit for bit" cmp -s whole/optimizer.safetensors parts/optimizer.safetensors

# --- the device and the CPU train the same weights ----------------------------------------------
# One epoch of SGD with momentum, no bias before batch norm (whose true gradient is 0, so its
# float32 gradient is rounding noise that would amplify differences): 3,000 rows, 30 updates.
printf '%s' '{"layers": [{"type": "linear", "out": 128, "bias": false}, {"type": "batch_norm"},
  {"type": "relu"}, {"type": "linear", "out": 10}], "optimizer": {"type": "momentum", "lr": 0.05,
  "momentum": 0.9}, "batch_size": 100, "data": {"limit": 4000, "dev_size": 1000},
  "epochs": 1}' >sgd.json
"$myelin" train --spec sgd.json --device cpu --out sgd-cpu >sgd-cpu.log 2>&1
check "SGD run on the CPU" test $? -eq 0
"$myelin" train --spec sgd.json --device cuda --out sgd-cuda >sgd-cuda.log 2>&1
check "SGD run on the device" test $? -eq 0
# Within the op tolerances: 1e-5 (linear, batch norm) of each tensor's scale.
"$compare" sgd-cpu/model.safetensors sgd-cuda/model.safetensors 1e-5 >sgd-compare.log 2>&1
check "device and CPU weights agree" test $? -eq 0
cat sgd-compare.log

# --- the default model (Adam) on the device and the CPU ------------------------------------------
"$myelin" train --device cpu --limit 7000 --epochs 1 --out default-cpu >default-cpu.log 2>&1
check "default model on the CPU" test $? -eq 0
"$myelin" train --device cuda --limit 7000 --epochs 1 --out default-cuda >default-cuda.log 2>&1
check "default model on the device" test $? -eq 0
cpu_acc=$(tail -1 default-cpu/metrics.csv | cut -d, -f5)
cuda_acc=$(tail -1 default-cuda/metrics.csv | cut -d, -f5)
echo "dev accuracy: cpu $cpu_acc, device $cuda_acc"
check "dev accuracy within half a point" awk -v a="$cpu_acc" -v b="$cuda_acc" \
  'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= 0.005) }'

cli_finish
