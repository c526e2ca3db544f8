# Shared set-up of tools/quickstart and tools/test (sourced, not run).
# Installs what the build needs from Debian's packages (as root) or prints the exact apt-get
# line (otherwise), then configures and builds a CMake preset.

MYELIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MYELIN_PRESET=${MYELIN_PRESET:-release}
MYELIN_BUILD_DIR="$MYELIN_ROOT/build/$MYELIN_PRESET"

# Compilers, build tools and libraries, all from Debian 12's archive.
MYELIN_PACKAGES=(
  g++ make cmake ninja-build binutils
  libopenblas-openmp-dev  # the OpenMP build: GEMMs share our OpenMP thread pool
  nlohmann-json3-dev zlib1g-dev
  libgtest-dev libbenchmark-dev
  libboost-context-dev    # the fibers of the emulated CUDA device's threads
  dataset-fashion-mnist   # the real data of the main job and of its tests
  python3-numpy           # the tests' data derived from it, and the README's loading snippet
)

# What tools/test adds for the report test (cli.report): headless Chromium renders the page,
# Pillow reads the screenshot, DejaVu draws its text. Without them (not root) that test skips.
MYELIN_TEST_PACKAGES=(chromium python3-pil fonts-dejavu-core)

# What tools/fuzz adds: clang with libFuzzer and its sanitizer runtimes, and clang's OpenMP.
MYELIN_FUZZ_PACKAGES=(clang libclang-rt-14-dev libomp-14-dev)

myelin_log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# myelin_install_packages [PACKAGE...]: installs those missing (default: MYELIN_PACKAGES).
myelin_install_packages() {
  local missing=() p wanted=("$@")
  [ ${#wanted[@]} -eq 0 ] && wanted=("${MYELIN_PACKAGES[@]}")
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "myelin needs these Debian packages: ${missing[*]}" >&2
    echo "install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  myelin_log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# myelin_build [PRESET]: configures and builds a preset (default: MYELIN_PRESET).
myelin_build() {
  local preset=${1:-$MYELIN_PRESET}
  cd "$MYELIN_ROOT"
  if [ "$preset" = fuzz ]; then
    myelin_log "configuring ($preset: the readers' libFuzzer targets, clang with AddressSanitizer and UBSan)"
  elif [ "$preset" = emulated ]; then
    myelin_log "configuring ($preset: the CUDA backend on the emulated device, with AddressSanitizer and UBSan)"
  elif command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
    myelin_log "configuring ($preset, CUDA toolkit found: the CUDA backend is built)"
  else
    myelin_log "configuring ($preset, no CUDA toolkit: CPU-only library)"
  fi
  cmake --preset "$preset" >"$MYELIN_ROOT/build/configure-$preset.log" 2>&1 || {
    cat "$MYELIN_ROOT/build/configure-$preset.log" >&2
    exit 1
  }
  myelin_log "building ($preset)"
  cmake --build --preset "$preset" -j "$(nproc)"
}

myelin_setup() {
  set -euo pipefail
  mkdir -p "$MYELIN_ROOT/build"
  myelin_install_packages
  myelin_build
}
