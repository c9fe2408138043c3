"""The onnxruntime backend against the torch backend on the tiny model (exported by
`artalk-export --tiny`): same codes, frames within float rounding, same streaming contract."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnxruntime
import pytest
import torch

from artalk_service.export.onnx_backend import CUDA_PROVIDER, OnnxBackend, execution_providers
from artalk_service.export.parity import greedy_codes
from artalk_service.loader import load_model
from artalk_service.model import MotionModel, StreamOptions
from artalk_service.model.backend import resolve_backend


@pytest.fixture(scope="module")
def onnx_model(tiny_model, tiny_onnx_dir):
    return tiny_model.with_backend(OnnxBackend(tiny_onnx_dir, "cpu", threads=1))


def test_greedy_codes_identical_and_frames_within_rounding(tiny_model, onnx_model, speechlike):
    want_codes, want = greedy_codes(tiny_model, speechlike)
    got_codes, got = greedy_codes(onnx_model, speechlike)
    np.testing.assert_array_equal(got_codes, want_codes)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert onnx_model.backend.name == "onnxruntime" and onnx_model.model_id == tiny_model.model_id


@pytest.mark.parametrize(
    "options", [StreamOptions(temperature=1.0, top_p=0.9, seed=7), StreamOptions(temperature=0.6, seed=2, style="calm")]
)
def test_seeded_sampling_and_style_mean_the_same(tiny_model, onnx_model, speechlike, options):
    clip = np.random.default_rng(0).uniform(0, 1, (30, 61)).astype(np.float32)
    on_torch = MotionModel(tiny_model.net, tiny_model.model_id, {"calm": clip})
    on_onnx = on_torch.with_backend(onnx_model.backend)
    np.testing.assert_allclose(on_onnx.animate(speechlike, options), on_torch.animate(speechlike, options), atol=1e-5)
    torch.testing.assert_close(
        on_onnx.open_stream(options).style_C, on_torch.open_stream(options).style_C, atol=1e-6, rtol=1e-5
    )


def test_streaming_and_batching_on_onnxruntime(onnx_model, speechlike):
    """Chunked streams equal offline, and a batch of streams equals each alone (dynamic batch)."""
    options = [StreamOptions(), StreamOptions(temperature=1.0, seed=5)]
    audios = [speechlike, speechlike[::-1].copy()]
    streams = [onnx_model.open_stream(o) for o in options]
    rng, outputs = np.random.default_rng(0), [[] for _ in streams]
    offsets = [0, 0]
    while any(off < a.size for off, a in zip(offsets, audios)):
        for i, (stream, audio) in enumerate(zip(streams, audios)):
            n = int(rng.integers(1, 5000))
            stream.push_audio(audio[offsets[i] : offsets[i] + n])
            offsets[i] += n
        onnx_model.run_windows([job for stream in streams for job in stream.ready_jobs()])
        for out, stream in zip(outputs, streams):
            out.append(stream.pop_frames())
    for out, stream, audio, o in zip(outputs, streams, audios, options):
        np.testing.assert_allclose(np.concatenate(out + [stream.flush()]), onnx_model.animate(audio, o), atol=1e-5)


def test_initial_codes_and_null_style_come_from_the_graphs(tiny_model, onnx_model):
    np.testing.assert_array_equal(onnx_model.backend.initial_bits().numpy(), tiny_model.net.initial_bits()[0].numpy())
    np.testing.assert_array_equal(
        onnx_model.open_stream(StreamOptions()).style_C.numpy(), tiny_model.net.style.null_C.detach().numpy()
    )


def test_torch_only_speed_mode_is_refused(onnx_model, speechlike):
    with pytest.raises(ValueError, match="torch backend"):
        onnx_model.backend.conditions(speechlike[None, :7680], torch.bfloat16)


@pytest.mark.skipif(CUDA_PROVIDER in onnxruntime.get_available_providers(), reason="CUDA provider present")
def test_cuda_requested_without_cuda_provider_fails_loudly():
    with pytest.raises(RuntimeError, match="CUDAExecutionProvider.*install the gpu extra"):
        execution_providers(torch.device("cuda"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "artalk_service.server.cli",
            "serve",
            "--untrained",
            "--backend",
            "onnxruntime",
            "--device",
            "cuda",
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "CUDAExecutionProvider" in proc.stderr


def test_serve_loads_an_existing_export(bundled_onnx_dir, torch_model):
    served = load_model(None, "cpu", "auto", bundled_onnx_dir)  # auto on CPU: onnxruntime (measured faster)
    assert served.backend.name == "onnxruntime" and served.model_id == torch_model.model_id
    assert resolve_backend("torch", torch.device("cpu")) == "torch"
    assert resolve_backend("auto", torch.device("cuda")) == "torch"
