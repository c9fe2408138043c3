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
    rest = -mean / std  # every blendshape and rotation 0 (ARTalk.rest_motion), as inference begins
    np.testing.assert_allclose(windows[0, : 2 * W], np.broadcast_to(rest, (2 * W, 61)), rtol=1e-6)
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


def speech_samples(n: int, seed: int):
    """Corpus-like utterances (clean audio, phone segments): what a lead-in needs."""
    from artalk_service.data.motion import build_motion
    from artalk_service.data.phones import PhoneSegment, frame_labels
    from artalk_service.data.prosody import analyse
    from artalk_service.data.styles import STYLES

    rng = np.random.default_rng(seed)
    for i in range(n):
        phones = [("sil", 0.1), ("m", 0.08), ("aa", 0.2), ("p", 0.08), ("iy", 0.2), ("sil", 0.2)]
        segs, t = [], 0.0
        for phone, dur in phones:
            segs.append(PhoneSegment(phone, t, t + dur))
            t += dur
        S = int(t * 16000)
        tt = np.arange(S) / 16000
        voiced = ((tt > 0.1) & (tt < t - 0.2)).astype(np.float32)
        audio = (0.2 * voiced * np.sin(2 * np.pi * 140 * tt) + 1e-3 * rng.standard_normal(S)).astype(np.float32)
        T = -(-S // 640)
        motion = build_motion(tuple(segs), analyse(audio, tuple(segs), T), STYLES["neutral"], rng)
        yield SimpleNamespace(
            audio=audio,
            audio_clean=audio,
            motion=motion,
            phones=frame_labels(tuple(segs), T),
            segments=tuple(segs),
            style=("calm", "happy")[i % 2],
        )


def test_lead_ins_start_utterances_with_non_speech_over_rest_targets():
    from artalk_service.data.articulation import lip_gap
    from artalk_service.train.windows import LeadIn

    cfg = TrainConfig.tiny()
    samples = list(speech_samples(12, 0))
    plain = WindowCorpus(samples, cfg.model)
    led = WindowCorpus(samples, cfg.model, lead_in=LeadIn(0.5, seed=3))
    again = WindowCorpus(samples, cfg.model, lead_in=LeadIn(0.5, seed=3))
    chosen = np.flatnonzero(led.lead_frames)
    assert 0 < len(chosen) < len(samples)
    np.testing.assert_array_equal(led.lead_frames, again.lead_frames)  # the seed decides
    for u in chosen:
        np.testing.assert_array_equal(led.audio[u], again.audio[u])
        L = led.lead_frames[u]
        assert 10 <= L <= 125  # 0.4 - 5 s
        assert len(led.audio[u]) == len(samples[u].audio) + L * 640
        assert len(led.motion[u]) == len(led.phones[u]) == -(-len(led.audio[u]) // 640)
        assert (led.phones[u][:L] == 0).all()
        np.testing.assert_array_equal(led.phones[u][L:], samples[u].phones)
        assert lip_gap(led.motion[u][: L - 5]).max() < 0.05  # the lips rest until just before the onset
        assert lip_gap(led.motion[u][L:]).mean() > 0.1
    for u in np.flatnonzero(led.lead_frames == 0):
        np.testing.assert_array_equal(led.audio[u], plain.audio[u])
    # style references and presets come from the utterances as the corpus made them
    for style in led.by_style:
        np.testing.assert_array_equal(led.preset_clip(style), plain.preset_clip(style))
    assert len(led) > len(plain)
