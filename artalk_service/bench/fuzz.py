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

Inline retarget maps (inline_maps()) come as JSON and as YAML: maps that parse, with numbers
at and beyond the bounds (1e6, 1e39, integers of 310 and 5,000 digits, NaN), YAML alias
bombs, nesting 1 to 100,000 deep, names of up to 70,000 characters, too many targets or
curve points, YAML tags, merge keys and several documents, and valid maps cut short. They
go into SessionConfigs and, on their own, to ValidateRetargetMap (fuzz_maps). A map that
is accepted must give finite frames only. When it starts the server, the server runs in
this process and the fuzzer in a child process, and a probe coroutine on the server's event
loop measures how late the loop runs (LoopLag): no stall may pass 100 ms.

    python -m artalk_service.bench.fuzz --sequences 10000 --out benchmarks/results/fuzz.json
    python -m artalk_service.bench.fuzz --target 127.0.0.1:50051 --seconds 60   # against a running server

Needs the dev extra (hypothesis). The server it starts serves the untrained tiny model
(this tests the server, not the model) with small message limits, so that messages around
every limit are cheap to make.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import math
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.api.artalk.v1 import service_pb2_grpc
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


# ------------------------------------------------------------------- inline retarget maps

CHANNELS = ("JawOpen", "MouthClose", "MouthFunnel", "EyeBlinkLeft", "HeadYaw", "LeftEyePitch", "TongueOut")
ROTATIONS = ("HeadYaw", "HeadPitch", "HeadRoll")
MAP_NUMBER_EDGES = (0, 1, -1, 0.5, 1e6, -1e6, 1e-300, 100, 1e39, 1e200, -1e300, 10**309, math.nan, math.inf)


def _bounded_numbers():
    """Numbers a map may hold (|x| <= 1e6): the edges, and any in between."""
    return st.one_of(st.sampled_from([0, 1, -1, 0.5, 1e6, -1e6, 1e-300]), st.floats(-1e6, 1e6))


def _map_numbers():
    return st.one_of(_bounded_numbers(), st.sampled_from(MAP_NUMBER_EDGES), st.integers(-(10**40), 10**40))


def _map_names():
    return st.one_of(
        st.sampled_from(["a", "b", "jaw", "Blink_L", ""]),
        st.text(max_size=12),
        st.sampled_from([256, 257, 15_000, 70_000]).map(lambda n: "n" * n),
    )


def _curves(numbers):
    points = st.lists(st.tuples(numbers, numbers).map(list), min_size=0, max_size=6)
    many = st.sampled_from([255, 256, 257, 2000]).map(lambda n: [[i, i % 2] for i in range(n)])
    return st.one_of(
        st.none(),
        st.just("linear"),
        st.builds(lambda e: {"type": "power", "exponent": e}, st.one_of(numbers, st.sampled_from([100, 101, 1e30]))),
        st.builds(lambda a, b: {"type": "smoothstep", "edges": [a, b]}, numbers, numbers),
        st.builds(
            lambda ps: {"type": "piecewise", "points": sorted(ps, key=lambda p: p[0])},
            st.one_of(points, many),
        ),
        st.sampled_from([{"type": "cubic"}, {"type": "power"}, "x", 3, [1, 2]]),
    )


def _map_specs(numbers, names):
    """Map objects: mostly well formed, with any numbers and names."""
    sources = st.dictionaries(st.one_of(st.sampled_from(CHANNELS), st.text(max_size=8)), numbers, max_size=4)
    target = st.fixed_dictionaries(
        {"name": names, "sources": sources},
        optional={
            "gain": numbers,
            "offset": numbers,
            "clamp": st.lists(numbers, min_size=2, max_size=2),
            "curve": _curves(numbers),
            "smoothing": numbers,
            "mirror": names,
        },
    )
    bone = st.fixed_dictionaries(
        {"bone": names, "from": st.just(list(ROTATIONS))},
        optional={
            "convention": st.sampled_from(["unity", "unreal", "gltf", "maya"]),
            "output": st.sampled_from(["quaternion", "euler_degrees"]),
            "gain": numbers,
            "smoothing": numbers,
        },
    )
    many = st.sampled_from([2048, 2049]).map(lambda n: [{"name": f"t{i}", "sources": {"JawOpen": 1}} for i in range(n)])
    return st.fixed_dictionaries(
        {"targets": st.one_of(st.lists(target, max_size=4), many)},
        optional={
            "name": names,
            "extends": st.sampled_from([*PRESETS, "nope"]),
            "bones": st.lists(bone, max_size=2),
            "swap_sides": st.booleans(),
        },
    )


def _as_text(spec: dict, as_yaml: bool) -> str:
    if as_yaml:
        return yaml.safe_dump(spec, default_flow_style=None, allow_unicode=True)
    return json.dumps(spec)  # NaN and Infinity as JavaScript writes them


def alias_bomb(levels: int, fan: int) -> str:
    """YAML whose nested anchors stand for fan**levels strings, used as one target's weight."""
    anchors = ["&a0 [" + ", ".join(["lol"] * fan) + "]"]
    anchors += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]" for i in range(1, levels)]
    return "$schema: [" + ", ".join(anchors) + f"]\ntargets: [{{name: t, sources: {{JawOpen: *a{levels - 1}}}}}]\n"


def _nested(depth: int, style: str) -> str:
    if style == "json":
        return '{"targets": ' + "[" * depth + "]" * depth + "}"
    if style == "flow":
        return "targets: " + "[" * depth + "]" * depth
    depth = min(depth, 1000)  # block mappings indent one more space a level: 1,000 levels are 0.5 MB
    return "".join(f"{' ' * i}k{i}:\n" for i in range(depth)) + " " * depth + "x: 1\n"


YAML_ODDITIES = (
    "targets: !!binary aGVsbG8=",
    "targets: !!set {a, b}",
    "targets: !!python/object:os.system [ls]",
    "targets: [{name: a, sources: {JawOpen: 2001-12-14t21:59:43.10-05:00}}]",
    "base: &b {name: a, sources: {JawOpen: 1}}\ntargets: [{<<: *b, name: c}]",
    "--- {}\n--- {}\n",
    "targets:\n\t- name: a",
    "targets: [{name: a, sources: {JawOpen: 1}}]\x00",
    "a: &a [*a]",
    "targets: [{name: a, sources: {JawOpen: 0x" + "f" * 300 + "}}]",
    "targets: [{name: a, sources: {JawOpen: 1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19:20:21:22}}]",
    "targets: *undefined",
)


def inline_maps():
    """Inline map texts: valid maps (numbers within bounds) and hostile ones of every kind."""
    valid = st.builds(_as_text, _map_specs(_bounded_numbers(), st.sampled_from(["a", "b", "jaw"])), st.booleans())
    wild = st.builds(_as_text, _map_specs(_map_numbers(), _map_names()), st.booleans())
    huge_number = st.builds(
        lambda digits, as_yaml: (
            f"targets: [{{name: a, sources: {{JawOpen: 1{'0' * digits}}}}}]"
            if as_yaml
            else f'{{"targets": [{{"name": "a", "sources": {{"JawOpen": 1{"0" * digits}}}}}]}}'
        ),
        st.sampled_from([6, 7, 38, 39, 308, 309, 400, 4299, 4300, 5000]),
        st.booleans(),
    )
    cut = st.builds(lambda text, keep: text[: int(len(text) * keep)], valid, st.floats(0.0, 0.99))
    return st.one_of(
        valid,
        valid,
        wild,
        wild,
        st.builds(alias_bomb, st.integers(1, 10), st.integers(2, 9)),
        st.builds(
            _nested,
            st.sampled_from([1, 15, 16, 17, 100, 999, 1000, 5000, 100_000]),
            st.sampled_from(["json", "flow", "block"]),
        ),
        huge_number,
        cut,
        st.sampled_from(YAML_ODDITIES),
        _text(),
    )


def _retarget():
    inline = st.one_of(
        inline_maps(),
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


def _valid_retarget():
    """What a valid config may choose: a preset, or an inline map that may be valid (its session then runs)."""
    preset = st.builds(pb.RetargetSelection, preset=st.sampled_from(PRESETS))
    return st.one_of(
        st.none(),
        preset,
        preset,
        st.builds(
            pb.RetargetSelection,
            inline_map=st.builds(_as_text, _map_specs(_bounded_numbers(), st.sampled_from(["a", "b"])), st.booleans()),
        ),
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
        retarget=_valid_retarget(),
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


MAX_DETAILS_CHARS = 2000  # a status message quotes client input cut short (artalk_service.quoting)


def nonfinite_problems(responses: list[pb.StreamResponse]) -> list[str]:
    """Frames that carry NaN or Inf (no map may produce them: docs/retarget.md, Limits)."""
    for r in responses:
        if r.WhichOneof("message") == "frames":
            for frame in r.frames.frames:
                if not (np.isfinite(frame.values).all() and np.isfinite(frame.native_values).all()):
                    return [f"a frame at {frame.time_code:.3f} s carries NaN or Inf"]
    return []


class LoopLag:
    """How late an event loop runs: a probe coroutine on it sleeps `interval` s again and again
    and records how much later than that it woke. Start it from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float = 0.005) -> None:
        self.loop, self.interval = loop, interval
        self.lags: list[float] = []  # seconds late, per wake-up
        self._future = None

    async def _probe(self) -> None:
        while True:
            before = self.loop.time()
            await asyncio.sleep(self.interval)
            self.lags.append(max(0.0, self.loop.time() - before - self.interval))

    def start(self) -> LoopLag:
        self._future = asyncio.run_coroutine_threadsafe(self._probe(), self.loop)
        return self

    def stop(self) -> dict:
        if self._future is not None:
            self._future.cancel()
        return self.figures()

    @property
    def max_ms(self) -> float:
        return 1000 * max(self.lags, default=0.0)

    def figures(self) -> dict:
        lags = np.array(self.lags or [0.0]) * 1000
        return {
            "wakeups": len(self.lags),
            "max_ms": float(lags.max()),
            "p99_ms": float(np.percentile(lags, 99)),
            "stalls_over_100ms": int((lags > 100).sum()),
        }


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
    maps: int = 0  # ValidateRetargetMap calls (fuzz_maps)
    map_codes: collections.Counter = field(default_factory=collections.Counter)
    map_seconds: list[float] = field(default_factory=list)
    failed_maps: int = 0

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
            "maps_validated": self.maps,
            "map_status_codes": dict(self.map_codes.most_common()),
            "maps_breaking_a_rule": self.failed_maps,
            "map_seconds_max": float(max(self.map_seconds, default=0.0)),
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
        problems += nonfinite_problems(outcome.responses)
        if self.report.sequences % self.health_every == 0:
            problems += self.check_health()
        self.report.add(sequence, outcome, problems)
        return problems

    def validate_map(self, text: str) -> list[str]:
        """ValidateRetargetMap(text); -> what was wrong with its answer (empty: nothing)."""
        stub = service_pb2_grpc.AnimationStub(self.channel)
        start = time.perf_counter()
        try:
            stub.ValidateRetargetMap(pb.ValidateRetargetMapRequest(map=text), timeout=CALL_TIMEOUT_S)
            code, details = grpc.StatusCode.OK, ""
        except grpc.RpcError as err:
            code, details = err.code(), err.details() or ""
        seconds = time.perf_counter() - start
        self.report.maps += 1
        self.report.map_codes[code.name] += 1
        self.report.map_seconds.append(seconds)
        problems = []
        if code not in (grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT):
            problems.append(f"ValidateRetargetMap ended {code.name}: {details[:200]}")
        elif code is grpc.StatusCode.INVALID_ARGUMENT and not (0 < len(details) <= MAX_DETAILS_CHARS):
            problems.append(f"INVALID_ARGUMENT with a message of {len(details)} characters")
        if problems:
            self.report.failed_maps += 1
            if len(self.report.failures) < 20:
                self.report.failures.append({"map": text[:300], "status": code.name, "problems": problems})
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


def _run_examples(strategy, check, examples: int, random_seed: int, assert_each: bool) -> None:
    """`examples` values drawn from `strategy`, each given to `check` (-> the rules it broke). With
    `assert_each` the first broken rule fails the run and hypothesis shrinks it to a minimal example."""

    @seed(random_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink] if assert_each else [Phase.generate],
    )
    @given(strategy)
    def one(value) -> None:
        problems = check(value)
        assert not (assert_each and problems), problems

    one()


def fuzz(fuzzer: Fuzzer, examples: int, random_seed: int = 0, assert_each: bool = False) -> None:
    """Run `examples` generated sequences. With `assert_each`, the first call that breaks a rule
    fails the run (hypothesis then shrinks it to a minimal sequence); without it every outcome
    is only counted in the report."""
    _run_examples(sequences(), fuzzer.run, examples, random_seed, assert_each)


def fuzz_maps(fuzzer: Fuzzer, examples: int, random_seed: int = 0, assert_each: bool = False) -> None:
    """Send `examples` generated inline maps to ValidateRetargetMap: each must be accepted or
    refused with INVALID_ARGUMENT and a short message, never anything else."""
    _run_examples(inline_maps(), fuzzer.validate_map, examples, random_seed, assert_each)


def fuzz_for(fuzzer: Fuzzer, seconds: float, random_seed: int = 0, batch: int = 50) -> None:
    """Run generated sequences until `seconds` have passed (batches of `batch`, seeds counting up)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        fuzz(fuzzer, batch, random_seed)
        random_seed += 1


def _fuzz_run(target: str, maps: int, sequences: int, seconds: float | None, random_seed: int) -> dict:
    """The fuzz run's calls against `target` (in the process that calls it); -> the report's figures."""
    fuzzer = Fuzzer(target)
    try:
        fuzz_maps(fuzzer, maps, random_seed)
        if seconds is None:
            fuzz(fuzzer, sequences, random_seed)
        else:
            fuzz_for(fuzzer, seconds, random_seed)
        fuzzer.check_health()
        return fuzzer.report.figures()
    finally:
        fuzzer.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m artalk_service.bench.fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--sequences", type=int, default=10_000, help="generated call sequences (default 10000)")
    p.add_argument("--seconds", type=float, default=None, help="instead: run sequences for this long")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--maps", type=int, default=1000, help="inline maps sent to ValidateRetargetMap (default 1000)")
    p.add_argument("--target", default=None, help="fuzz a running server at HOST:PORT (default: start one)")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    from artalk_service.bench.load import BenchServer

    server = None
    if args.target is None:
        from artalk_service.model import ModelConfig, MotionModel
        from artalk_service.server.config import ServerConfig

        server = BenchServer(MotionModel.untrained(ModelConfig.tiny()), config=ServerConfig(port=0, limits=FUZZ_LIMITS))
    start = time.monotonic()
    if server is None:
        figures = _fuzz_run(args.target, args.maps, args.sequences, args.seconds, args.seed)
    else:
        # The fuzzer runs in a process of its own, so that the probe on the server's loop measures
        # the server: hypothesis's heap grows with every example, and its full collections would
        # hold this process's GIL for up to 0.7 s.
        gc.collect()
        gc.freeze()  # what was loaded is not traversed by later collections (as a server should do)
        lag = LoopLag(server.loop).start()
        try:
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                figures = pool.submit(
                    _fuzz_run, server.target, args.maps, args.sequences, args.seconds, args.seed
                ).result()
            figures["event_loop_lag"] = lag.stop()
            figures["server_sessions_after"] = server.wait_idle()
        finally:
            lag.stop()
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
    broken = (
        figures["crashes"]
        or figures["hangs"]
        or figures["calls_breaking_a_rule"]
        or figures["health_not_serving"]
        or figures["maps_breaking_a_rule"]
        or figures.get("event_loop_lag", {}).get("stalls_over_100ms")
    )
    return 1 if broken or figures.get("server_sessions_after") else 0


if __name__ == "__main__":
    sys.exit(main())
