#!/usr/bin/env bash
# Set up on a fresh machine (idempotent), then serve the bundled model on 127.0.0.1:50051.
# Extra arguments go to `artalk-service serve` (e.g. --port 6000 --device cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/artalk-service serve "$@"
