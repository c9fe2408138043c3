import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

import artalk_service.model as model_pkg
from artalk_service.model import ModelConfig, MotionModel, StreamOptions


def test_save_load_gives_identical_outputs(tiny_model, speechlike, tmp_path):
    # trained statistics must travel with the weights
    tiny_model.net.motion_mean.fill_(0.1)
    tiny_model.net.motion_std.fill_(0.5)
    try:
        path = tmp_path / "tiny.safetensors"
        tiny_model.save(path)
        loaded = MotionModel.load(path)
        assert loaded.model_id == tiny_model.model_id
        assert loaded.config == tiny_model.config
        # a model opened on these statistics (its streams start from the rest pose they normalise)
        current = MotionModel(tiny_model.net, tiny_model.model_id)
        for options in (StreamOptions(), StreamOptions(temperature=1.0, seed=3)):
            np.testing.assert_array_equal(loaded.animate(speechlike, options), current.animate(speechlike, options))
        with safe_open(str(path), "pt") as f:
            assert ModelConfig.from_dict(json.loads(f.metadata()["config"])) == tiny_model.config
            assert not any(k.startswith("speech.whisper.") for k in f.keys())  # loaded from the wheel
    finally:
        tiny_model.net.motion_mean.zero_()
        tiny_model.net.motion_std.fill_(1.0)


def test_untrained_is_reproducible():
    a = MotionModel.untrained(ModelConfig.tiny(), seed=3)
    b = MotionModel.untrained(ModelConfig.tiny(), seed=3)
    for (name, p), q in zip(a.net.state_dict().items(), b.net.state_dict().values()):
        assert torch.equal(p, q), name
    assert a.model_id == b.model_id


def test_missing_default_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(model_pkg, "default_model_path", lambda: tmp_path / "none.safetensors")
    with pytest.raises(FileNotFoundError, match="untrained"):
        model_pkg.load_default_model()
