#!/bin/sh
# The one-command GPU check. Run it from the repository root on a machine with an NVIDIA driver;
# it needs no network, Node or npm there. It unpacks scripts/gpu/out/capserve-gpu-check.tar.xz
# (built here with `npx tsx scripts/gpu/bundle.ts`) into a temporary folder, points the bundled
# Vulkan loader at NVIDIA's driver, and runs scripts/gpu/gpu-check.ts with the bundled Node:
# cpu/webgpu(/cuda) parity, then the benchmark, within GPU_CHECK_SECONDS (default 480, the whole
# run). Writes bench/RESULTS-gpu.md and, when $OUT is set, copies it there with the log and JSON.
#
#   scripts/gpu/run.sh [gpu-check options, e.g. --runs webgpu:minilm --duration 8]
set -eu

start=$(date +%s)
repo=$(pwd)
here=$(cd "$(dirname "$0")" && pwd)
total=${GPU_CHECK_SECONDS:-480}

if [ -x "$here/node" ] && [ -d "$here/app" ]; then
  work=$here # already unpacked: this is the bundle's own copy of run.sh
else
  bundle=${GPU_BUNDLE:-$here/out/capserve-gpu-check.tar.xz}
  if [ ! -f "$bundle" ]; then
    echo "run.sh: no bundle at $bundle; build it with: npx tsx scripts/gpu/bundle.ts" >&2
    exit 2
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/capserve-gpu.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  trap 'exit 130' INT TERM
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$bundle" | tar -xf - -C "$work"
  else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$bundle" "$work"
  fi
  echo "run.sh: unpacked the bundle into $work in $(($(date +%s) - start)) s"
fi

# Dawn (onnxruntime's WebGPU) loads libvulkan.so.1: the bundled loader (Debian's libvulkan1).
export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$work/xdg}"
mkdir -p "$XDG_RUNTIME_DIR"

# Only NVIDIA's Vulkan driver, when it is there: its manifest, or one written for its library.
if [ -z "${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then
      VK_DRIVER_FILES=$icd
      break
    fi
  done
fi
if [ -z "${VK_DRIVER_FILES:-}" ]; then
  ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
  glx=$("$ldconfig" -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0/ { print $NF; exit }' || true)
  if [ -n "$glx" ]; then
    VK_DRIVER_FILES=$work/nvidia_icd.json
    printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "1.3.0" } }\n' "$glx" >"$VK_DRIVER_FILES"
  fi
fi
if [ -n "${VK_DRIVER_FILES:-}" ]; then
  export VK_DRIVER_FILES
  echo "run.sh: VK_DRIVER_FILES=$VK_DRIVER_FILES"
else
  echo "run.sh: no NVIDIA Vulkan driver found; the Vulkan loader searches its default folders"
fi

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi -L || true
else
  echo "run.sh: no nvidia-smi"
fi

node=$work/node
if ! "$node" --version >/dev/null; then
  echo "run.sh: the bundled Node does not start here (it needs x86-64 Linux with glibc 2.28 or newer)" >&2
  exit 2
fi
echo "run.sh: $("$node" --version) from the bundle; $(($(date +%s) - start)) s used of $total"

# The check stops starting benchmark runs (and stops a late one) at its budget; keep a margin.
budget=$((total - ($(date +%s) - start) - 15))
mkdir -p "$repo/bench"
{
  code=0
  "$node" "$work/app/scripts/gpu/gpu-check.js" --budget-seconds "$budget" --results "$repo/bench/RESULTS-gpu.md" "$@" || code=$?
  echo "$code" >"$work/status"
} 2>&1 | tee "$work/gpu-check.log"
status=$(cat "$work/status")

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  cp "$work/gpu-check.log" "$OUT/"
  for file in "$repo/bench/RESULTS-gpu.md" "$work/app/bench/out/gpu-check.json"; do
    if [ -f "$file" ]; then cp "$file" "$OUT/"; fi
  done
fi
echo "run.sh: finished in $(($(date +%s) - start)) s with status $status"
exit "$status"
