#!/bin/sh
# Spend a lent GPU on the version 2 run: resume the committed checkpoint on CUDA for MINUTES,
# leaving checkpoint, log and the exported ONNX under OUT (the device tool's $OUT).
#
#   sh training/gpu_run.sh MINUTES [RASTER...]
#
# Run from the repository root. PYTHON defaults to python3 (it needs torch with CUDA, onnx and
# onnxruntime); rasters are optional (absent ones are left out of the data mix). DEVICE=cpu
# dry-runs it here.
set -eu
MINUTES=${1:?minutes}
shift
PYTHON=${PYTHON:-python3}
OUT=${OUT:-runs/gpu-out}
RUN=runs/v2gpu
mkdir -p "$RUN" "$OUT"
[ -f "$RUN/checkpoint.pt" ] || cp training/checkpoints/v2.pt "$RUN/checkpoint.pt"
RASTERS=""
for r in "$@"; do [ -f "$r" ] && RASTERS="$RASTERS $r"; done
# shellcheck disable=SC2086
"$PYTHON" -m training.train --config fast-v2 --out "$RUN" --device "${DEVICE:-cuda}" --minutes "$MINUTES" \
    --checkpoint-minutes 2 --export-minutes 0 --log-every 200 --val-every 2000 \
    ${RASTERS:+--rasters $RASTERS}
# training.train exports model.onnx from the last checkpoint when it stops
cp "$RUN/checkpoint.pt" "$RUN/train.log" "$RUN/model.onnx" "$OUT/"
