import dataclasses
from types import SimpleNamespace

import numpy as np
import torch

from artalk_service.model import MotionModel, StreamOptions
from artalk_service.model.artalk import ARTalk
from artalk_service.train import TrainConfig, WindowCorpus
from artalk_service.train.losses import autoencoder_loss
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
        motion[:, 17] = envelope[::640][:T]  # JawOpen
        motion[:, 52] = 0.1 * np.sin(np.arange(T) / 9)  # HeadYaw
        yield SimpleNamespace(audio=audio, motion=motion, phones=np.zeros(T, np.int16), style=("calm", "lively")[i % 2])


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
    np.testing.assert_allclose(windows[1, 2 * W :], (corpus.motion[1][2 * W : 3 * W] - mean) / std)
    # the audio context of window 2 is exactly the job a stream would hand out
    model = MotionModel.untrained(cfg.model)
    stream = model.open_stream(StreamOptions())
    stream.push_audio(corpus.audio[1])
    jobs = []
    while job := stream.ready_jobs():
        jobs += job
        model.run_windows(job)
    np.testing.assert_array_equal(corpus.audio_contexts(examples[1:])[0], jobs[2].audio)


def test_phone_labels_line_up_with_the_speech_features():
    cfg = TrainConfig.tiny()
    samples = list(fake_samples(2, 4))
    for s in samples:
        s.phones = (np.arange(len(s.motion)) % 39 + 1).astype(np.int16)
    corpus = WindowCorpus(samples, cfg.model)
    w = cfg.model.window
    labels = corpus.phone_labels(np.array([[1, 0], [1, 3]]))
    assert labels.shape == (2, 2 * w.context_frames)  # one per 50 Hz Whisper frame
    for row, window in zip(labels, (0, 3)):
        start = (window + 1) * w.frames + w.lookahead_frames - w.context_frames  # the context's first frame
        frames = start + np.arange(row.size) // 2
        inside = frames >= 0
        assert (row[~inside] == 0).all()  # silence before the utterance
        np.testing.assert_array_equal(row[inside], samples[1].phones[frames[inside]])


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
