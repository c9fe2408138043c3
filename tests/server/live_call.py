"""A Stream call the test drives message by message, its responses read in a thread."""

from __future__ import annotations

import queue
import threading
import time

import grpc

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.api.artalk.v1 import service_pb2_grpc


def wait_until(condition, timeout: float = 30.0) -> bool:
    """Poll `condition` until it holds (True) or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class LiveCall:
    def __init__(self, target: str, config: pb.SessionConfig, timeout: float = 120.0) -> None:
        self.channel = grpc.insecure_channel(target)
        self._outgoing: queue.Queue = queue.Queue()
        self.responses: list[pb.StreamResponse] = []
        self.arrivals: list[float] = []  # monotonic time each response arrived
        self.done = threading.Event()
        self._call = service_pb2_grpc.AnimationStub(self.channel).Stream(self._requests(), timeout=timeout)
        self.send(pb.StreamRequest(config=config))
        threading.Thread(target=self._read, daemon=True).start()

    def _requests(self):
        while (message := self._outgoing.get()) is not None:
            yield message

    def _read(self) -> None:
        try:
            for response in self._call:
                self.arrivals.append(time.monotonic())
                self.responses.append(response)
        except grpc.RpcError:
            pass  # the status is read with code()
        finally:
            self.done.set()

    def send(self, *messages: pb.StreamRequest) -> None:
        for message in messages:
            self._outgoing.put(message)

    def audio(self, data: bytes, chunk_bytes: int = 3200, pace_bps: float | None = None) -> float:
        """Send `data` in chunks; paced at `pace_bps` bytes per second, each chunk once it has
        been "spoken", like a live source. -> when the audio began (monotonic), held back by as
        much as a chunk left later than its schedule (as a jitter buffer re-buffers), so that
        this thread's own delays do not count against the server."""
        start = began = time.monotonic()
        for offset in range(0, len(data), chunk_bytes):
            chunk = data[offset : offset + chunk_bytes]
            if pace_bps:
                time.sleep(max(0.0, start + (offset + len(chunk)) / pace_bps - time.monotonic()))
                began = max(began, time.monotonic() - (offset + len(chunk)) / pace_bps)
            self.send(pb.StreamRequest(audio=pb.AudioChunk(data=chunk)))
        return began

    def half_close(self) -> None:
        self._outgoing.put(None)

    def cancel(self) -> None:
        self._call.cancel()

    def of_kind(self, kind: str) -> list:
        return [getattr(r, kind) for r in list(self.responses) if r.WhichOneof("message") == kind]

    def frames(self) -> list[pb.Frame]:
        return [f for batch in self.of_kind("frames") for f in batch.frames]

    def result(self, timeout: float = 60.0) -> tuple[grpc.StatusCode, str]:
        """The call's final status (waits for it)."""
        assert self.done.wait(timeout), "the call did not end"
        return self._call.code(), self._call.details() or ""

    def close(self) -> None:
        self._outgoing.put(None)
        self.channel.close()
