"""`artalk-retarget`: validate, list, show and preview, as a technical artist runs them."""

import json

import numpy as np
import pytest

from artalk_service.layout import ARKIT61
from artalk_service.retarget import PRESETS, cli, get_preset, parse_map

GOOD = {"targets": [{"name": "Blink_L", "sources": {"EyeBlinkLeft": 1}, "mirror": "Blink_R"}]}
BAD = {"targets": [{"name": "Blink_L", "sources": {"EyeBlinkLft": 1}}]}


@pytest.fixture
def maps(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    (tmp_path / "bad.json").write_text(json.dumps(BAD))
    (tmp_path / "child.yaml").write_text("extends: good\ntargets:\n  - name: Jaw\n    sources: {JawOpen: 1}\n")
    return tmp_path


def test_validate_ok_lists_the_channels(maps, capsys):
    assert cli.main(["validate", str(maps / "good.json"), str(maps / "child.yaml")]) == 0
    out = capsys.readouterr().out
    assert "good.json: ok: 2 channels: Blink_L, Blink_R" in out
    assert "child.yaml: ok: 3 channels: Blink_L, Blink_R, Jaw" in out  # extends a map in its own folder


def test_validate_gives_the_exact_error_and_exit_1(maps, capsys):
    assert cli.main(["validate", str(maps / "good.json"), str(maps / "bad.json")]) == 1
    captured = capsys.readouterr()
    assert "good.json: ok" in captured.out
    assert (
        "bad.json: invalid: target 'Blink_L': unknown source channel 'EyeBlinkLft'; did you mean 'EyeBlinkLeft'?"
    ) in captured.err


def test_validate_a_missing_file(tmp_path, capsys):
    assert cli.main(["validate", str(tmp_path / "nope.json")]) == 1
    assert "nope.json: invalid: cannot read" in capsys.readouterr().err


def test_list_shows_built_ins_and_the_folder(maps, capsys):
    assert cli.main(["list", "--dir", str(maps)]) == 0
    captured = capsys.readouterr()
    for name in [*PRESETS, "good", "child"]:
        assert name in captured.out
    assert "bad" in captured.err and "EyeBlinkLft" in captured.err


def test_show_prints_a_resolved_map_that_parses_back_to_the_same(capsys):
    assert cli.main(["show", "vrm_expressions"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert parse_map(spec, ARKIT61, get_preset) == PRESETS["vrm_expressions"]
    assert cli.main(["show", "no_such_map"]) == 1
    assert "unknown retarget preset 'no_such_map'" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_preview_renders_the_mapped_values(maps, tmp_path, monkeypatch, capsys, suffix):
    from PIL import Image

    motion = np.zeros((20, ARKIT61.num_channels), np.float32)
    motion[:, ARKIT61.index("EyeBlinkLeft")] = np.linspace(0, 1, 20)
    seen = {}

    def fake_animate(wav, model_path, untrained, style, fps):  # the model is tested elsewhere
        seen["fps"] = fps
        return motion

    monkeypatch.setattr(cli, "_animate", fake_animate)
    out = tmp_path / f"preview{suffix}"
    assert cli.main(["preview", str(maps / "good.json"), "--wav", "in.wav", "--out", str(out), "--fps", "30"]) == 0
    assert seen["fps"] == 30 and "20 frames at 30 fps, map good" in capsys.readouterr().out
    with Image.open(out) as image:
        assert getattr(image, "n_frames", 1) == (20 if suffix == ".gif" else 1)
