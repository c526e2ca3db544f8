# Shared by the tool's end-to-end tests (sourced): a fresh work directory, check(), and the scale
# of the data they train on.
#   cli_start WORK_DIR

# With MYELIN_EMU_AUTO=cuda (tools/test runs the tool's tests so in the emulated build) the tool
# trains on the emulated device, about 100 times slower than on the CPU under the sanitizers:
# there a test trains on a quarter of the rows (`scaled_rows N`), which none of its checks depends on.
on_device=0
[ "${MYELIN_EMU_AUTO:-}" = cuda ] && on_device=1
scaled_rows() {
  if [ "$on_device" -eq 1 ]; then echo $(($1 / 4)); else echo "$1"; fi
}
cli_start() {
  rm -rf "$1"
  mkdir -p "$1"
  cd "$1" || exit 1
  failures=0
}

check() {  # check DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}

not() {  # check DESCRIPTION not COMMAND...: the command fails
  ! "$@"
}

cli_finish() {
  echo "$failures failure(s)"
  if [ "$failures" -ne 0 ] && [ $on_device -eq 1 ]; then
    echo "on the emulated device: MYELIN_EMU_SEED=${MYELIN_EMU_SEED:-1} MYELIN_EMU_PROGRESS=${MYELIN_EMU_PROGRESS:-async} repeat the run"
  fi
  test "$failures" -eq 0
}

# A model checkpoint as `myelin inspect` shows it (each tensor's type, shape and a checksum of its
# bytes, and the metadata), without the logs' lengths, which depend on the throughput figures
# logged. Uses $myelin.
checkpoint_contents() {
  "$myelin" inspect "$1" | grep -v -e '^# steps_bytes' -e '^# metrics_bytes'
}
