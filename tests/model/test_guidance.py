"""Classifier-free guidance of the audio: a null audio condition trained by audio dropout,
and generation that pushes each window's bits away from what the null audio predicts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from artalk_service.export import export_model
from artalk_service.export.onnx_backend import OnnxBackend
from artalk_service.export.parity import greedy_codes
from artalk_service.model import ModelConfig, MotionModel, StreamOptions
from artalk_service.model.artalk import ARTalk
from artalk_service.model.sampling import guide
from artalk_service.train.config import TrainConfig
from artalk_service.train.losses import code_targets, transformer_loss


def guided_config() -> ModelConfig:
    tiny = ModelConfig.tiny()
    return dataclasses.replace(tiny, speech=dataclasses.replace(tiny.speech, null_audio=True))


@pytest.fixture(scope="module")
def guided_model() -> MotionModel:
    model = MotionModel.untrained(guided_config(), seed=0, guidance=2.0)
    with torch.no_grad():  # an untrained null of zeros would still differ from speech; make it distinct
        model.net.speech.null_features.copy_(
            torch.randn(model.net.speech.null_features.shape, generator=torch.Generator().manual_seed(1))
        )
    return model


def test_guide_extrapolates_from_the_null_audio():
    heard, null = torch.randn(2, 3, 4, 2), torch.randn(2, 3, 4, 2)
    out = guide(torch.cat([heard, null]), torch.tensor([1.0, 2.5]))
    torch.testing.assert_close(out[0], heard[0])
    torch.testing.assert_close(out[1], null[1] + 2.5 * (heard[1] - null[1]))


def test_guidance_changes_the_output_and_one_means_off(guided_model, speechlike):
    guided = guided_model.animate(speechlike)  # the model's default: 2
    off = guided_model.animate(speechlike, StreamOptions(guidance=1.0))
    stronger = guided_model.animate(speechlike, StreamOptions(guidance=3.0))
    assert guided.shape == off.shape and not np.allclose(guided, off) and not np.allclose(guided, stronger)
    np.testing.assert_array_equal(guided_model.animate(speechlike, StreamOptions(guidance=2.0)), guided)


def test_guided_and_unguided_streams_batch_together(guided_model, speechlike):
    """Each row keeps its own scale: a batch of g = 1 and g = 3 equals each stream alone."""
    options = [StreamOptions(guidance=1.0), StreamOptions(guidance=3.0)]
    streams = [guided_model.open_stream(o) for o in options]
    for stream in streams:
        stream.push_audio(speechlike)
        stream.end_audio()
    while not all(s.end_complete for s in streams):
        guided_model.run_windows([job for s in streams for job in s.ready_jobs()])
    for stream, o in zip(streams, options):
        np.testing.assert_allclose(stream.close_utterance(), guided_model.animate(speechlike, o), atol=1e-5)


def test_guidance_needs_a_null_audio_and_a_sane_scale(tiny_model, guided_model):
    with pytest.raises(ValueError, match="without a null audio condition"):
        tiny_model.open_stream(StreamOptions(guidance=2.0))
    tiny_model.open_stream(StreamOptions(guidance=1.0))
    for bad in (0.5, 4.5, float("nan")):
        with pytest.raises(ValueError, match="guidance must be"):
            guided_model.open_stream(StreamOptions(guidance=bad))
    with pytest.raises(ValueError, match="supports guidance 1 only"):
        ARTalk(ModelConfig.tiny()).null_conditions()


def test_the_default_guidance_travels_with_the_checkpoint(guided_model, speechlike, tmp_path):
    guided_model.save(tmp_path / "guided.safetensors")
    loaded = MotionModel.load(tmp_path / "guided.safetensors")
    assert loaded.guidance == 2.0 and loaded.guides
    np.testing.assert_array_equal(loaded.animate(speechlike), guided_model.animate(speechlike))


def test_onnx_export_guides_as_torch_does(guided_model, speechlike, tmp_path):
    manifest = export_model(guided_model, tmp_path, clips=2)  # its parity check decodes with guidance 2
    assert "null_conditions" in manifest["graphs"]
    on_onnx = guided_model.with_backend(OnnxBackend(tmp_path, "cpu", threads=1))
    assert on_onnx.guidance == 2.0
    np.testing.assert_array_equal(greedy_codes(on_onnx, speechlike)[0], greedy_codes(guided_model, speechlike)[0])
    for options in (StreamOptions(guidance=1.0), StreamOptions(guidance=3.0, temperature=0.7, seed=4)):
        np.testing.assert_allclose(
            on_onnx.animate(speechlike, options), guided_model.animate(speechlike, options), atol=1e-5
        )


def test_audio_dropout_trains_the_null_audio_and_silences_the_speech():
    config = guided_config()
    torch.manual_seed(0)
    net = ARTalk(config)
    W, S = config.window.frames, config.window.context_frames * 640
    motion = torch.randn(2, 3 * W, 61)
    prev_bits, bits = code_targets(net, motion)
    style = net.style.null(2)
    speech = [net.speech.whisper_features(torch.randn(2, S) * 0.1) for _ in range(2)]
    dropped = torch.tensor([True, True])
    losses = [transformer_loss(net, w, style, prev_bits, bits, audio_dropped_B=dropped)[0] for w in speech]
    torch.testing.assert_close(losses[0], losses[1])  # the audio is not heard
    losses[0].backward()
    assert net.speech.null_features.grad is not None and net.speech.null_features.grad.abs().sum() > 0
    heard = transformer_loss(net, speech[1], style, prev_bits, bits, audio_dropped_B=torch.tensor([False, False]))[0]
    assert not torch.allclose(heard, losses[1])


def test_audio_dropout_needs_a_null_audio():
    with pytest.raises(ValueError, match="null_audio"):
        TrainConfig(model=ModelConfig.tiny(), audio_dropout=0.1)
    TrainConfig(model=guided_config(), audio_dropout=0.1)
