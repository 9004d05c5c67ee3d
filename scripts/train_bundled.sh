#!/usr/bin/env bash
# Train London-faces models side by side on one machine for a fixed wall-clock budget, then finish
# each run (pictures, pipeline directory) and store the weights in fp16. This is how the bundled
# faces-style-64 and text2face-64 were made (on a 2-core CPU; their cards give command and budget).
# The newer bundled models (faces-projected-64, sketch2face-64) come from one command with a step
# count each, and scripts/bundle_model.py; their cards say which.
#
#   bash scripts/train_bundled.sh DATA_DIR OUT_DIR SECONDS [CACHE_DIR]
#   e.g. bash scripts/train_bundled.sh data/london_faces runs/bundled 240
#   MODELS="text2face-64" bash scripts/train_bundled.sh ...   (a subset)
#   RESUME=1 bash scripts/train_bundled.sh ...                  (continue existing runs for SECONDS more)
#
# Each run trains until SIGTERM at SECONDS (the trainer checkpoints and exits 143), then the same
# command with --resume_from_checkpoint latest --max_steps <reached step> writes the final outputs.
# FID/KID are computed afterwards with `python -m training.evaluate` (the Inception weights are a
# CPU-side package). Checkpoints every 500 steps are all kept, for the early-checkpoint comparison.
set -uo pipefail
DATA=$1 OUT=$2 SECONDS_BUDGET=$3 CACHE=${4:-$HOME/.cache/gan_zoo/data}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
run() {
  local name=$1; shift
  local args=(training/train.py --config "training/configs/$name.yaml" --data_dir "$DATA" --cache_dir "$CACHE"
              --output_dir "$OUT/$name" --checkpointing_steps 500 --checkpoints_total_limit null
              --compute_metrics false --model_card false "$@")
  local resume=()
  [ -n "${RESUME:-}" ] && resume=(--resume_from_checkpoint latest)
  timeout -s TERM "$SECONDS_BUDGET" "$PY" "${args[@]}" --max_steps 1000000 "${resume[@]}" >> "$OUT/$name.log" 2>&1
  local reached
  reached=$(ls "$OUT/$name/checkpoints" | sed 's/checkpoint-//' | sort -n | tail -1)
  "$PY" "${args[@]}" --max_steps "$reached" --resume_from_checkpoint latest >> "$OUT/$name.log" 2>&1
  echo "$name: $reached steps, exit $?" | tee -a "$OUT/$name.log"
  "$PY" -m training.export "$OUT/$name" >> "$OUT/$name.log" 2>&1
}
for name in ${MODELS:-faces-style-64 text2face-64}; do
  run "$name" &
done
wait
