#!/usr/bin/env bash
# tools/gpu-check --preflight against faked tools on PATH: it names what a GPU machine lacks (no
# GPU, a driver older than the toolkit's runtime, no compute-sanitizer, packages that a user who
# is not root cannot install) and says ready when nothing needed is missing.
#   gpu_check_preflight_test.sh REPOSITORY_ROOT WORK_DIR
set -uo pipefail
root=$1
work=$2
source "$root/tests/cli/lib.sh"
cli_start "$work"

# fake_tools DIR DRIVER_CUDA TOOLKIT_CUDA SANITIZER(yes|no) PACKAGES(yes|no) UID
fake_tools() {
  local dir=$1
  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/cuda"
  if [ "$2" != none ]; then
    cat >"$dir/bin/nvidia-smi" <<SMI
#!/bin/sh
case "\$1" in
  --query-gpu=*) echo "NVIDIA H100 80GB HBM3, 575.51.03, 81559 MiB" ;;
  *) echo "| NVIDIA-SMI 575.51.03   Driver Version: 575.51.03   CUDA Version: $2 |" ;;
esac
SMI
  fi
  printf '#!/bin/sh\necho "Cuda compilation tools, release %s, V%s.48"\n' "$3" "$3" >"$dir/bin/nvcc"
  [ "$4" = yes ] && printf '#!/bin/sh\nexit 0\n' >"$dir/bin/compute-sanitizer"
  if [ "$5" = yes ]; then
    printf '#!/bin/sh\nprintf "install ok installed"\n' >"$dir/bin/dpkg-query"
  else  # chromium is missing
    printf '#!/bin/sh\nfor a; do last=$a; done\n[ "$last" = chromium ] && exit 1\nprintf "install ok installed"\n' >"$dir/bin/dpkg-query"
  fi
  printf '#!/bin/sh\necho %s\n' "$6" >"$dir/bin/id"
  chmod +x "$dir"/bin/*
}

# preflight DIR: runs it with only the fakes and the system's basic tools on PATH.
preflight() {
  PATH="$PWD/$1/bin:/usr/bin:/bin" MYELIN_CUDA_BIN="$PWD/$1/cuda" "$root/tools/gpu-check" --preflight \
    >"$1.out" 2>&1
  echo $? >"$1.code"
  cat "$1.out"
}

fake_tools ready 13.0 13.0 yes yes 1000
preflight ready
check "a machine with everything: exit 0" test "$(cat ready.code)" -eq 0
check "it says ready" grep -qE '^preflight: +ready' ready.out
check "it names the GPU" grep -qE '^gpu: +ok +NVIDIA H100' ready.out
check "the driver is new enough" grep -qE '^driver: +ok +supports CUDA 13.0' ready.out

fake_tools old 12.4 13.0 no yes 1000
preflight old
check "an old driver: exit 1" test "$(cat old.code)" -eq 1
check "it names both versions" \
  grep -qE '^driver: +missing +supports CUDA 12.4, older than the build.s runtime CUDA 13.0' old.out
check "no compute-sanitizer: its runs will be reported as not run" \
  grep -qE '^sanitizer: +missing .*reported as not run' old.out
check "it says not ready" grep -qE '^preflight: +not ready' old.out

fake_tools nogpu none 13.0 yes yes 1000
preflight nogpu
check "no GPU: exit 1" test "$(cat nogpu.code)" -eq 1
check "it says there is none" grep -qE '^gpu: +missing +no NVIDIA GPU' nogpu.out

fake_tools user 13.0 13.0 yes no 1000
preflight user
check "missing packages without root: exit 1" test "$(cat user.code)" -eq 1
check "it names them and the command" grep -qE '^packages: +missing +chromium .*apt-get install' user.out

fake_tools rootuser 13.0 13.0 no no 0
preflight rootuser
check "missing packages as root: they will be installed, and no sanitizer is no obstacle" \
  test "$(cat rootuser.code)" -eq 0
check "it says it will install them" grep -qE '^packages: +install +will install chromium' rootuser.out

cli_finish
