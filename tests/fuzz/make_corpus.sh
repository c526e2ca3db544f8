#!/usr/bin/env bash
# Writes the fuzzers' seed corpora (tests/fuzz/corpus/<reader>/) from real files: checkpoints and
# specs written by the myelin tool, the first rows of Fashion-MNIST's IDX files, CSV data, and
# .npy files in NumPy's own layout. Run once after a format changes; the output is committed.
#   tests/fuzz/make_corpus.sh MYELIN_BINARY
set -euo pipefail
myelin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$corpus"
mkdir -p "$corpus"/{safetensors,npy,idx,csv,spec,optimizer_state}
cd "$work"

# CSV: 3 features and 2 classes (the optimizer fuzzer's parameters: 0.weight [2, 3], 0.bias [2]).
awk 'BEGIN { srand(7); print "a,b,c,label"; for (i = 0; i < 40; ++i) {
  c = i % 2; printf "%.4f,%.4f,%.4f,%d\n", rand() + c, rand() - c, rand(), c } }' >data.csv
cp data.csv "$corpus/csv/header.csv"
tail -n 5 data.csv >"$corpus/csv/no_header.csv"
printf '1e-3,-2.5E+2,0\n.5,7,-0\n' >"$corpus/csv/exponents.csv"

# Specs: what `myelin train` writes to spec.json (every field spelled out), and short ones.
printf '{"layers": [{"type": "linear", "out": 2}], "epochs": 1, "batch_size": 8,
  "optimizer": {"type": "adam", "lr": 0.01},
  "data": {"format": "csv", "train_csv": "data.csv", "dev_size": 8}}' >linear.json
"$myelin" train --spec linear.json --out linear >/dev/null
cp linear/spec.json "$corpus/spec/linear_written.json"
cp linear.json "$corpus/spec/linear.json"
cp linear/model.safetensors "$corpus/safetensors/linear_model.safetensors"
cp linear/optimizer.safetensors "$corpus/optimizer_state/adam.safetensors"
cp linear/optimizer.safetensors "$corpus/safetensors/adam_state.safetensors"
printf '{"layers": [{"type": "linear", "out": 6}, {"type": "batch_norm", "momentum": 0.1},
  {"type": "leaky_relu", "negative_slope": 0.02}, {"type": "dropout", "p": 0.3},
  {"type": "linear", "out": 2, "init": "xavier_uniform"}], "epochs": 2, "batch_size": 8,
  "seed": 18446744073709551615, "optimizer": {"type": "adamw", "lr": 0.003, "weight_decay": 0.01,
  "amsgrad": true}, "schedule": {"type": "cosine", "warmup_steps": 3}, "clip_norm": 1.0,
  "clip_value": 0.5, "data": {"format": "csv", "train_csv": "data.csv", "dev_size": 8,
  "normalize": true}}' >deep.json
"$myelin" train --spec deep.json --out deep >/dev/null
cp deep/spec.json "$corpus/spec/deep_written.json"
cp deep.json "$corpus/spec/deep.json"
cp deep/model.safetensors "$corpus/safetensors/deep_model.safetensors"
cp deep/optimizer.safetensors "$corpus/safetensors/adamw_state.safetensors"
printf '{"optimizer": {"type": "sgd", "lr": 0.1}, "schedule": {"type": "step", "gamma": 0.5,
  "step_epochs": 2}, "data": {"limit": 100, "dev_size": 10}}' >"$corpus/spec/fashion.json"

# IDX: Fashion-MNIST's headers and first rows, the item count set to what is kept; raw and gzip.
fashion=/usr/share/datasets/fashion-mnist
idx_head() {  # idx_head FILE HEADER_BYTES ITEM_BYTES ITEMS OUT
  local items_hex
  items_hex=$(printf '%08x' "$4")
  gzip -dc "$1" >whole.idx
  {
    head -c 4 whole.idx
    printf "\\x${items_hex:0:2}\\x${items_hex:2:2}\\x${items_hex:4:2}\\x${items_hex:6:2}"
    head -c $(($2 + $3 * $4)) whole.idx | tail -c $(($2 - 8 + $3 * $4))
  } >"$5"
}
idx_head "$fashion/t10k-labels-idx1-ubyte.gz" 8 1 16 "$corpus/idx/labels.idx"
idx_head "$fashion/t10k-images-idx3-ubyte.gz" 16 784 2 "$corpus/idx/images.idx"
gzip -9nc "$corpus/idx/labels.idx" >"$corpus/idx/labels.idx.gz"
gzip -9nc "$corpus/idx/images.idx" >"$corpus/idx/images.idx.gz"

# .npy in NumPy's layout: magic, version, little-endian header length, the header dictionary
# padded with spaces to a multiple of 64 bytes and ended by a newline, then the data.
npy() {  # npy OUT DESCR SHAPE DATA_BYTES_FILE [MAJOR]
  local major=${5:-1} header="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
  local lenbytes=2
  [ "$major" -ge 2 ] && lenbytes=4
  local unpadded=$((6 + 2 + lenbytes + ${#header} + 1))
  local pad=$(((64 - unpadded % 64) % 64))
  local total=$((${#header} + pad + 1))
  {
    printf '\x93NUMPY'
    printf "\\x$(printf %02x "$major")\\x00"
    printf "\\x$(printf %02x $((total & 255)))\\x$(printf %02x $((total >> 8)))"
    [ "$lenbytes" -eq 4 ] && printf '\x00\x00'
    printf '%s%*s\n' "$header" "$pad" ''
    cat "$4"
  } >"$1"
}
printf '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00\xa0\x40\x00\x00\xc0\x40' >f4.bin
npy "$corpus/npy/features_f4.npy" '<f4' '(2, 3)' f4.bin
printf '\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00' >i8.bin
npy "$corpus/npy/labels_i8.npy" '<i8' '(3,)' i8.bin
printf '\x00\x01\x02\x03' >u1.bin
npy "$corpus/npy/bytes_u1.npy" '|u1' '(2, 2)' u1.bin
printf '\x00\x00\x00\x00\x00\x00\xf0\x3f' >f8.bin
npy "$corpus/npy/scalar_f8_v2.npy" '<f8' '()' f8.bin 2
find "$corpus" -type f | sort
