import numpy as np
import pytest

from artalk_service.retarget.framerate import FrameRateConverter


@pytest.mark.parametrize("out_fps", [25, 30, 50, 60, 7, 120])
def test_streamed_conversion_matches_linear_interpolation(out_fps):
    native = np.random.default_rng(1).normal(size=(37, 3)).astype(np.float32)
    conv = FrameRateConverter(25, out_fps, 3)
    pieces, starts = [], [0, 1, 2, 9, 10, 30, 37]
    for a, b in zip(starts, starts[1:]):
        idx, values = conv.push(native[a:b])
        pieces.append(values)
    total = -(-37 * out_fps // 25)
    pieces.append(conv.finish(total)[1])
    out = np.concatenate(pieces)
    assert len(out) == total
    t = np.arange(total) * 25 / out_fps
    expected = np.stack([np.interp(t, np.arange(37), native[:, c]) for c in range(3)], axis=1)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_frames_wait_for_their_right_neighbour():
    conv = FrameRateConverter(25, 50, 1)
    idx, _ = conv.push(np.zeros((1, 1), np.float32))
    assert list(idx) == [0]  # frame 1 (t = 0.02 s) needs native frame 1
    idx, _ = conv.push(np.ones((1, 1), np.float32))
    assert list(idx) == [1, 2]
