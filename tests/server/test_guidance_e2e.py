"""SessionConfig.guidance end to end: Describe reports what a model accepts, a session gets the
model's default or its own scale, and a model trained without a null audio refuses guidance."""

from __future__ import annotations

import dataclasses

import grpc
import numpy as np
import pytest
import torch

from artalk_service.client import AnimationClient
from artalk_service.model import ModelConfig, MotionModel


@pytest.fixture(scope="module")
def guided_server(server_thread):
    tiny = ModelConfig.tiny()
    config = dataclasses.replace(tiny, speech=dataclasses.replace(tiny.speech, null_audio=True))
    model = MotionModel.untrained(config, seed=0, guidance=2.0)
    with torch.no_grad():
        model.net.speech.null_features.normal_(generator=torch.Generator().manual_seed(1))
    srv = server_thread(model)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def unguided_server(server_thread, tiny_model):
    srv = server_thread(tiny_model)
    yield srv
    srv.stop()


def test_describe_reports_the_guidance_a_model_takes(guided_server, unguided_server):
    for srv, default, most in ((guided_server, 2.0, 4.0), (unguided_server, 1.0, 1.0)):
        with AnimationClient(srv.target) as client:
            info = client.describe().models[0]
        assert (info.default_guidance, info.max_guidance) == (default, most)


def test_a_session_gets_the_default_or_its_own_guidance(guided_server, speech_wav):
    with AnimationClient(guided_server.target) as client:
        default = np.asarray(client.animate_wav(speech_wav).values)
        two = np.asarray(client.animate_wav(speech_wav, guidance=2.0).values)
        off = np.asarray(client.animate_wav(speech_wav, guidance=1.0).values)
    np.testing.assert_array_equal(default, two)
    assert default.shape == off.shape and not np.allclose(default, off)


def test_guidance_on_a_model_without_a_null_audio_is_invalid(unguided_server, speech_wav):
    with AnimationClient(unguided_server.target) as client:
        client.animate_wav(speech_wav, guidance=1.0)  # off: accepted
        with pytest.raises(grpc.RpcError) as err:
            client.animate_wav(speech_wav, guidance=2.0)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "trained without guidance" in err.value.details() and "1 (off) to 1" in err.value.details()
