"""Cross-session batching: one model thread, ready windows of many sessions per step."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from artalk_service.runtime.session import Session

T = TypeVar("T")


class Scheduler:
    """Runs every model operation on one worker thread, in arrival order.

    Sessions ask `advance(session)` after pushing audio; all sessions waiting
    at that moment are served together: their ready windows go into one
    `model.run_windows` call per round (up to `max_batch` windows), so many
    concurrent streams cost one forward pass per scale, not one each.
    """

    def __init__(self, model, max_batch: int = 64) -> None:
        self.model = model
        self.max_batch = max_batch
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="artalk-model")
        self._waiting: list[tuple[Session, asyncio.Future]] = []
        self._kick = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="artalk-scheduler")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def call(self, fn: Callable[..., T], *args) -> T:
        """Run a session operation on the model thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def advance(self, session: Session) -> None:
        """Return once every window of `session` whose audio has arrived is computed."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((session, future))
        self._kick.set()
        await future

    async def _loop(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            await self._serve_waiting()

    async def _serve_waiting(self) -> None:
        # A method of its own so that the batch (and its sessions) is freed on return.
        batch, self._waiting = self._waiting, []
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._run, [s for s, _ in batch])
            outcome: BaseException | None = None
        except Exception as err:  # noqa: BLE001 - reported to every waiting session
            outcome = err
        for _, future in batch:
            if not future.done():
                future.set_exception(outcome) if outcome else future.set_result(None)

    def _run(self, sessions: list[Session]) -> None:
        while True:
            jobs = [job for s in sessions for job in s.stream.ready_jobs()]
            if not jobs:
                return
            for i in range(0, len(jobs), self.max_batch):
                self.model.run_windows(jobs[i:i + self.max_batch])
