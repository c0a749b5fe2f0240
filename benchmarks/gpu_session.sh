#!/bin/bash
# One lent-GPU session, prepared to run unattended in a few minutes: the CUDA tests, the
# studies named in STUDIES with their jobs sharing the GPU, and (optionally) the
# `full`-preset benchmark (benchmarks/realnvp_full_gpu.py), side by side. Everything is
# stopped DEADLINE seconds after the start; runs finished in this session are packed into
# $OUT, one archive per study (model files apart, by seed, within the size limits).
#
#   FLOWLIB_CACHE=... FLOWLIB_SOURCE_COMMIT=<sha> OUT=<dir> benchmarks/gpu_session.sh
#
# STUDIES: "name=seeds;name=seeds", e.g. "nll-vs-gan=0 1 2;nash=0 1 2". A study starts from
# a copy of its shipped results (results/<name>-<preset>), so shipped runs are skipped.
# FULL_ARGS: arguments of the full benchmark, or "none". Studies whose final evaluation
# needs the Inception weights (nll-vs-gan) run with --no-final: evaluate them afterwards.
# A rehearsal on a CPU: DEVICE=cpu PRESET=smoke JOBS=2 FULL_ARGS="--dry-run --minutes 0.2"
set -u
DEADLINE=${DEADLINE:-500}
DEVICE=${DEVICE:-cuda}
PRESET=${PRESET:-quick}
JOBS=${JOBS:-7}
STUDIES=${STUDIES:-misspecification=0 1}
FULL_ARGS=${FULL_ARGS:---minutes 4.5}
PY=${PY:-python3}
W=${WORK:-/tmp/flowlib-gpu-session}
OUT=${OUT:?set OUT to the folder that receives the packed results}
REPO=$PWD
rm -rf "$W" && mkdir -p "$W" "$OUT"
export PYTHONUNBUFFERED=1
t0=$(date +%s)
touch "$W/.start"
echo "commit ${FLOWLIB_SOURCE_COMMIT:-?}; device $DEVICE; preset $PRESET; jobs $JOBS; studies $STUDIES"
nvidia-smi -L 2>/dev/null
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

declare -a DIRS=()
IFS=';' read -ra ENTRIES <<<"$STUDIES"
for entry in "${ENTRIES[@]}"; do
    name=${entry%%=*}; seeds=${entry#*=}
    dir="$name-$PRESET"  # a study's results folder carries its name
    DIRS+=("$dir")
    [ -d "results/$dir" ] && cp -rp "results/$dir" "$W/$dir"  # -p: shipped runs stay older than .start
    final=""; [ "$name" = "nll-vs-gan" ] && final="--no-final"
    ( timeout $((DEADLINE - 40)) $PY -m flowlib experiment "$name" --preset "$PRESET" --seeds $seeds \
        --jobs "$JOBS" --device "$DEVICE" --out "$W/$dir" $final >"$W/$dir.log" 2>&1 ) &
done
if [ "$FULL_ARGS" != "none" ]; then
    ( timeout $((DEADLINE - 20)) $PY benchmarks/realnvp_full_gpu.py --device "$DEVICE" $FULL_ARGS \
        --out "$W/full" >"$W/full.log" 2>&1 ) &
fi
( timeout 240 $PY -m pytest -q -p no:cacheprovider tests/test_device.py >"$W/pytest.log" 2>&1 ) &
while [ -n "$(jobs -r)" ] && [ $(( $(date +%s) - t0 )) -lt "$DEADLINE" ]; do
    sleep 10
    echo "t=$(( $(date +%s) - t0 ))s: $(find "$W" -name manifest.json -newer "$W/.start" | wc -l) runs finished"
done
kill $(jobs -p) 2>/dev/null
sleep 2

cd "$W"
tail -n 5 pytest.log full.log 2>/dev/null
for dir in "${DIRS[@]}"; do
    tail -n 12 "$dir.log"
    # runs finished in this session only
    new=$(find "$dir" -mindepth 2 -maxdepth 2 -name manifest.json -newer .start -printf '%h\n' | sort)
    [ -n "$new" ] || continue
    tar czf "$OUT/$dir-runs.tgz" --exclude='*.pt' --exclude=.lock $new
    for s in $(printf '%s\n' $new | sed -n 's/.*-seed\([0-9]*\)$/\1/p' | sort -u); do
        models=$(for d in $new; do case "$d" in *base-*) ;; *-seed$s) [ -f "$d/model.pt" ] && echo "$d/model.pt";; esac; done)
        [ -n "$models" ] && tar czf "$OUT/$dir-models-seed$s.tgz" $models
    done
done
[ -d full ] && tar czf "$OUT/full.tgz" --exclude='*.pt' --exclude=.lock full
tar czf "$OUT/logs.tgz" *.log $(find . -name log.txt -newer .start) 2>/dev/null
ls -la "$OUT"
echo "session took $(( $(date +%s) - t0 )) s"
