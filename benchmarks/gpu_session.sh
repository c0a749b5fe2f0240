#!/bin/bash
# One lent-GPU session, prepared to run unattended in a few minutes: the CUDA tests,
# Experiment 2 (`misspecification`) at `quick` with its jobs sharing the GPU, and the
# `full`-preset benchmark (benchmarks/realnvp_full_gpu.py), side by side. Everything is
# stopped DEADLINE seconds after the start; finished runs are packed into $OUT.
#
#   FLOWLIB_CACHE=... FLOWLIB_SOURCE_COMMIT=<sha> OUT=<dir> benchmarks/gpu_session.sh
#
# A rehearsal on a CPU: DEVICE=cpu PRESET=smoke JOBS=2 FULL_ARGS="--dry-run --minutes 0.2"
set -u
DEADLINE=${DEADLINE:-500}
DEVICE=${DEVICE:-cuda}
PRESET=${PRESET:-quick}
JOBS=${JOBS:-7}
FULL_ARGS=${FULL_ARGS:---minutes 4.5}
PY=${PY:-python3}
W=${WORK:-/tmp/flowlib-gpu-session}
OUT=${OUT:?set OUT to the folder that receives the packed results}
rm -rf "$W" && mkdir -p "$W" "$OUT"
export PYTHONUNBUFFERED=1
t0=$(date +%s)
echo "commit ${FLOWLIB_SOURCE_COMMIT:-?}; device $DEVICE; preset $PRESET; jobs $JOBS"
nvidia-smi -L 2>/dev/null
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

( timeout $((DEADLINE - 40)) $PY -m flowlib experiment misspecification --preset "$PRESET" \
    --seeds 0 1 --jobs "$JOBS" --device "$DEVICE" --out "$W/exp2-$PRESET" >"$W/exp2.log" 2>&1 ) &
( timeout $((DEADLINE - 20)) $PY benchmarks/realnvp_full_gpu.py --device "$DEVICE" $FULL_ARGS \
    --out "$W/full" >"$W/full.log" 2>&1 ) &
( timeout 240 $PY -m pytest -q -p no:cacheprovider tests/test_device.py >"$W/pytest.log" 2>&1 ) &
while [ -n "$(jobs -r)" ] && [ $(( $(date +%s) - t0 )) -lt "$DEADLINE" ]; do
    sleep 10
    echo "t=$(( $(date +%s) - t0 ))s: $(ls "$W"/exp2-"$PRESET"/*/manifest.json 2>/dev/null | wc -l) exp2 runs finished"
done
kill $(jobs -p) 2>/dev/null
sleep 2

cd "$W"
tail -n 5 pytest.log full.log; tail -n 25 exp2.log
# finished runs only; models of all but the largest student (size limits on what returns)
finished=$(for m in exp2-"$PRESET"/*/manifest.json; do [ -f "$m" ] && dirname "$m"; done)
tar czf "$OUT/exp2-runs.tgz" --exclude='*.pt' $finished 2>/dev/null
for s in 0 1; do
    tar czf "$OUT/exp2-models-seed$s.tgz" $(for d in $finished; do
        case "$d" in *base-*) ;; *-seed$s) [ -f "$d/model.pt" ] && echo "$d/model.pt";; esac; done) 2>/dev/null
done
tar czf "$OUT/full.tgz" --exclude='*.pt' full 2>/dev/null
tar czf "$OUT/logs.tgz" *.log exp2-"$PRESET"/*/log.txt 2>/dev/null
ls -la "$OUT"
echo "session took $(( $(date +%s) - t0 )) s"
