"""Every built-in preset: in range, and the mouth closes on p/b/m and opens on open vowels.

Synthetic arkit61 frames pin the mapping logic down whatever the model has learnt;
the last test runs the bundled trained model on real speech when it exists.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from artalk_service.layout import ARKIT61
from artalk_service.retarget import PRESETS
from artalk_service.retarget.presets import PRESET_DIR


def face(
    jaw=0.0, closed=0.0, press=0.0, tuck=0.0, funnel=0.0, pucker=0.0, spread=0.0, lower=0.0, upper=0.0, tongue=0.0
) -> np.ndarray:
    """One arkit61 frame from articulation: lips are together when MouthClose equals JawOpen."""
    frame = np.zeros(ARKIT61.num_channels, np.float32)
    channels = {
        "JawOpen": jaw,
        "MouthClose": closed * jaw,
        "MouthFunnel": funnel,
        "MouthPucker": pucker,
        "MouthRollLower": tuck,
        "MouthRollUpper": 0.25 * press + 0.1 * tuck,
        "TongueOut": tongue,
    }
    for side in ("Left", "Right"):
        channels |= {
            f"MouthPress{side}": press,
            f"MouthStretch{side}": 0.6 * spread,
            f"MouthSmile{side}": 0.2 * spread,
            f"MouthUpperUp{side}": upper,
            f"MouthLowerDown{side}": lower,
        }
    for name, value in channels.items():
        frame[ARKIT61.index(name)] = value
    return frame


PHONES = {
    "rest": face(jaw=0.03, closed=0.8),
    "p": face(jaw=0.1, closed=1, press=0.5),
    "b": face(jaw=0.12, closed=1, press=0.4),
    "m": face(jaw=0.07, closed=1, press=0.25),
    "f": face(jaw=0.1, tuck=0.75, upper=0.2),
    "th": face(jaw=0.14, tongue=0.45),
    "t": face(jaw=0.1),
    "k": face(jaw=0.16),
    "s": face(jaw=0.05, spread=0.3, upper=0.1),
    "sh": face(jaw=0.1, funnel=0.45, pucker=0.2),
    "l": face(jaw=0.18, tongue=0.08),
    "r": face(jaw=0.14, funnel=0.3, pucker=0.2),
    "aa": face(jaw=0.55, lower=0.35, upper=0.1, spread=0.1),
    "ah": face(jaw=0.4, lower=0.2, upper=0.05),
    "eh": face(jaw=0.35, spread=0.3, lower=0.2, upper=0.1),
    "iy": face(jaw=0.14, spread=0.55, upper=0.12),
    "ao": face(jaw=0.45, funnel=0.45, pucker=0.1, lower=0.1),
    "uw": face(jaw=0.12, funnel=0.3, pucker=0.75),
}
BILABIALS, OPEN_VOWELS = ("p", "b", "m"), ("aa", "ah")


def mapped(preset: str, frames: np.ndarray) -> dict[str, np.ndarray]:
    retarget = PRESETS[preset]
    return dict(zip(retarget.names, retarget.apply(np.atleast_2d(frames)).T))


def _sealed(jaw: np.ndarray, close: np.ndarray) -> np.ndarray:
    """1 when MouthClose cancels an open jaw (lips pressed shut), not merely a closed jaw at rest."""
    return np.where(jaw >= 0.05, 1 - 10 * np.abs(jaw - close), 0.0)


# Per preset: how open the lips are and how closed, both from its own output channels.
PROBES = {
    "arkit61": (lambda v: v["JawOpen"] - v["MouthClose"], lambda v: _sealed(v["JawOpen"], v["MouthClose"])),
    "arkit_camel": (lambda v: v["jawOpen"] - v["mouthClose"], lambda v: _sealed(v["jawOpen"], v["mouthClose"])),
    "oculus_visemes": (lambda v: v["aa"], lambda v: v["PP"]),
    "vrm_expressions": (
        lambda v: v["aa"],
        lambda v: 1 - np.max([v[n] for n in ("aa", "ih", "ou", "ee", "oh")], axis=0),
    ),
    "mouth_simple": (lambda v: v["open"], lambda v: v["closed"]),
}


def test_every_preset_has_a_probe_a_description_and_a_file_named_like_it():
    assert set(PROBES) == set(PRESETS)
    assert all(p.description for p in PRESETS.values())
    assert {p.stem for p in PRESET_DIR.glob("*.json")} == set(PRESETS) - {"arkit61", "arkit_camel"}


@pytest.mark.parametrize("preset", PRESETS)
def test_values_stay_in_range_for_any_input(preset):
    retarget = PRESETS[preset]
    frames = np.random.default_rng(1).uniform(-1.0, 2.0, (400, ARKIT61.num_channels)).astype(np.float32)
    values = retarget.apply(frames)
    assert np.isfinite(values).all()
    for j, target in enumerate(retarget.targets):
        if target.name not in retarget.rotation_names:
            assert target.clamp == (0.0, 1.0), target.name
            assert 0.0 <= values[:, j].min() and values[:, j].max() <= 1.0, target.name


@pytest.mark.parametrize("preset", PRESETS)
def test_the_mouth_closes_on_p_b_m_and_opens_on_open_vowels(preset):
    opening, closing = PROBES[preset]
    for phone in BILABIALS:
        v = mapped(preset, PHONES[phone])
        assert closing(v)[0] >= 0.8 and opening(v)[0] <= 0.05, (phone, v)
    for phone in OPEN_VOWELS:
        v = mapped(preset, PHONES[phone])
        assert opening(v)[0] >= 0.35 and closing(v)[0] <= 0.25, (phone, v)


@pytest.mark.parametrize(
    "phone, viseme",
    [
        ("rest", "sil"),
        ("p", "PP"),
        ("b", "PP"),
        ("m", "PP"),
        ("f", "FF"),
        ("th", "TH"),
        ("t", "DD"),
        ("k", "kk"),
        ("sh", "CH"),
        ("s", "SS"),
        ("l", "nn"),
        ("r", "RR"),
        ("aa", "aa"),
        ("eh", "E"),
        ("iy", "ih"),
        ("ao", "oh"),
        ("uw", "ou"),
    ],
)
def test_each_oculus_viseme_wins_on_its_phone(phone, viseme):
    v = mapped("oculus_visemes", PHONES[phone])
    assert max(v, key=lambda n: v[n][0]) == viseme and v[viseme][0] >= 0.9


@pytest.mark.parametrize("phone, shape", [("aa", "open"), ("iy", "wide"), ("uw", "round"), ("f", "closed")])
def test_mouth_simple_shapes(phone, shape):
    v = mapped("mouth_simple", PHONES[phone])
    assert max(v, key=lambda n: v[n][0]) == shape


@pytest.mark.parametrize("phone, vowel", [("aa", "aa"), ("iy", "ih"), ("uw", "ou"), ("eh", "ee"), ("ao", "oh")])
def test_vrm_vowels(phone, vowel):
    v = mapped("vrm_expressions", PHONES[phone])
    assert max(("aa", "ih", "ou", "ee", "oh"), key=lambda n: v[n][0]) == vowel


def test_vrm_blinks_added_up_close_the_more_closed_eye_exactly_and_the_other_by_the_mean():
    wink = face()
    wink[ARKIT61.index("EyeBlinkLeft")], wink[ARKIT61.index("EyeBlinkRight")] = 1.0, 0.2
    v = mapped("vrm_expressions", wink)
    assert v["blink"][0] + v["blinkLeft"][0] == pytest.approx(1.0)
    assert v["blink"][0] + v["blinkRight"][0] == pytest.approx(0.6)


# ---------------------------------------------------------------- real model
def _speech(tmp_path: Path, text: str) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: run scripts/setup.sh")
    path = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)
    return path


def _native_motion(model, wav: Path) -> tuple[np.ndarray, np.ndarray]:
    """(frames, 61) motion and a (frames,) mask of the frames inside the speech, not the silence around it."""
    from artalk_service.audio import load_wav_16k
    from artalk_service.model import StreamOptions

    audio = load_wav_16k(wav)
    motion = model.animate(audio, StreamOptions(style=None, seed=0))
    hop = model.sample_rate // model.layout.fps
    rms = np.sqrt(
        [np.mean(audio[i * hop : (i + 1) * hop] ** 2) if i * hop < len(audio) else 0.0 for i in range(len(motion))]
    )
    loud = np.flatnonzero(rms > 0.1 * rms.max())
    inside = np.zeros(len(motion), bool)
    inside[loud[0] : loud[-1] + 1] = True
    return motion, inside


@pytest.fixture(scope="module")
def trained_model():
    from artalk_service.model import default_model_path

    if not Path(default_model_path()).exists():
        pytest.skip(f"no trained model at {default_model_path()} yet; the synthetic-frame tests above cover the maps")
    from artalk_service.model import MotionModel

    return MotionModel.load(default_model_path(), device="cpu")


def test_presets_on_real_model_output(trained_model, tmp_path):
    closing_motion, closing_inside = _native_motion(
        trained_model, _speech(tmp_path, "Bob, pop my bubble. Mom, buy maps.")
    )
    opening_motion, opening_inside = _native_motion(trained_model, _speech(tmp_path, "Ah, ha, ah. Aha, ah."))
    for preset, (opening, closing) in PROBES.items():
        retarget = PRESETS[preset]
        for motion in (closing_motion, opening_motion):
            values = retarget.apply(motion)
            blend = [j for j, t in enumerate(retarget.targets) if t.name not in retarget.rotation_names]
            assert values[:, blend].min() >= 0.0 and values[:, blend].max() <= 1.0, preset
        on_bilabials = mapped(preset, closing_motion[closing_inside])
        on_vowels = mapped(preset, opening_motion[opening_inside])
        assert closing(on_bilabials).max() >= 0.5, f"{preset}: the lips never close on p/b/m"
        # a closed or barely parted mouth stays under 0.1; the bundled model opens to 0.29 on this clip
        assert opening(on_vowels).max() >= 0.25, f"{preset}: the mouth never opens on 'ah'"
        assert opening(on_vowels).mean() > opening(on_bilabials).mean(), preset
