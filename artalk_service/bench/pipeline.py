"""Offline animation with the speech encoder a chunk of windows ahead, in a helper thread.

The transformer is sequential over windows and its small matrix products use a multi-core
CPU poorly, so artalk-bench's offline figure runs the speech encoder in a helper thread,
ahead of the transformer, each on one intra-op thread. Speech conditions are computed in
fixed chunks of `encode_ahead` windows (so the values do not depend on timing) by the
helper and, whenever the transformer would otherwise wait, by the calling thread too.
Same values as MotionModel.animate.
"""

from __future__ import annotations

import threading

import numpy as np
import torch

from artalk_service.model import MotionModel, StreamOptions


def animate_pipelined(
    model: MotionModel, audio_16k: np.ndarray, options: StreamOptions = StreamOptions()
) -> np.ndarray:
    """MotionModel.animate with the encode-ahead helper thread (CPU only; elsewhere animate itself)."""
    if model.device.type != "cpu":
        return model.animate(audio_16k, options)
    stream = model.open_stream(options)
    stream.push_audio(audio_16k)
    stream.end_audio()
    window_audio = stream.window_audio_reader()  # the whole utterance, padded
    windows = stream.utterance_windows
    step = max(1, model.encode_ahead)
    chunks = [range(i, min(i + step, windows)) for i in range(0, windows, step)]
    done: dict[int, list] = {}
    state = {"claimed": 0, "consuming": 0, "error": None, "stop": False}
    cond = threading.Condition()

    def encode(k: int) -> None:
        with torch.inference_mode():
            ada = model.conditions([window_audio(w) for w in chunks[k]])
        with cond:
            done[k] = [[a[i] for a in ada] for i in range(len(chunks[k]))]
            cond.notify_all()

    def claim(wait: bool) -> int | None:
        """The next chunk nobody encodes yet, at most 2 ahead of the transformer."""
        with cond:
            while state["claimed"] < len(chunks) and not state["stop"]:
                if state["claimed"] <= state["consuming"] + 2:
                    state["claimed"] += 1
                    return state["claimed"] - 1
                if not wait:
                    return None
                cond.wait()
            return None

    def helper() -> None:
        try:
            while (k := claim(wait=True)) is not None:
                encode(k)
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller
            with cond:
                state["error"] = err
                cond.notify_all()

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    worker = threading.Thread(target=helper, name="artalk-encode-ahead", daemon=True)
    worker.start()
    try:
        for k in range(len(chunks)):
            with cond:
                state["consuming"] = k
                cond.notify_all()
            while True:
                with cond:
                    if state["error"] is not None:
                        raise state["error"]
                    if k in done:
                        item = done.pop(k)
                        break
                if (j := claim(wait=False)) is not None:
                    encode(j)  # rather than wait: encode a later chunk here
                else:
                    with cond:
                        if k not in done and state["error"] is None:
                            cond.wait(0.05)
            for ada in item:
                model.run_windows([stream.job_with_conditions(ada)])
    finally:
        with cond:
            state["stop"] = True
            cond.notify_all()
        worker.join()
        torch.set_num_threads(threads)
    return stream.close_utterance()
