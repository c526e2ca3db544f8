# Shared by the tool's end-to-end tests (sourced): a fresh work directory and check().
#   cli_start WORK_DIR
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
  test "$failures" -eq 0
}

# A model checkpoint as `myelin inspect` shows it (each tensor's type, shape and a checksum of its
# bytes, and the metadata), without the logs' lengths, which depend on the throughput figures
# logged. Uses $myelin.
checkpoint_contents() {
  "$myelin" inspect "$1" | grep -v -e '^# steps_bytes' -e '^# metrics_bytes'
}
