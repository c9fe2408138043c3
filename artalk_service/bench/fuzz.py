"""Protocol fuzzing: generated Stream message sequences against a real server.

Hypothesis generates sequences of client messages: valid and malformed SessionConfigs
(unknown encodings, sample rates 0 to 2^32-1, NaN and infinite temperature, top_p and guidance,
unknown presets, broken style clips and retarget maps, huge strings), audio chunks of
random bytes, odd lengths and sizes around every limit, float audio full of NaN, empty
messages, a config twice, audio before the config, messages after end_of_audio, flush
and cancel storms, bytes that are no protobuf message at all and serialized messages cut
short; each call ends with the client's half-close or with the client cancelling it.
Every call must end within its deadline with OK or a documented status and keep the
invariants of bench/checks.py; the server must stay SERVING.

    python -m artalk_service.bench.fuzz --sequences 10000 --out benchmarks/results/fuzz.json
    python -m artalk_service.bench.fuzz --target 127.0.0.1:50051 --seconds 60   # against a running server

Needs the dev extra (hypothesis). The server it starts serves the untrained tiny model
(this tests the server, not the model) with small message limits, so that messages around
every limit are cheap to make.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.bench.checks import CallOutcome, call_problems, run_context, stream_call
from artalk_service.server.limits import Limits

# Small limits (the defaults are 32 MiB messages, 4 MiB chunks): 10 s of 16 kHz PCM16 is
# 320,000 bytes (max_chunk_seconds), 512 KiB is 1.4 s of 48 kHz stereo float32.
FUZZ_LIMITS = Limits(max_message_bytes=1 << 20, max_chunk_bytes=1 << 19, idle_timeout_seconds=5.0, max_sessions=1000)
CALL_TIMEOUT_S = 60.0
PRESETS = ("arkit61", "arkit_camel", "oculus_visemes", "vrm_expressions", "mouth_simple")
LAYOUT, LAYOUT_FPS, LAYOUT_CHANNELS = "arkit61", 25, 61

U32 = st.integers(0, 2**32 - 1)
FLOAT_EDGES = (0.0, -0.0, 0.5, 1.0, 2.0, 2.5, -1.0, 1e-45, 3.4e38, -3.4e38, math.nan, math.inf, -math.inf)
FLOATS = st.one_of(st.sampled_from(FLOAT_EDGES), st.floats(width=32))
SIZE_EDGES = (1, 2, 3, 5, 321, 3200, 31999, 319998, 320000, 320002, 524287, 524288, 524289, 1048000, 1048577)


# ------------------------------------------------------------------- strategies


def _text(max_size: int = 40):
    huge = st.integers(129, 70_000).map(lambda n: "x" * n)
    return st.one_of(st.text(max_size=max_size), huge)


def _audio_format(valid: bool):
    if valid:
        return st.builds(
            pb.AudioFormat,
            encoding=st.sampled_from([1, 2]),
            sample_rate_hz=st.sampled_from([8000, 16000, 22050, 44100, 48000]),
            channels=st.sampled_from([1, 2]),
        )
    return st.builds(
        pb.AudioFormat,
        encoding=st.one_of(st.sampled_from([0, 1, 2, 3]), st.integers(-(2**31), 2**31 - 1)),
        sample_rate_hz=st.one_of(st.sampled_from([0, 1, 7999, 8000, 48000, 48001, 2**32 - 1]), U32),
        channels=st.one_of(st.sampled_from([0, 1, 2, 3]), U32),
    )


def _retarget():
    inline = st.one_of(
        _text(),
        st.sampled_from(
            [
                '{"extends": "arkit61"}',
                '{"extends": "nope"}',
                "[]",
                "{",
                "a: [",
                '{"channels": {"x": {"sum": {"JawOpen": NaN}}}}',
            ]
        ),
    )
    return st.one_of(
        st.none(),
        st.builds(pb.RetargetSelection, preset=st.one_of(st.sampled_from(PRESETS), _text())),
        st.builds(pb.RetargetSelection, inline_map=inline),
    )


def _style():
    frames = st.integers(0, 3).map(lambda n: n * LAYOUT_CHANNELS)
    clip = st.builds(
        pb.MotionClip,
        layout=st.sampled_from([LAYOUT, "", "nope"]),
        fps=st.sampled_from([LAYOUT_FPS, 0, 30]),
        num_channels=st.sampled_from([LAYOUT_CHANNELS, 0, 1]),
        values=st.one_of(frames.map(lambda n: [0.1] * n), st.lists(FLOATS, max_size=130)),
    )
    return st.one_of(
        st.none(), st.builds(pb.StyleSelection, preset=_text()), st.builds(pb.StyleSelection, reference_clip=clip)
    )


def valid_configs():
    return st.builds(
        pb.SessionConfig,
        audio_format=_audio_format(True),
        output_fps=st.sampled_from([0, 25, 30, 60, 120]),
        seed=U32,
        temperature=st.sampled_from([0.0, 0.7]),
        top_p=st.sampled_from([0.0, 0.9]),
        retarget=st.one_of(st.none(), st.builds(pb.RetargetSelection, preset=st.sampled_from(PRESETS))),
        head_motion=st.booleans(),
        blinks=st.booleans(),
        echo_audio=st.booleans(),
        include_native_motion=st.booleans(),
        idle_motion=st.booleans(),
    )


def session_configs():
    """Mostly valid configs (the session then runs), and configs broken in every field."""
    valid = valid_configs()
    wild = st.builds(
        pb.SessionConfig,
        audio_format=st.one_of(st.none(), _audio_format(False)),
        output_fps=st.one_of(st.sampled_from([0, 1, 120, 121]), U32),
        retarget=_retarget(),
        style=_style(),
        seed=st.integers(0, 2**64 - 1),
        temperature=FLOATS,
        top_p=FLOATS,
        guidance=FLOATS,
        session_id=_text(),
        character_id=_text(),
        idle_motion=st.booleans(),
    )
    return st.one_of(valid, valid, wild)


def _payload(size: int, kind: str, noise_seed: int) -> bytes:
    if kind == "zeros":
        return bytes(size)
    if kind == "nan32":  # float32 NaN and infinity amid small samples
        words = np.resize(np.array([0.01, math.nan, -0.02, math.inf], "<f4"), (size + 3) // 4)
        return words.tobytes()[:size]
    return np.random.default_rng(noise_seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def _encoded(fmt: pb.AudioFormat, frames: int, level: float, noise_seed: int) -> bytes:
    """`frames` sample frames of noise at `level` in the config's own format."""
    samples = level * np.random.default_rng(noise_seed).standard_normal(frames * fmt.channels)
    if fmt.encoding == pb.AUDIO_ENCODING_PCM_S16LE:
        return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    return samples.astype("<f4").tobytes()


def audio_payloads():
    sized = st.builds(
        _payload, st.sampled_from(SIZE_EDGES), st.sampled_from(["zeros", "noise", "nan32"]), st.integers(0, 2**16)
    )
    speech_like = st.builds(
        _payload, st.integers(1, 4000).map(lambda n: 2 * n), st.just("noise"), st.integers(0, 2**16)
    )
    return st.one_of(st.binary(max_size=64), speech_like, speech_like, sized)


FLUSH, CANCEL = pb.StreamRequest(flush=pb.Flush()), pb.StreamRequest(cancel=pb.Cancel())
END, EMPTY = pb.StreamRequest(end_of_audio=pb.EndOfAudio()), pb.StreamRequest()


def _serialized(message: pb.StreamRequest) -> list[bytes]:
    return [message.SerializeToString()]


def _cut(message: bytes, keep: float) -> list[bytes]:
    return [message[: int(len(message) * keep)]]


def message_blocks():
    """One or a few client messages, serialized (or not a protobuf message at all)."""
    config = session_configs().map(lambda c: pb.StreamRequest(config=c))
    audio = audio_payloads().map(lambda d: pb.StreamRequest(audio=pb.AudioChunk(data=d)))
    single = st.one_of(config, audio, audio, audio, st.sampled_from([FLUSH, CANCEL, END, EMPTY])).map(_serialized)
    storm = st.lists(st.sampled_from([FLUSH, CANCEL]), min_size=10, max_size=80).map(
        lambda ms: [m.SerializeToString() for m in ms]
    )
    raw = st.binary(min_size=1, max_size=128).map(lambda b: [b])
    cut = st.builds(_cut, st.one_of(config, audio).map(lambda m: m.SerializeToString()), st.floats(0.1, 0.95))
    return st.one_of(single, single, single, storm, raw, cut)


@dataclass(frozen=True)
class Sequence:
    messages: tuple[bytes, ...]
    cancel_after: int | None  # the client cancels after this many responses (None: it half-closes)

    def __repr__(self) -> str:  # hypothesis prints failing examples; the bytes can be megabytes
        kinds = []
        for m in self.messages:
            try:
                kinds.append(pb.StreamRequest.FromString(m).WhichOneof("message") or "empty")
            except Exception:  # noqa: BLE001 - not a message: shown as raw bytes
                kinds.append(f"raw[{len(m)}]")
        return f"Sequence({' '.join(kinds)}; cancel_after={self.cancel_after}, sizes={[len(m) for m in self.messages]})"


CANCEL_AFTER = st.one_of(st.none(), st.none(), st.none(), st.integers(1, 4))


def well_formed_sequences():
    """A valid config, audio in its format between flushes and cancels, mostly end_of_audio:
    sessions that run, and end in every way."""

    def body(config: pb.SessionConfig):
        rate = config.audio_format.sample_rate_hz
        chunk = st.builds(
            _encoded,
            st.just(config.audio_format),
            st.integers(0, rate // 2),
            st.sampled_from([0.0, 0.05, 0.5, 1.5]),
            st.integers(0, 2**16),
        )
        message = st.one_of(
            chunk.map(lambda d: pb.StreamRequest(audio=pb.AudioChunk(data=d))),
            chunk.map(lambda d: pb.StreamRequest(audio=pb.AudioChunk(data=d))),
            st.sampled_from([FLUSH, CANCEL]),
        )
        ending = st.sampled_from([[END], [END], [END], []])
        return st.builds(
            lambda ms, end, after: Sequence(
                tuple(m.SerializeToString() for m in [pb.StreamRequest(config=config)] + ms + end), after
            ),
            st.lists(message, max_size=8),
            ending,
            CANCEL_AFTER,
        )

    return valid_configs().flatmap(body)


def chaotic_sequences():
    """Anything first, then anything: broken configs, messages in every order, bytes."""
    first = st.one_of(
        session_configs().map(lambda c: [pb.StreamRequest(config=c).SerializeToString()]), message_blocks()
    )
    rest = st.lists(message_blocks(), max_size=8)
    return st.builds(
        lambda head, blocks, after: Sequence(tuple(head + [m for b in blocks for m in b]), after),
        first,
        rest,
        CANCEL_AFTER,
    )


def sequences():
    return st.one_of(well_formed_sequences(), chaotic_sequences())


# ------------------------------------------------------------------- running


@dataclass
class FuzzReport:
    sequences: int = 0
    messages: int = 0
    frames: int = 0  # frames received (their time codes checked)
    utterances: int = 0  # UtteranceFinished received (their frames checked for gaps and count)
    codes: collections.Counter = field(default_factory=collections.Counter)
    call_seconds: list[float] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)  # calls that broke a rule (first ones kept)
    failed_calls: int = 0
    hangs: int = 0
    health_checks: int = 0
    not_serving: int = 0

    def add(self, sequence: Sequence, outcome: CallOutcome, problems: list[str]) -> None:
        self.sequences += 1
        self.messages += len(sequence.messages)
        self.frames += outcome.frames
        self.utterances += sum(r.WhichOneof("message") == "utterance_finished" for r in outcome.responses)
        self.codes[outcome.code.name] += 1
        self.call_seconds.append(outcome.seconds)
        self.hangs += outcome.hung
        if problems:
            self.failed_calls += 1
            if len(self.failures) < 20:
                self.failures.append(
                    {
                        "sequence": repr(sequence),
                        "status": outcome.code.name,
                        "details": outcome.details[:500],
                        "problems": problems[:10],
                    }
                )

    def figures(self) -> dict:
        seconds = np.array(self.call_seconds or [0.0])
        return {
            "sequences": self.sequences,
            "messages": self.messages,
            "frames_checked": self.frames,
            "utterances_checked": self.utterances,
            "status_codes": dict(self.codes.most_common()),
            "crashes": self.codes.get("INTERNAL", 0) + self.codes.get("UNKNOWN", 0),
            "hangs": self.hangs,
            "calls_breaking_a_rule": self.failed_calls,
            "failures": self.failures,
            "call_seconds": {
                "max": float(seconds.max()),
                "p50": float(np.percentile(seconds, 50)),
                "p99": float(np.percentile(seconds, 99)),
                "mean": float(seconds.mean()),
            },
            "health_checks": self.health_checks,
            "health_not_serving": self.not_serving,
        }


class Fuzzer:
    """Runs generated sequences against `target`, one call at a time, and checks each."""

    def __init__(self, target: str, report: FuzzReport | None = None, health_every: int = 50) -> None:
        self.channel = grpc.insecure_channel(
            target, options=[("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
        )
        self.health = health_pb2_grpc.HealthStub(self.channel)
        self.report = report or FuzzReport()
        self.health_every = health_every

    def run(self, sequence: Sequence) -> list[str]:
        """Make the call; -> what was wrong with it (empty: nothing)."""
        outcome = stream_call(self.channel, sequence.messages, CALL_TIMEOUT_S, sequence.cancel_after)
        problems = call_problems(outcome, client_cancelled=sequence.cancel_after is not None)
        if self.report.sequences % self.health_every == 0:
            problems += self.check_health()
        self.report.add(sequence, outcome, problems)
        return problems

    def check_health(self) -> list[str]:
        self.report.health_checks += 1
        status = self.health.Check(health_pb2.HealthCheckRequest(service="artalk.v1.Animation"), timeout=10).status
        if status != health_pb2.HealthCheckResponse.SERVING:
            self.report.not_serving += 1
            return [f"health is {health_pb2.HealthCheckResponse.ServingStatus.Name(status)} after the call"]
        return []

    def close(self) -> None:
        self.channel.close()


def fuzz(fuzzer: Fuzzer, examples: int, random_seed: int = 0, assert_each: bool = False) -> None:
    """Run `examples` generated sequences. With `assert_each`, the first call that breaks a rule
    fails the run (hypothesis then shrinks it to a minimal sequence); without it every outcome
    is only counted in the report."""

    @seed(random_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink] if assert_each else [Phase.generate],
    )
    @given(sequences())
    def one(sequence: Sequence) -> None:
        problems = fuzzer.run(sequence)
        assert not (assert_each and problems), problems

    one()


def fuzz_for(fuzzer: Fuzzer, seconds: float, random_seed: int = 0, batch: int = 50) -> None:
    """Run generated sequences until `seconds` have passed (batches of `batch`, seeds counting up)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        fuzz(fuzzer, batch, random_seed)
        random_seed += 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m artalk_service.bench.fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--sequences", type=int, default=10_000, help="generated call sequences (default 10000)")
    p.add_argument("--seconds", type=float, default=None, help="instead: run sequences for this long")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target", default=None, help="fuzz a running server at HOST:PORT (default: start one)")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    from artalk_service.bench.load import BenchServer

    server = None
    if args.target is None:
        from artalk_service.model import ModelConfig, MotionModel
        from artalk_service.server.config import ServerConfig

        server = BenchServer(MotionModel.untrained(ModelConfig.tiny()), config=ServerConfig(port=0, limits=FUZZ_LIMITS))
    fuzzer = Fuzzer(args.target or server.target)
    start = time.monotonic()
    try:
        if args.seconds is None:
            fuzz(fuzzer, args.sequences, args.seed)
        else:
            fuzz_for(fuzzer, args.seconds, args.seed)
        fuzzer.check_health()
        figures = fuzzer.report.figures()
        if server is not None:
            figures["server_sessions_after"] = server.wait_idle()
    finally:
        fuzzer.close()
        if server is not None:
            server.stop()
    figures.update(
        seconds=time.monotonic() - start,
        seed=args.seed,
        machine=run_context(),
        command=" ".join(["python -m artalk_service.bench.fuzz", *(sys.argv[1:] if argv is None else argv)]),
    )
    print(json.dumps({k: v for k, v in figures.items() if k not in ("failures", "machine")}, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2))
    broken = figures["crashes"] or figures["hangs"] or figures["calls_breaking_a_rule"] or figures["health_not_serving"]
    return 1 if broken or figures.get("server_sessions_after") else 0


if __name__ == "__main__":
    sys.exit(main())
