#!/usr/bin/env bash
# Set up on a fresh machine (idempotent), lint, then run every test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# ruff's settings are in pyproject.toml; `ruff format .` fixes what the format check finds
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -q "$@"
