#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine: apt packages, a venv in .venv,
# the pinned CPU torch first (so nothing pulls a CUDA build), then this package.
set -euo pipefail
cd "$(dirname "$0")/.."

# TTS engines and voices for the corpus, sox for audio checks.
APT_PACKAGES="espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts sox fortunes-min fortunes"
# Toolchains for the engine clients (C++ core, C# P/Invoke sample) and their tests.
APT_CLIENTS="cmake g++ make pkg-config libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev mono-mcs mono-runtime"

missing=""
for pkg in $APT_PACKAGES $APT_CLIENTS; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "[setup] apt-get install$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi


if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[dev,data,preview,eval,onnx]"
