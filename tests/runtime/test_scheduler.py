"""The batching scheduler without gRPC: batched sessions equal unbatched inference,
flush and cancel through the model thread, earliest deadline first, idle frames."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import torch

from artalk_service.audio import AudioFormat
from artalk_service.audio.formats import Encoding
from artalk_service.model import ModelConfig, MotionModel, StreamOptions
from artalk_service.retarget import MapLibrary
from artalk_service.runtime.scheduler import Done, Echo, Failed, FailureKind, Scheduler, SchedulerConfig
from artalk_service.runtime.session import FrameBlock, Session, SessionSettings, UtteranceEnd

RATE = 16000


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The tiny model's ops are microseconds long: a second intra-op thread only adds
    synchronisation (and stalls badly when another process shares the CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small_model() -> MotionModel:
    return MotionModel.untrained(ModelConfig.tiny(), seed=0)


def speech(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(RATE * seconds)) / RATE
    f0 = 110 + 40 * seed
    voiced = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3.5 * t))
    return (0.2 * voiced + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def settings(model, seed: int = 0, temperature: float = 0.0, **extra) -> SessionSettings:
    maps = MapLibrary(model.layout)
    return SessionSettings(
        audio_format=AudioFormat(Encoding.FLOAT32_LE, RATE, 1),
        output_fps=25,
        retarget=maps.presets["arkit61"],
        style_name="",
        stream_options=StreamOptions(seed=seed, temperature=temperature),
        **extra,
    )


def offline(model, audio: np.ndarray, s: SessionSettings) -> np.ndarray:
    session = Session(s, model)
    session.push_audio(audio.tobytes())
    block, _ = session.finish_utterance()
    return block.native


async def collect(handle) -> list:
    events = []
    while not isinstance(event := await handle.outbox.get(), (Done, Failed)):
        events.append(event)
    return events + [event]


def native_of(events, idle=False) -> np.ndarray:
    return np.concatenate([e.native for e in events if isinstance(e, FrameBlock) and e.idle == idle])


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_batched_sessions_equal_unbatched_inference(small_model):
    audios = [speech(2.3, 0), speech(1.7, 1), speech(2.9, 2), speech(0.5, 3)]
    configs = [
        settings(small_model),
        settings(small_model, seed=5, temperature=1.0),
        settings(small_model, seed=1, temperature=0.7),
        settings(small_model),
    ]

    async def main():
        scheduler = Scheduler(small_model, SchedulerConfig(max_batch=8))
        scheduler.start()
        handles = [await scheduler.open(s) for s in configs]
        for h, audio in zip(handles, audios):
            for chunk in np.array_split(audio, 7):
                h.push(chunk.tobytes(), chunk.size / RATE)
            h.end()
        results = [await collect(h) for h in handles]
        batches = [s.batch for s in scheduler.stats]
        await scheduler.stop()
        return results, batches

    results, batches = run(main())
    assert max(batches) > 1  # sessions really were batched
    for events, audio, s in zip(results, audios, configs):
        assert isinstance(events[-1], Done)
        np.testing.assert_allclose(native_of(events), offline(small_model, audio, s), atol=1e-4)
        ends = [e for e in events if isinstance(e, UtteranceEnd)]
        assert len(ends) == 1 and ends[0].frame_count == -(-audio.size * 25 // RATE)


def test_flush_cancel_and_echo_in_order(small_model):
    async def main():
        scheduler = Scheduler(small_model)
        scheduler.start()
        h = await scheduler.open(settings(small_model, echo_audio=True))
        a, b = speech(1.0, 0), speech(0.7, 1)
        h.push(a.tobytes(), 1.0)
        h.flush()
        h.push(b.tobytes(), 0.7)
        h.cancel()
        h.push(a[:8000].tobytes(), 0.5)
        h.end()
        events = await collect(h)
        await scheduler.stop()
        return events

    events = run(main())
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Echo" and kinds[-1] == "Done"
    ends = [e for e in events if isinstance(e, UtteranceEnd)]
    assert [e.cancelled for e in ends] == [False, True, False]
    assert ends[0].frame_count == 25 and ends[2].frame_count == 13
    times = np.concatenate([e.time_codes for e in events if isinstance(e, FrameBlock)])
    assert np.all(np.diff(times) > 0)
    echoes = [e.time_code for e in events if isinstance(e, Echo)]
    assert echoes == pytest.approx([0.0, 1.0, 1.7])


def test_earliest_deadline_first(small_model):
    """With room for one window per step, a real-time session's window goes before the
    windows of a session whose audio came far ahead of real time."""

    async def main():
        scheduler = Scheduler(small_model, SchedulerConfig(max_batch=1))
        scheduler.start()
        bulk = await scheduler.open(settings(small_model))
        live = await scheduler.open(settings(small_model))
        with scheduler._cond:  # hold the model thread while both arrive
            bulk.push(speech(6.0, 0).tobytes(), 6.0)  # 6 s at once: later windows are due later
            await asyncio.sleep(0.05)
            live.push(speech(0.3, 1).tobytes(), 0.3)  # one window, due now
        first_live = await live.outbox.get()
        served_bulk = bulk.outbox.qsize()
        await scheduler.stop()
        return first_live, served_bulk

    first_live, served_bulk = run(main())
    assert isinstance(first_live, FrameBlock)
    assert served_bulk <= 2  # at most the bulk session's first windows went before


def test_idle_frames_fill_the_gaps_between_utterances(small_model):
    async def main():
        scheduler = Scheduler(small_model, SchedulerConfig(idle_lead_s=0.0))
        scheduler.start()
        h = await scheduler.open(settings(small_model, idle_motion=True))
        await asyncio.sleep(0.3)
        h.push(speech(1.0, 0).tobytes(), 1.0)
        h.flush()
        await asyncio.sleep(0.4)
        h.push(speech(0.5, 1).tobytes(), 0.5)
        h.end()
        events = await collect(h)
        await scheduler.stop()
        return events

    events = run(main())
    blocks = [e for e in events if isinstance(e, FrameBlock)]
    times = np.concatenate([b.time_codes for b in blocks])
    assert np.all(np.diff(times) > 1e-6)  # strictly increasing across idle and speech
    idle_before = [b for b in blocks if b.idle and b.utterance_index == 0]
    idle_between = [b for b in blocks if b.idle and b.utterance_index == 1]
    assert idle_before and idle_between
    ends = [e for e in events if isinstance(e, UtteranceEnd)]
    assert [e.frame_count for e in ends] == [25, 13]  # utterance counts are unchanged
    # utterance 1 starts one frame period after its last idle frame
    last_idle = max(b.time_codes[-1] for b in idle_between)
    assert ends[1].start_time == pytest.approx(last_idle + 1 / 25)
    native = native_of(events, idle=True)
    head = small_model.layout.indices(("HeadYaw", "HeadPitch"))
    assert np.abs(native[:, head]).max() > 1e-3 and np.isfinite(native).all()


def test_bad_audio_fails_only_its_session(small_model):
    async def main():
        scheduler = Scheduler(small_model)
        scheduler.start()
        bad = await scheduler.open(settings(small_model))
        good = await scheduler.open(settings(small_model))
        bad.push(np.array([np.nan] * 100, np.float32).tobytes(), 100 / RATE)
        good.push(speech(0.8, 0).tobytes(), 0.8)
        good.end()
        results = await collect(bad), await collect(good)
        await scheduler.stop()
        return results

    bad_events, good_events = run(main())
    assert isinstance(bad_events[-1], Failed) and bad_events[-1].kind is FailureKind.BAD_AUDIO
    assert isinstance(good_events[-1], Done)


def test_idle_time_codes_increase_across_an_empty_flush_and_tiny_chunks(small_model):
    async def main():
        scheduler = Scheduler(small_model, SchedulerConfig(idle_lead_s=0.0))
        scheduler.start()
        h = await scheduler.open(settings(small_model, idle_motion=True))
        await asyncio.sleep(0.2)
        h.flush()  # an empty utterance while idle
        h.push(b"", 0.0)  # an empty chunk
        await asyncio.sleep(0.2)
        h.push(speech(0.4, 0).tobytes(), 0.4)
        h.end()
        events = await collect(h)
        await scheduler.stop()
        return events

    events = run(main())
    blocks = [e for e in events if isinstance(e, FrameBlock)]
    times = np.concatenate([b.time_codes for b in blocks])
    assert np.all(np.diff(times) > 1e-6)
    idle = sum(len(b.time_codes) for b in blocks if b.idle)
    assert 6 <= idle <= 16  # ~0.4 s at 25 fps, paced by the wall clock (no burst)
    assert [e.frame_count for e in events if isinstance(e, UtteranceEnd)] == [0, 10]
