#!/usr/bin/env bash
# The WebGPU training benchmark on a machine with an NVIDIA GPU: Dawn in Node on
# NVIDIA's Vulkan driver, eager and recorded steps side by side per preset, and
# PyTorch's meta-device ceiling beside them when python3 imports torch.
#
#   bench/gpu.sh [FILE.jsonl] [more tabgpt bench flags...]
#
# Writes the JSON rows to FILE.jsonl (default bench/gpu-<date>.jsonl) and the
# progress, ratios and tables to FILE.log; both are what PERFORMANCE.md quotes.
# Presets baby and small, --training-only: a few minutes, stopped at 8.
# Checks first, one line each: an NVIDIA driver, a Vulkan loader (from .gl/*.deb
# if the system has none), NVIDIA's Vulkan ICD, Node >= 20 and node_modules,
# and afterwards that the rows ran on the NVIDIA adapter, not SwiftShader.
set -euo pipefail

say() { echo "gpu.sh: $*" >&2; }
die() { say "$*"; exit 1; }

cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUTFILE=bench/gpu-$(date -u +%Y%m%d-%H%M%S).jsonl
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then OUTFILE=$1; shift; fi  # a first argument that is no flag names the file
LOG=${OUTFILE%.jsonl}.log
LIMIT_S=${GPU_SH_LIMIT_S:-480}

# 1. An NVIDIA driver (NVIDIA_SMI names another nvidia-smi, e.g. for a test).
SMI=${NVIDIA_SMI:-nvidia-smi}
command -v "$SMI" >/dev/null 2>&1 || die "no NVIDIA driver: '$SMI' not found; run this on a machine with an NVIDIA GPU (without one, npm run bench measures the CPU side)"
GPU=$("$SMI" --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n1) || true
[ -n "$GPU" ] || die "no NVIDIA driver: '$SMI' found no GPU; check the driver (nvidia-smi) and that this container sees the device"
say "GPU: $GPU"

# 2. A Vulkan loader: the system's, or libvulkan1 unpacked from .gl/*.deb (carried in: the machine may be offline).
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  if compgen -G "$ROOT/.gl/*.deb" >/dev/null; then
    for f in "$ROOT"/.gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || die "no Vulkan loader (libvulkan.so.1): apt-get install libvulkan1, or put its .deb in .gl/ (apt-get download libvulkan1)"
fi

# 3. NVIDIA's Vulkan ICD, named so that Dawn cannot fall back to SwiftShader (src/cli/webgpu.ts respects VK_ICD_FILENAMES).
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for icd in "${VK_DRIVER_FILES:-}" /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -n "$icd" ] && [ -f "$icd" ]; then export VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd; break; fi
  done
  [ -n "${VK_ICD_FILENAMES:-}" ] || die "no NVIDIA Vulkan ICD (nvidia_icd.json) under /usr/local/nvidia, /usr/share or /etc/vulkan: set VK_DRIVER_FILES to it"
fi
say "Vulkan ICD: $VK_ICD_FILENAMES"

# 4. Node >= 20 and the project's packages.
command -v node >/dev/null 2>&1 || die "no node: install Node.js 20 or later"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || die "node $(node --version) is too old: Node.js 20 or later is needed"
if [ ! -d node_modules/webgpu ] || [ ! -d node_modules/@tensorflow/tfjs-backend-webgpu ]; then
  say "node_modules missing: npm ci"
  npm ci --no-audit --no-fund >/dev/null 2>&1 || die "npm ci failed (offline?): run it where the registry is reachable and bring node_modules along"
fi

# 5. The benchmark, under a time limit; rows to $OUTFILE, everything else to $LOG.
mkdir -p "$(dirname "$OUTFILE")"
: >"$OUTFILE"
say "running: tabgpt bench --backend webgpu --preset baby,small --step eager,recorded --training-only --torch $* (at most ${LIMIT_S}s; log $LOG)"
set +e
timeout --kill-after=10 "$LIMIT_S" node bin/tabgpt.js bench --backend webgpu --preset baby,small --step eager,recorded --training-only --torch --json --out "$OUTFILE" "$@" >/dev/null 2>"$LOG"
RC=$?
set -e
[ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] || die "the benchmark ran past ${LIMIT_S}s and was stopped; the rows so far are in $OUTFILE, the log in $LOG"
[ "$RC" -eq 0 ] || die "the benchmark failed (exit $RC): $(grep -v '^bench: ' "$LOG" | tail -n1)"

# 6. The rows must be the NVIDIA adapter's: a SwiftShader row would measure a CPU.
ROWS=$(grep -c '"backend":"webgpu"' "$OUTFILE" || true)
[ "$ROWS" -gt 0 ] || die "no webgpu rows in $OUTFILE; see $LOG"
if grep '"backend":"webgpu"' "$OUTFILE" | grep -qi 'swiftshader\|llvmpipe\|lavapipe'; then
  die "the rows ran on a software adapter, not the NVIDIA GPU (see env.adapter in $OUTFILE)"
fi
grep -E 'recorded vs eager|PyTorch|tabgpt webgpu|notice' "$LOG" | sed 's/^bench: /gpu.sh: /' >&2 || true
# 7. What the CLI's default --backend auto picks here for baby: WebGPU and WASM timed on the model (the model line says which, by how much).
AUTO=$(timeout 180 node bin/tabgpt.js train --corpus shakespeare --preset baby --max-iters 10 --eval-interval 10 --out "${OUTFILE%.jsonl}-auto.safetensors" 2>>"$LOG" | grep '^model ' || true)
echo "auto: $AUTO" >>"$LOG"
say "auto: ${AUTO:-the train run failed, see $LOG}"
say "done: $ROWS webgpu rows in $OUTFILE ($(grep -c '"tool":"torch-meta"' "$OUTFILE" || true) PyTorch rows); log $LOG"
