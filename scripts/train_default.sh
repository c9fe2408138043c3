#!/usr/bin/env bash
# Train the bundled default model on a generated corpus (both stages, resumable: re-run
# the same command after an interruption). Usage: scripts/train_default.sh [CORPUS] [RUN]
#   CORPUS defaults to corpus/ (artalk-data generate --hours 10 --out corpus --seed 0)
#   RUN    defaults to runs/default; the log is RUN/train.log, the model RUN/model.safetensors
# Install it afterwards with: .venv/bin/artalk-train ar ... --install (a no-op re-run), or copy.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-corpus}
RUN=${2:-runs/default}
THREADS=${THREADS:-1}
export OMP_NUM_THREADS=$THREADS
.venv/bin/artalk-train vq --config default --corpus "$CORPUS" --out "$RUN" --threads "$THREADS"
.venv/bin/artalk-train ar --config default --corpus "$CORPUS" --out "$RUN" --threads "$THREADS"
