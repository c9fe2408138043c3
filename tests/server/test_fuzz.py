"""Protocol fuzzing through the real server (artalk_service/bench/fuzz.py).

ARTALK_FUZZ_EXAMPLES sets how many generated sequences run (default 500; the 10,000-sequence
run: `python -m artalk_service.bench.fuzz --sequences 10000`), ARTALK_FUZZ_MAP_EXAMPLES how many
inline maps go to ValidateRetargetMap (default 300). A call breaking a rule fails the test with
the minimal sequence (or map) hypothesis shrinks it to. The server's event loop is probed all
along: no stall may pass 100 ms.
"""

from __future__ import annotations

import gc
import os

import grpc
import pytest
from live_call import wait_until

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.bench.checks import CallOutcome, call_problems, stream_call, timeline_problems
from artalk_service.bench.fuzz import FUZZ_LIMITS, Fuzzer, LoopLag, fuzz, fuzz_maps, inline_maps, nonfinite_problems
from artalk_service.model import ModelConfig, MotionModel
from artalk_service.server.config import ServerConfig

EXAMPLES = int(os.environ.get("ARTALK_FUZZ_EXAMPLES", "500"))
MAP_EXAMPLES = int(os.environ.get("ARTALK_FUZZ_MAP_EXAMPLES", "300"))


@pytest.fixture(scope="module")
def fuzz_server(server_thread):
    srv = server_thread(MotionModel.untrained(ModelConfig.tiny()), ServerConfig(port=0, limits=FUZZ_LIMITS))
    # The fuzzer shares this process with the server: a full collection of the heap (torch, the
    # model, hypothesis) holds the GIL for ~150 ms whichever thread starts it. Frozen, what is
    # loaded now is not traversed again, so the loop probe measures the server, not the heap.
    gc.collect()
    gc.freeze()
    yield srv
    gc.unfreeze()
    srv.stop()


def test_generated_message_sequences_end_with_documented_statuses(fuzz_server):
    fuzzer = Fuzzer(fuzz_server.target)
    lag = LoopLag(fuzz_server.loop).start()
    try:
        fuzz(fuzzer, EXAMPLES, random_seed=int(os.environ.get("ARTALK_FUZZ_SEED", "0")), assert_each=True)
        assert fuzzer.check_health() == []
    finally:
        fuzzer.close()
        lag_figures = lag.stop()
    report = fuzzer.report.figures()
    # a map parsed on the loop stalls it for seconds; the 100 ms criterion is the fuzz command's
    # figure (python -m artalk_service.bench.fuzz), not a timed test on a shared CI machine
    assert lag_figures["max_ms"] < 1000, lag_figures
    assert report["sequences"] == EXAMPLES
    assert report["crashes"] == report["hangs"] == report["calls_breaking_a_rule"] == 0
    # the runs reached deep: sessions ran to the end, bad input was refused, clients cancelled
    assert {"OK", "INVALID_ARGUMENT", "CANCELLED"} <= set(report["status_codes"])
    assert wait_until(lambda: fuzz_server.running.scheduler.sessions == 0)


def test_generated_inline_maps_are_accepted_or_invalid_argument_with_a_short_message(fuzz_server):
    fuzzer = Fuzzer(fuzz_server.target)
    lag = LoopLag(fuzz_server.loop).start()
    try:
        fuzz_maps(fuzzer, MAP_EXAMPLES, random_seed=int(os.environ.get("ARTALK_FUZZ_SEED", "0")), assert_each=True)
    finally:
        fuzzer.close()
        lag_figures = lag.stop()
    report = fuzzer.report.figures()
    assert report["maps_validated"] == MAP_EXAMPLES and report["maps_breaking_a_rule"] == 0
    assert {"OK", "INVALID_ARGUMENT"} <= set(report["map_status_codes"])  # valid maps pass, hostile ones do not
    assert report["map_seconds_max"] < 10 and lag_figures["max_ms"] < 1000, (report, lag_figures)


def test_the_map_generator_reaches_every_kind_of_hostile_map():
    from hypothesis import HealthCheck, given, settings

    seen = set()

    @settings(max_examples=400, database=None, suppress_health_check=list(HealthCheck), deadline=None)
    @given(inline_maps())
    def sample(text):
        for kind, found in [
            ("alias", "*a" in text),
            ("deep", "[[[[[[[[[[[[[[[[[[" in text or "k16:" in text),
            ("huge number", "0" * 300 in text),
            ("long string", "n" * 15_000 in text),
            ("yaml", text.lstrip()[:1] not in ("{", "[", '"') and ":" in text),
        ]:
            if found:
                seen.add(kind)

    sample()
    assert seen == {"alias", "deep", "huge number", "long string", "yaml"}


def test_frames_with_nan_or_inf_break_a_rule():
    good = pb.StreamResponse(frames=pb.FrameBatch(frames=[pb.Frame(time_code=0, values=[0.5, 1e9])]))
    bad = pb.StreamResponse(frames=pb.FrameBatch(frames=[pb.Frame(time_code=0.04, values=[0.5, float("inf")])]))
    assert nonfinite_problems([good]) == []
    assert nonfinite_problems([good, bad]) == ["a frame at 0.040 s carries NaN or Inf"]


@pytest.mark.parametrize(
    "method, payload",
    [
        ("/artalk.v1.Animation/Stream", b"\xff\xff\xff"),
        ("/artalk.v1.Animation/AnimateClip", b"\x0a\x05ab"),
        ("/artalk.v1.Animation/Describe", b"\x08"),
    ],
)
def test_bytes_that_are_no_message_are_invalid_argument(fuzz_server, method, payload):
    with grpc.insecure_channel(fuzz_server.target) as channel:
        if method.endswith("Stream"):
            outcome = stream_call(channel, [payload], timeout=10)
            code, details = outcome.code, outcome.details
        else:
            with pytest.raises(grpc.RpcError) as err:
                channel.unary_unary(method)(payload, timeout=10)
            code, details = err.value.code(), err.value.details()
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"a request message of {method} is not a valid protobuf message" in details


def frames(utterance: int, times: list[float], idle: bool = False) -> pb.StreamResponse:
    return pb.StreamResponse(
        frames=pb.FrameBatch(utterance_index=utterance, idle=idle, frames=[pb.Frame(time_code=t) for t in times])
    )


def finished(utterance: int, start: float, end: float, count: int, cancelled: bool = False) -> pb.StreamResponse:
    return pb.StreamResponse(
        utterance_finished=pb.UtteranceFinished(
            utterance_index=utterance, start_time=start, end_time=end, frame_count=count, cancelled=cancelled
        )
    )


STARTED = pb.StreamResponse(started=pb.SessionStarted(fps=25))


@pytest.mark.parametrize(
    "responses, problem",
    [
        ([STARTED, frames(0, [0.0, 0.04, 0.08]), finished(0, 0.0, 0.1, 3)], None),
        ([STARTED, frames(0, [0.0, 0.08]), finished(0, 0.0, 0.1, 2)], "frame 1 at 0.080000"),  # one lost
        ([STARTED, frames(0, [0.0, 0.08, 0.04]), finished(0, 0.0, 0.1, 3)], "time code 0.040000 after 0.080000"),
        ([STARTED, frames(0, [0.0, 0.04]), finished(0, 0.0, 0.1, 2)], "2 frames for 0.100000 s at 25 fps, expected 3"),
        ([STARTED, frames(0, [0.0, 0.04]), finished(0, 0.0, 0.1, 3)], "2 frames received, UtteranceFinished says 3"),
        (
            [
                STARTED,
                frames(0, [0.0, 0.04]),
                finished(0, 0.0, 0.1, 2, cancelled=True),
                frames(1, [0.1, 0.14]),
                finished(1, 0.1, 0.18, 2),
            ],
            None,
        ),  # a cancelled utterance is a prefix
        ([STARTED, frames(0, [0.0, 0.04], idle=True), frames(0, [0.08, 0.12])], None),  # idle frames, then speech
        ([STARTED, frames(0, [0.0, 0.04, 0.12])], "utterance 0 (unfinished): frames not 1/25 s apart"),
    ],
)
def test_timeline_check_finds_lost_and_reordered_frames(responses, problem):
    problems = timeline_problems(responses)
    assert (problems == []) if problem is None else any(problem in p for p in problems), problems


def test_call_check_refuses_undocumented_statuses_and_silent_errors():
    ok = pb.StreamResponse(status=pb.StreamStatus(frames_sent=0))
    assert call_problems(CallOutcome(grpc.StatusCode.OK, "", 0.1, [STARTED, ok])) == []
    assert call_problems(CallOutcome(grpc.StatusCode.INTERNAL, "oops", 0.1)) == ["undocumented status INTERNAL: oops"]
    assert call_problems(CallOutcome(grpc.StatusCode.UNKNOWN, "x", 0.1)) == ["undocumented status UNKNOWN: x"]
    assert call_problems(CallOutcome(grpc.StatusCode.INVALID_ARGUMENT, "", 0.1)) == [
        "status INVALID_ARGUMENT without a message"
    ]
    assert call_problems(CallOutcome(grpc.StatusCode.OK, "", 0.1, [STARTED])) == [
        "an OK call did not end with a StreamStatus"
    ]
    assert "hang" in call_problems(CallOutcome(grpc.StatusCode.DEADLINE_EXCEEDED, "", 60.0, hung=True))[0]
