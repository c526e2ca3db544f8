#!/usr/bin/env bash
# Checks that tools/gpu-check's sanitizer runs select every test of the GPU test executable
# (usage: gpu_check_selection.sh GPU_TEST_EXECUTABLE).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tools/lib/gpu_suite.sh"
tests=$1
list() {  # test names, Suite.Name, one per line
  "$tests" --gtest_list_tests "$@" | awk '/^[^ ]/ {suite=$1} /^  / {print suite $1}'
}
all=$(list)
selected=$(list --gtest_filter="$MYELIN_SANITIZER_FILTER")
missing=$(comm -23 <(sort <<<"$all") <(sort <<<"$selected"))
if [ -n "$missing" ]; then
  echo "tools/gpu-check's sanitizer filter '$MYELIN_SANITIZER_FILTER' leaves out $(wc -l <<<"$missing") of $(wc -l <<<"$all") GPU tests:"
  sed 's/^/  /' <<<"$missing" | head -20
  exit 1
fi
echo "the sanitizer runs select all $(wc -l <<<"$all") GPU tests"
