import dataclasses
from types import SimpleNamespace

import numpy as np
import torch

from artalk_service.model import MotionModel, StreamOptions
from artalk_service.model.artalk import ARTalk
from artalk_service.model.losses import autoencoder_loss
from artalk_service.train import TrainConfig, WindowCorpus, train
from artalk_service.train.trainer import make_optimizer, optimise


def fake_samples(n: int, seed: int):
    """Utterances whose jaw follows the audio envelope: enough to see learning happen."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        S = int(rng.integers(16000, 40000))
        t = np.arange(S) / 16000
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 5) * t)
        audio = (0.3 * envelope * np.sin(2 * np.pi * 150 * t) + 0.01 * rng.standard_normal(S)).astype(np.float32)
        T = -(-S // 640)
        motion = np.zeros((T, 61), np.float32)
        motion[:, 17] = envelope[::640][:T]             # JawOpen
        motion[:, 52] = 0.1 * np.sin(np.arange(T) / 9)  # HeadYaw
        yield SimpleNamespace(audio=audio, motion=motion, phones=np.zeros(T, np.int16),
                              style=("calm", "lively")[i % 2])


def test_windows_match_what_a_stream_hears():
    cfg = TrainConfig.tiny()
    corpus = WindowCorpus(fake_samples(3, 0), cfg.model)
    W = cfg.model.window.frames
    assert len(corpus) == sum(-(-len(m) // W) for m in corpus.motion)
    examples = np.array([[0, 0], [1, 2]])
    mean, std = corpus.motion_stats(0.01)
    windows = corpus.motion_windows(examples, mean, std)
    assert windows.shape == (2, 3 * W, 61)
    assert (windows[0, : 2 * W] == 0).all()  # before the start: rest, as inference begins
    np.testing.assert_allclose(windows[1, 2 * W:], (corpus.motion[1][2 * W: 3 * W] - mean) / std)
    # the audio context of window 2 is exactly the job a stream would hand out
    model = MotionModel.untrained(cfg.model)
    stream = model.open_stream(StreamOptions())
    stream.push_audio(corpus.audio[1])
    jobs = []
    while job := stream.ready_jobs():
        jobs += job
        model.run_windows(job)
    np.testing.assert_array_equal(corpus.audio_contexts(examples[1:])[0], jobs[2].audio)


def test_autoencoder_learns():
    cfg = TrainConfig.tiny()
    corpus = WindowCorpus(fake_samples(4, 1), cfg.model)
    torch.manual_seed(0)
    net = ARTalk(cfg.model)
    mean, std = corpus.motion_stats(0.01)
    net.motion_mean.copy_(torch.from_numpy(mean))
    net.motion_std.copy_(torch.from_numpy(std))
    batch = torch.from_numpy(corpus.motion_windows(corpus.sample(np.random.default_rng(0), 16), mean, std))
    opt, sched, params = make_optimizer([net.autoencoder], dataclasses.replace(cfg.autoencoder, steps=60))
    first = float(autoencoder_loss(net, batch)[0].detach())
    for _ in range(60):
        optimise(autoencoder_loss(net, batch)[0], opt, sched, params, cfg.autoencoder)
    assert float(autoencoder_loss(net, batch)[0].detach()) < 0.7 * first


def test_end_to_end_training_gives_a_loadable_model(tmp_path):
    cfg = TrainConfig.tiny()
    logs = []
    model = train(cfg, WindowCorpus(fake_samples(4, 2), cfg.model), WindowCorpus(fake_samples(2, 3), cfg.model),
                  log=logs.append)
    assert sorted(model.style_presets) == ["calm", "lively"]
    assert model.model_id.startswith("artalk-arkit61-")
    assert any("gen_mae_mouth" in r for r in logs) and any("eval_mae_mouth" in r for r in logs)
    assert all(np.isfinite(r["loss"]) for r in logs if "loss" in r)
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = MotionModel.load(path)
    audio = next(fake_samples(1, 9)).audio
    options = StreamOptions(style="lively")
    np.testing.assert_array_equal(loaded.animate(audio, options), model.animate(audio, options))
    assert not loaded.net.motion_std.eq(1).all()  # normalisation came from the data


def test_cli_needs_the_corpus_reader(tmp_path, monkeypatch):
    import sys
    import types

    fake = types.ModuleType("artalk_service.data.dataset")
    fake.iter_samples = lambda directory, split: fake_samples(4 if split == "train" else 2, 5)
    monkeypatch.setitem(sys.modules, "artalk_service.data.dataset", fake)
    from artalk_service.train.__main__ import main

    main(["--corpus", str(tmp_path), "--out", str(tmp_path / "run"), "--tiny", "--ae-steps", "3", "--ar-steps", "3"])
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert MotionModel.load(tmp_path / "run" / "model.safetensors").style_presets
