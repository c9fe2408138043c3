"""The bundled model's frames for a fixed wav and fixed seeds equal the recorded ones.

A refactor must not change what the model outputs. The fixture was recorded with
`python tools/golden_frames.py`; rerun it only after an intended change of the bundled
model (the fixture names the model it was recorded for).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

TOOL = Path(__file__).resolve().parents[2] / "tools" / "golden_frames.py"


@pytest.fixture(scope="module")
def golden():
    spec = importlib.util.spec_from_file_location("golden_frames", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_frames_equal_the_recorded_frames(golden, torch_model):
    saved = np.load(golden.FIXTURE)
    if str(saved["model_id"]) != torch_model.model_id:
        pytest.fail(
            f"the fixture was recorded for {saved['model_id']}, the bundled model is {torch_model.model_id}: "
            f"run python tools/golden_frames.py after checking the new model"
        )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        frames = golden.golden_frames(torch_model)
    finally:
        torch.set_num_threads(threads)
    assert set(frames) == set(saved.files) - {"model_id"}
    for name, values in frames.items():
        # bit-identical on the machine that recorded them; other CPUs may round differently
        np.testing.assert_allclose(values, saved[name], atol=1e-4, rtol=0, err_msg=name)
