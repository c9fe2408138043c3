"""artalk-eval end to end on a tiny corpus, with a tiny model and a 'real' recording."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from artalk_service.data.corpus import generate
from artalk_service.data.sample import CorpusConfig
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
    subprocess.run(
        [shutil.which("flite"), "-voice", "slt", "-t", "map of the big boat", "-o", str(real / "a.wav")], check=True
    )
    (real / "a.txt").write_text("map of the big boat\n")
    main(
        [
            "--model",
            str(path),
            "--data",
            corpus,
            "--clips",
            "3",
            "--real",
            str(real),
            "--styles",
            "--style-clips",
            "1",
            "--out",
            str(tmp_path / "e.json"),
        ]
    )
    report = json.loads((tmp_path / "e.json").read_text())
    assert set(report["heldout"]) == {"model", "energy_jaw", "recognised_phones", "autoencoder", "targets"}
    assert set(report["real"]) == {"model", "energy_jaw", "recognised_phones", "aligned_phones"}
    assert report["heldout"]["targets"]["closure_rate"] == 1.0
    assert report["real"]["aligned_phones"]["closure_rate"] == 1.0 and report["real"]["model"]["closure_n"] >= 3
    assert report["styles"]["presets"] == ["calm"]
    out = capsys.readouterr().out
    assert "closure" in out and "recognised_phones" in out and "aligned_phones" in out


def test_lag_diagnosis_takes_the_model_apart(corpus, tmp_path, capsys):
    from artalk_service.eval import lag

    model = MotionModel.untrained(ModelConfig.tiny())
    path = tmp_path / "m.safetensors"
    model.save(path)
    lag.main(["--model", str(path), "--data", corpus, "--clips", "2", "--out", str(tmp_path / "lag.json")])
    report = json.loads((tmp_path / "lag.json").read_text())
    for name in lag.SYSTEMS:
        assert len(report[name]["lag_by_position_ms"]) == model.window_frames
        assert report[name]["closure_rate"] >= 0
    assert "teacher_forced" in capsys.readouterr().out


def test_lag_by_position_reads_a_late_mouth_as_late():
    from artalk_service.eval.lag import lag_by_position
    from artalk_service.eval.metrics import Clip
    from artalk_service.layout import ARKIT61

    t = np.arange(200)
    ref = np.zeros((200, 61), np.float32)
    ref[:, ARKIT61.index("JawOpen")] = 0.3 + 0.2 * np.sin(2 * np.pi * t / 25)  # 1 Hz at 25 fps
    late = np.roll(ref, 1, axis=0)  # one frame (40 ms) late
    assert np.allclose(lag_by_position([Clip(ref, (), ref)], 10), 0)
    lags = lag_by_position([Clip(late, (), ref)], 10)
    assert all(30 < v < 50 for v in lags), lags


def test_guidance_sweep_scores_each_scale_on_the_same_clips(corpus, tmp_path, capsys):
    import dataclasses

    import torch

    from artalk_service.eval import guidance

    tiny = ModelConfig.tiny()
    config = dataclasses.replace(tiny, speech=dataclasses.replace(tiny.speech, null_audio=True))
    model = MotionModel.untrained(config)
    with torch.no_grad():
        model.net.speech.null_features.normal_(generator=torch.Generator().manual_seed(1))
    path = tmp_path / "g.safetensors"
    model.save(path)
    guidance.main(
        ["--model", str(path), "--data", corpus, "--clips", "2", "--scales", "1,3", "--out", str(tmp_path / "g.json")]
    )
    report = json.loads((tmp_path / "g.json").read_text())
    assert list(report["heldout"]) == ["1", "3"]
    assert report["heldout"]["1"]["mouth_mean_err"] != report["heldout"]["3"]["mouth_mean_err"]
    assert "guidance" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # a model without a null audio takes guidance 1 only
        unguided = tmp_path / "u.safetensors"
        MotionModel.untrained(tiny).save(unguided)
        guidance.main(["--model", str(unguided), "--data", corpus, "--clips", "1", "--scales", "2"])
