"""Style profiles and their reference clips."""

import numpy as np
import pytest

from artalk_service.data.motion import style_reference_clip
from artalk_service.data.styles import STYLES, StyleProfile
from artalk_service.layout import ARKIT61

IDX = ARKIT61.index
NUM_BLENDSHAPES = 52


def test_at_least_eight_named_styles_including_the_issue_list():
    assert {"neutral", "happy", "angry", "sad", "excited", "calm", "shy", "emphatic"} <= set(STYLES)
    assert all(isinstance(s, StyleProfile) and s.name == n for n, s in STYLES.items())


@pytest.mark.parametrize("name", sorted(STYLES))
def test_reference_clip_shape_range_and_determinism(name):
    clip = style_reference_clip(name)
    assert clip.shape == (50, 61) and clip.dtype == np.float32 and np.isfinite(clip).all()
    assert clip[:, :NUM_BLENDSHAPES].min() >= 0 and clip[:, :NUM_BLENDSHAPES].max() <= 1
    assert np.abs(clip[:, NUM_BLENDSHAPES:]).max() < 0.6  # radians: small head and eye turns
    np.testing.assert_array_equal(clip, style_reference_clip(name, seed=0))
    assert not np.array_equal(clip, style_reference_clip(name, seed=1))
    assert style_reference_clip(name, seconds=3.0).shape == (75, 61)


def test_styles_look_different():
    mean = {n: style_reference_clip(n).mean(axis=0) for n in STYLES}
    smile = lambda n: mean[n][IDX("MouthSmileLeft")]  # noqa: E731
    assert smile("happy") > smile("sad") + 0.2
    assert mean["sad"][IDX("MouthFrownLeft")] > mean["happy"][IDX("MouthFrownLeft")] + 0.15
    assert mean["angry"][IDX("BrowDownLeft")] > mean["neutral"][IDX("BrowDownLeft")] + 0.2
    assert mean["emphatic"][IDX("JawOpen")] > mean["sad"][IDX("JawOpen")] + 0.03
    head = {n: style_reference_clip(n)[:, IDX("HeadYaw") : IDX("HeadRoll") + 1].std() for n in STYLES}
    assert head["emphatic"] > head["calm"]
    # the clip is really speech: the lips seal on the phrase's bilabials
    assert any(f[IDX("JawOpen")] - f[IDX("MouthClose")] < 0.01 for f in style_reference_clip("neutral"))
