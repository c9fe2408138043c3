import numpy as np
import pytest

from artalk_service.layout import ARKIT61
from artalk_service.retarget import PRESETS
from artalk_service.retarget.preview import PARAMS, face_params, render


def param(params, name):
    return params[:, PARAMS.index(name)]


def test_the_face_reads_each_preset_family_by_name():
    assert param(face_params(["PP", "aa"], np.array([[1.0, 0.0]])), "closed")[0] == 1.0
    assert param(face_params(["jawOpen", "mouthClose"], np.array([[0.6, 0.1]])), "open")[0] == pytest.approx(0.5)
    assert param(face_params(["JawOpen", "MouthClose"], np.array([[0.3, 0.3]])), "open")[0] == pytest.approx(0.0)
    blink = face_params(["blink", "blinkLeft"], np.array([[0.4, 0.3]]))
    assert (param(blink, "blink_l")[0], param(blink, "blink_r")[0]) == pytest.approx((0.7, 0.4))
    assert not face_params(["Mouth_Custom", "head.qx"], np.array([[1.0, 1.0]])).any()  # bars only


def test_face_parameters_stay_drawable():
    params = face_params(["JawOpen", "HeadYaw", "mouthSmileLeft"], np.array([[5.0, -9.0, -3.0]]))
    assert param(params, "open")[0] == 1.0 and param(params, "yaw")[0] == -1.0
    assert param(params, "smile")[0] == -1.0


@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_render_writes_an_image(tmp_path, suffix):
    from PIL import Image

    retarget = PRESETS["oculus_visemes"]
    motion = np.zeros((12, ARKIT61.num_channels), np.float32)
    motion[:, ARKIT61.index("JawOpen")] = np.linspace(0, 0.6, 12)
    out = tmp_path / f"p{suffix}"
    render(out, retarget.names, retarget.apply(motion), 25)
    with Image.open(out) as image:
        assert image.size[0] > 500 and getattr(image, "n_frames", 1) == (12 if suffix == ".gif" else 1)


def test_render_refuses_other_formats_and_no_frames(tmp_path):
    with pytest.raises(ValueError, match=r"\.png, \.gif or \.mp4"):
        render(tmp_path / "p.jpg", ["aa"], np.zeros((3, 1)), 25)
    with pytest.raises(ValueError, match="no frames"):
        render(tmp_path / "p.png", ["aa"], np.zeros((0, 1)), 25)
