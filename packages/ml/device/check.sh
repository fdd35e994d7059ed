#!/usr/bin/env bash
# The CUDA engine's device check, on a GPU machine (H100/H200, CUDA 13, PyTorch, no Node.js, no
# network). From the repository root, after `node packages/ml/device/pack.mjs` here and with the
# device tool's `carry: ["packages/ml/device/carry"]`:
#
#   bash packages/ml/device/check.sh          # results: JSON under $OUT (default ./device-out)
#
# Every stage has its own time limit and writes its JSON as it ends, so a stage that runs over
# loses only itself; the whole check stays under CHECK_SECONDS (300): torch.compile, the slowest
# part, runs last and loses its figures first. packages/ml/README.md, "The
# device check", says what each file holds.
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT="${OUT:-$PWD/device-out}"
mkdir -p "$OUT"
CARRY=packages/ml/device/carry
START=$(date +%s)
# One deadline for the whole check (CHECK_SECONDS, default 300): each stage gets the smaller of
# its own limit and what is left (at least 1 s: `timeout 0` would mean no limit).
DEADLINE=$((START + ${CHECK_SECONDS:-300}))
limit() {
  local left=$((DEADLINE - $(date +%s)))
  if [ "$left" -lt 1 ]; then echo 1; elif [ "$left" -lt "$1" ]; then echo "$left"; else echo "$1"; fi
}
log() { echo "[check +$(($(date +%s) - START))s] $*" | tee -a "$OUT/check.log"; }
if [ ! -f "$CARRY/manifest.json" ]; then
  echo "check.sh: $CARRY is missing: run node packages/ml/device/pack.mjs and carry it" >&2
  exit 2
fi

# The machine.
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader || true
  nvcc --version 2>/dev/null | tail -1 || /usr/local/cuda/bin/nvcc --version | tail -1 || true
  python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)' || true
  nproc
} >"$OUT/machine.txt" 2>&1
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
log "gpu: ${GPU:-none}"

# Node, unpacked beside its N-API headers (both builds look for ../include/node next to node).
NODE_HOME=/tmp/rdlab-node
mkdir -p "$NODE_HOME/bin"
xz -dc "$CARRY/node/bin/node.xz" >"$NODE_HOME/bin/node" && chmod +x "$NODE_HOME/bin/node"
cp -r "$CARRY/node/include" "$NODE_HOME/"
export PATH="$NODE_HOME/bin:$PATH"
log "node $(node --version)"
# node-addon-api where `require('node-addon-api')` finds it (node_modules does not travel).
mkdir -p node_modules
rm -rf node_modules/node-addon-api
cp -r "$CARRY/node_modules/node-addon-api" node_modules/
printf '{"gpu": "%s", "node": "%s"}\n' "$GPU" "$(node --version)" >"$OUT/env.json"

# The engines: CUDA (required) and the native CPU one (optional: the parity reference where
# OpenBLAS exists; otherwise PyTorch in float64 is).
for home in /usr/local/cuda-13.0 /usr/local/cuda; do
  if [ -x "$home/bin/nvcc" ]; then export CUDA_HOME="${CUDA_HOME:-$home}"; break; fi
done
timeout "$(limit 150)" node packages/ml/cuda/build.mjs --strict --force >"$OUT/build-cuda.log" 2>&1
log "cuda build: exit $? ($(tail -1 "$OUT/build-cuda.log"))"
timeout "$(limit 90)" node packages/ml/native/build.mjs >"$OUT/build-native.log" 2>&1
log "native build: exit $? ($(tail -1 "$OUT/build-native.log"))"

RUN=(node "$CARRY/check.mjs" --out "$OUT" --fixtures "$CARRY/fixtures")
timeout "$(limit 60)" "${RUN[@]}" --stages fixture,parity,reward-dropout >>"$OUT/check.log" 2>&1
log "correctness: exit $?"
timeout "$(limit 90)" "${RUN[@]}" --stages train >>"$OUT/check.log" 2>&1
log "train: exit $?"
timeout "$(limit 60)" "${RUN[@]}" --stages sample >>"$OUT/check.log" 2>&1
log "sample: exit $?"
timeout "$(limit 60)" "${RUN[@]}" --stages reward-model >>"$OUT/check.log" 2>&1
log "reward model: exit $?"
timeout "$(limit 200)" python3 packages/ml/device/torch_gpt.py --out "$OUT/torch.json" --compile-timeout 45 >"$OUT/torch.log" 2>&1
log "pytorch: exit $?"
"${RUN[@]}" --stages summary >"$OUT/summary.txt" 2>&1
log "summary: exit $?"
cat "$OUT/summary.json" 2>/dev/null || cat "$OUT/summary.txt"
