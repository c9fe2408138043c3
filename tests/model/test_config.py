import pytest

from artalk_service.model import ModelConfig
from artalk_service.model.config import WindowConfig


@pytest.mark.parametrize("config", [ModelConfig(), ModelConfig.tiny()])
def test_dict_round_trip(config):
    assert ModelConfig.from_dict(config.to_dict()) == config


def test_rejects_inconsistent_windows():
    with pytest.raises(ValueError):
        ModelConfig(window=WindowConfig(frames=10, scales=(1, 2, 5)))
    with pytest.raises(ValueError):
        ModelConfig(window=WindowConfig(context_frames=20))
    with pytest.raises(ValueError):
        ModelConfig.from_dict({**ModelConfig().to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="lookahead_frames"):
        ModelConfig(window=WindowConfig(lookahead_frames=0, context_frames=20))


def test_configs_saved_before_centred_frames_keep_their_conditioning():
    saved = ModelConfig().to_dict()
    del saved["window"]["centred_frames"]
    assert ModelConfig.from_dict(saved).window.centred_frames is False
    assert ModelConfig().window.centred_frames is True
