#!/usr/bin/env bash
# Every GPU measurement and check of the project, in one device call (see
# DEVELOPERS.md, "GPU machine"): about 3-4 minutes on an H100.
#
#   bash benchmarks/gpu_all.sh                       # on the GPU machine (carry .whl)
#   OMP_NUM_THREADS=1 QUICK=1 PYTHON=/work/venv/bin/python bash benchmarks/gpu_all.sh   # CPU smoke run
#
# 1. benchmarks/gpu_check.py: a model trained on CUDA pickles, loads on a
#    CPU-only process, predicts the same and continues training there;
# 2. benchmarks/gpu_speed.py: the GPU speed table of issue 6 (--quick if QUICK=1);
# 3. the tests that concern the GPU: pytest -k "cuda or gpu or precision".
#
# Each step's output goes to the terminal and to $OUT/<step>.txt ($OUT: the
# device tool's output folder; a temporary folder when unset), the speed figures
# also to $OUT/gpu_speed.json. Every step runs even if an earlier one failed;
# the exit status is that of the first failure.
# When the Python there lacks skorch, tabulate or pytest (the GPU image lacks
# skorch), the wheels in .whl/ are installed into /tmp/site first.

set -u -o pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-$(mktemp -d /tmp/gpu_all.XXXXXX)}
mkdir -p "$OUT"
SPEED_ARGS=()
[ "${QUICK:-0}" = "1" ] && SPEED_ARGS+=(--quick)

if ! "$PY" -c "import skorch, tabulate, pytest" 2>/dev/null; then
    if ls .whl/*.whl >/dev/null 2>&1; then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl || exit
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    else
        echo "warning: skorch, tabulate or pytest is missing and there is no .whl/ to install from"
    fi
fi
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1  # what a step printed survives its timeout

status=0
step() {  # step NAME TIMEOUT_S COMMAND...
    local name=$1 limit=$2
    shift 2
    echo "=== $name: $* (limit ${limit} s)"
    local start=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.txt"
    local rc=$?
    echo "=== $name: exit $rc after $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
    [ "$rc" -ne 0 ] && [ "$status" -eq 0 ] && status=$rc
    return 0
}

{
    date -u
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    "$PY" -c "import sys, torch; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
} 2>&1 | tee "$OUT/environment.txt"

step gpu_check 150 "$PY" benchmarks/gpu_check.py
step gpu_speed 300 "$PY" benchmarks/gpu_speed.py ${SPEED_ARGS[@]+"${SPEED_ARGS[@]}"} --json "$OUT/gpu_speed.json"
step pytest 150 "$PY" -m pytest -q -p no:cacheprovider --continue-on-collection-errors \
    tests -k "cuda or gpu or precision" -rs

echo "outputs in $OUT"
cat "$OUT/summary.txt"
exit "$status"
