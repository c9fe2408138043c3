import dataclasses

import numpy as np
import pytest
import torch

from artalk_service.model import ModelConfig, MotionModel, StreamOptions


def stream_in_chunks(model, audio, options, rng, max_chunk=3000):
    stream = model.open_stream(options)
    frames, i = [], 0
    while i < audio.size:
        n = int(rng.integers(1, max_chunk))
        stream.push_audio(audio[i : i + n])
        i += n
        if rng.random() < 0.7:
            frames.append(stream.process())
    frames.append(stream.flush())
    return np.concatenate(frames)


@pytest.mark.parametrize("options", [StreamOptions(), StreamOptions(temperature=1.0, top_p=0.9, seed=7)])
def test_streamed_equals_offline_for_any_chunking(tiny_model, speechlike, options):
    offline = tiny_model.animate(speechlike, options)
    rng = np.random.default_rng(1)
    for max_chunk in (50, 700, 5000, 60000):
        np.testing.assert_array_equal(stream_in_chunks(tiny_model, speechlike, options, rng, max_chunk), offline)


def test_frame_count_after_flush(tiny_model, speechlike):
    for n in (0, 1, 639, 640, 641, 2560, 2561, 12345):
        frames = tiny_model.animate(speechlike[:n], StreamOptions())
        assert frames.shape == (-(-n // 640), 61) and frames.dtype == np.float32


def test_output_ranges(tiny_model, speechlike):
    frames = tiny_model.animate(speechlike, StreamOptions(temperature=1.0))
    blend = [i for i, c in enumerate(tiny_model.layout.channels) if c not in tiny_model.layout.rotation_channels]
    assert np.isfinite(frames).all()
    assert frames[:, blend].min() >= 0 and frames[:, blend].max() <= 1


def test_greedy_and_seeded_sampling_are_deterministic(tiny_model, speechlike):
    greedy = tiny_model.animate(speechlike, StreamOptions(seed=1))
    lids = [i for i, c in enumerate(tiny_model.layout.channels) if c.startswith(("EyeBlink", "EyeWide"))]
    decoded = np.setdiff1d(np.arange(greedy.shape[1]), lids)  # greedy decoding draws nothing: the seed
    np.testing.assert_array_equal(
        greedy[:, decoded],  # only times the blinks (model/blinks.py)
        tiny_model.animate(speechlike, StreamOptions(seed=2))[:, decoded],
    )
    sampled = StreamOptions(temperature=1.5, seed=3)
    a = tiny_model.animate(speechlike, sampled)
    np.testing.assert_array_equal(a, tiny_model.animate(speechlike, sampled))
    assert not np.array_equal(a, tiny_model.animate(speechlike, StreamOptions(temperature=1.5, seed=4)))
    assert not np.array_equal(a, greedy)


def test_windows_are_handed_out_one_at_a_time(tiny_model, speechlike):
    W, L = tiny_model.window_frames, tiny_model.lookahead_frames
    stream = tiny_model.open_stream(StreamOptions())
    stream.push_audio(speechlike[: (W + L) * 640 - 1])
    assert stream.ready_jobs() == []
    stream.push_audio(speechlike[(W + L) * 640 - 1 :])
    jobs = stream.ready_jobs()
    assert len(jobs) == 1 and stream.ready_jobs() == []  # the next waits for this one
    tiny_model.run_windows(jobs)
    assert stream.pop_frames().shape == (W, 61)
    tiny_model.run_windows(jobs)  # a stale job is ignored
    assert stream.pop_frames().shape == (0, 61)
    assert len(stream.ready_jobs()) == 1


def test_batched_run_windows_matches_single_streams(tiny_model, speechlike):
    options = [StreamOptions(), StreamOptions(temperature=1.0, seed=5), StreamOptions(temperature=0.7, top_p=0.8)]
    audios = [speechlike, speechlike[::-1].copy(), speechlike[:30000]]
    streams = [tiny_model.open_stream(o) for o in options]
    for stream, audio in zip(streams, audios):
        stream.push_audio(audio)
    outputs = [[] for _ in streams]
    while jobs := [job for stream in streams for job in stream.ready_jobs()]:
        tiny_model.run_windows(jobs)
        for out, stream in zip(outputs, streams):
            out.append(stream.pop_frames())
    for out, stream, audio, o in zip(outputs, streams, audios, options):
        batched = np.concatenate(out + [stream.flush()])
        np.testing.assert_allclose(batched, tiny_model.animate(audio, o), atol=1e-4)


def test_flush_and_cancel_start_new_utterances(tiny_model, speechlike):
    stream = tiny_model.open_stream(StreamOptions())
    stream.push_audio(speechlike[:5000])
    assert stream.flush().shape == (8, 61)
    stream.push_audio(speechlike[:20000])
    stream.cancel()
    assert stream.process().shape == (0, 61)
    stream.push_audio(speechlike[:3000])
    assert stream.flush().shape == (5, 61)
    assert stream.flush().shape == (0, 61)


def test_style_options(tiny_model, speechlike):
    clip = np.random.default_rng(0).uniform(0, 1, (20, 61)).astype(np.float32)
    with_clip = tiny_model.animate(speechlike, StreamOptions(style=clip))
    assert not np.array_equal(with_clip, tiny_model.animate(speechlike, StreamOptions()))
    with pytest.raises(ValueError, match="available presets"):
        tiny_model.open_stream(StreamOptions(style="happy"))
    with pytest.raises(ValueError, match=r"\(frames, 61\)"):
        tiny_model.open_stream(StreamOptions(style=np.zeros((20, 52))))
    with pytest.raises(ValueError):
        tiny_model.open_stream(StreamOptions(top_p=0.0))


def test_style_presets_survive_a_checkpoint(tiny_model, speechlike, tmp_path):
    clip = np.random.default_rng(0).uniform(0, 1, (20, 61)).astype(np.float32)
    model = MotionModel(tiny_model.net, "test-presets", {"calm": clip})
    path = tmp_path / "m.safetensors"
    model.save(path)
    loaded = MotionModel.load(path)
    assert list(loaded.style_presets) == ["calm"]
    by_name = loaded.animate(speechlike, StreamOptions(style="calm"))
    by_clip = tiny_model.animate(speechlike, StreamOptions(style=clip))
    decoded = [i for i, c in enumerate(model.layout.channels) if not c.startswith(("EyeBlink", "EyeWide"))]
    np.testing.assert_array_equal(by_name[:, decoded], by_clip[:, decoded])  # (a named style blinks at its rate)


def test_rejects_integer_pcm(tiny_model):
    with pytest.raises(ValueError, match="float"):
        tiny_model.open_stream(StreamOptions()).push_audio(np.zeros(640, np.int16))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_streaming_matches_offline_and_cpu(speechlike):
    from artalk_service.model import ModelConfig

    cpu = MotionModel.untrained(ModelConfig.tiny(), seed=0)
    gpu = MotionModel.untrained(ModelConfig.tiny(), device="cuda", seed=0)
    options = StreamOptions(temperature=1.0, seed=2)
    offline = gpu.animate(speechlike, options)
    np.testing.assert_array_equal(stream_in_chunks(gpu, speechlike, options, np.random.default_rng(0)), offline)
    # different kernels: equal up to rare bit flips near a zero logit
    assert np.mean(np.abs(offline - cpu.animate(speechlike, options)) < 1e-3) > 0.9


def test_inference_conditions_equal_the_training_path(tiny_model, speechlike):
    """conditions() runs the last Whisper layer and the adapter on the rows tokens read only;
    the values equal tf.modulations(token_conditions(speech.adapt(whisper_features(audio))))."""
    net = tiny_model.net
    S = tiny_model.config.window.context_frames * 640
    audio = torch.from_numpy(np.stack([speechlike[:S], speechlike[S : 2 * S], np.zeros(S, np.float32)]))
    with torch.inference_mode():
        fast = net.conditions(audio)
        full = net.transformer.modulations(net.token_conditions(net.speech.adapt(net.speech.whisper_features(audio))))
    for a, b in zip(fast, full):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("centred", [True, False])
def test_default_config_conditions_equal_the_training_path(speechlike, centred):
    window = dataclasses.replace(ModelConfig().window, centred_frames=centred)
    model = MotionModel.untrained(ModelConfig(window=window), seed=0)
    net, S = model.net, model.config.window.context_frames * 640
    audio = torch.from_numpy(np.stack([speechlike[:S], speechlike[-S:]]))
    with torch.inference_mode():
        fast = net.conditions(audio)
        full = net.transformer.modulations(net.token_conditions(net.speech.adapt(net.speech.whisper_features(audio))))
    for a, b in zip(fast, full):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("centred", [True, False])
def test_frame_features_are_centred_on_the_frames(centred):
    """Feature row k is centred at 20k ms and frame j at 40j + 20 ms, i.e. at row 2j + 1: on
    rows that count their own index, centred frame features read 2j + 1; the legacy pairs 2j + 0.5."""
    window = dataclasses.replace(ModelConfig.tiny().window, centred_frames=centred)
    net = MotionModel.untrained(dataclasses.replace(ModelConfig.tiny(), window=window), seed=0).net
    W = window.frames
    rows = torch.arange(2 * W + int(centred), dtype=torch.float32)[None, :, None]
    expected = 2 * torch.arange(W) + (1.0 if centred else 0.5)
    torch.testing.assert_close(net.frame_features(rows)[0, :, 0], expected)


def test_exact_equality_for_any_chunking_with_single_window_encoding(speechlike):
    """encode_ahead=1: every window's speech encoder pass is the same single pass however the
    audio was chunked, so streamed output is bit-identical to offline."""
    model = MotionModel.untrained(ModelConfig.tiny(), seed=0, encode_ahead=1)
    offline = model.animate(speechlike, StreamOptions(temperature=0.8, seed=1))
    rng = np.random.default_rng(3)
    for max_chunk in (30, 4000):
        np.testing.assert_array_equal(
            stream_in_chunks(model, speechlike, StreamOptions(temperature=0.8, seed=1), rng, max_chunk), offline
        )
