"""artalk-eval end to end on a tiny corpus, with a tiny model and a 'real' recording."""
import json
import shutil
import subprocess

import numpy as np
import pytest

from artalk_service.data.corpus import CorpusConfig, generate
from artalk_service.eval.cli import main
from artalk_service.model import ModelConfig, MotionModel


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("corpus"))
    generate(out, 0.003, 0.002, CorpusConfig(seed=4, shard_size=4), workers=1)
    return out


def test_eval_writes_json_and_prints_a_table(corpus, tmp_path, capsys):
    model = MotionModel.untrained(ModelConfig.tiny())
    model.style_presets = {"calm": np.zeros((16, 61), np.float32)}
    path = tmp_path / "m.safetensors"
    model.save(path)
    real = tmp_path / "real"
    real.mkdir()
    subprocess.run([shutil.which("flite"), "-voice", "slt", "-t", "map of the big boat", "-o", str(real / "a.wav")],
                   check=True)
    (real / "a.txt").write_text("map of the big boat\n")
    main(["--model", str(path), "--data", corpus, "--clips", "3", "--real", str(real), "--styles",
          "--style-clips", "1", "--out", str(tmp_path / "e.json")])
    report = json.loads((tmp_path / "e.json").read_text())
    assert set(report["heldout"]) == {"model", "energy_jaw", "recognised_phones", "targets"}
    assert set(report["real"]) == {"model", "energy_jaw", "recognised_phones", "aligned_phones"}
    assert report["heldout"]["targets"]["closure_rate"] == 1.0
    assert report["real"]["aligned_phones"]["closure_rate"] == 1.0 and report["real"]["model"]["closure_n"] >= 3
    assert report["styles"]["presets"] == ["calm"]
    out = capsys.readouterr().out
    assert "closure" in out and "recognised_phones" in out and "aligned_phones" in out
