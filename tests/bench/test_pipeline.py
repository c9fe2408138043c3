"""The benchmark's encode-ahead pipeline computes what MotionModel.animate computes."""

from __future__ import annotations

import numpy as np

from artalk_service.bench.pipeline import animate_pipelined
from artalk_service.model import StreamOptions


def test_pipelined_animate_equals_animate(tiny_model, speechlike):
    for options in (StreamOptions(), StreamOptions(temperature=1.0, seed=2)):
        pipelined = animate_pipelined(tiny_model, speechlike, options)
        assert pipelined.shape == (-(-speechlike.size // 640), tiny_model.layout.num_channels)
        np.testing.assert_allclose(pipelined, tiny_model.animate(speechlike, options), atol=1e-4)


def test_pipeline_leaves_the_thread_count_as_it_was(tiny_model, speechlike):
    import torch

    before = torch.get_num_threads()
    animate_pipelined(tiny_model, speechlike[:16000])
    assert torch.get_num_threads() == before
