import numpy as np
import pytest

from artalk_service.retarget.curves import CurveBank, parse_curve
from artalk_service.retarget.errors import RetargetError

X = np.array([-0.5, 0.0, 0.1, 0.25, 0.5, 0.9, 1.5], np.float32)


def shaped(*specs) -> np.ndarray:
    """Apply one curve per column to X repeated in every column."""
    values = np.repeat(X[:, None], len(specs), axis=1)
    CurveBank([parse_curve(s, "t") for s in specs]).apply(values)
    return values


def test_each_kind_and_linear_side_by_side():
    out = shaped(
        {"type": "power", "exponent": 2},
        {"type": "smoothstep", "edges": [0.0, 1.0]},
        {"type": "piecewise", "points": [[0.0, 0.0], [0.25, 1.0], [0.5, 0.0]]},
        None,
        "linear",
        {"type": "smoothstep", "edges": [1.0, 0.0]},
    )
    np.testing.assert_allclose(out[:, 0], np.sign(X) * X**2, atol=1e-6)  # odd, so negative stays negative
    t = np.clip(X, 0, 1)
    np.testing.assert_allclose(out[:, 1], t * t * (3 - 2 * t), atol=1e-6)
    np.testing.assert_allclose(out[:, 2], [0, 0, 0.4, 1, 0, 0, 0], atol=1e-6)  # a band, flat outside
    np.testing.assert_allclose(out[:, 3], X)
    np.testing.assert_allclose(out[:, 4], X)
    np.testing.assert_allclose(out[:, 5], 1 - out[:, 1], atol=1e-6)  # reversed edges fall


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "power", "exponent": 0}, "exponent 0.0 must be > 0"),
        ({"type": "power", "exponent": float("nan")}, "must be a finite number"),
        ({"type": "power"}, "takes exactly 'type' and 'exponent'"),
        ({"type": "smoothstep", "edges": [0.3, 0.3]}, "edges [0.3, 0.3] must differ"),
        ({"type": "smoothstep", "edges": [0.3]}, "'edges' must be [edge0, edge1]"),
        ({"type": "piecewise", "points": [[0, 0]]}, "at least two [x, y] pairs"),
        ({"type": "piecewise", "points": [[0, 0], [0, 1]]}, "must strictly increase"),
        ({"type": "piecewise", "points": [[0, 0], [1, float("inf")]]}, "piecewise point y must be a finite number"),
        ({"type": "spline"}, "bad curve"),
        ("cubic", "bad curve"),
    ],
)
def test_bad_curves_are_named(spec, message):
    with pytest.raises(RetargetError) as err:
        parse_curve(spec, "target 'a'")
    assert message in str(err.value) and str(err.value).startswith("target 'a': ")
