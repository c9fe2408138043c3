"""Draw what a retarget map sends to a rig: a simple 2D face and a bar per output channel.

The face reads the mapped values by name, so a technical artist sees the map's
result rather than the model's: ARKit names (either spelling), the Oculus visemes,
the VRM expressions and the mouth_simple shapes each move the mouth, eyes, brows
and head in a fixed way (_VOCABULARY). Channels with other names, and bone
channels, show in the bars only.

    .png  a contact sheet: faces at evenly spaced times over a channels x time heat map
    .gif  the animation, face and bars, at the output frame rate
    .mp4  the same with the sound (needs ffmpeg on PATH)

Needs Pillow: `pip install artalk_service[preview]`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

PARAMS = ("open", "wide", "round", "closed", "smile", "brow", "blink_l", "blink_r", "yaw", "pitch", "roll")
_BOTH_SIDES = {"Left": 0.5, "Right": 0.5}


def _sides(name: str, weights: dict[str, float]) -> dict[str, dict[str, float]]:
    return {f"{name}{side}".lower(): {p: w * share for p, w in weights.items()} for side, share in _BOTH_SIDES.items()}


# Normalised channel name (lower case, letters and digits only) -> face parameter weights.
_VOCABULARY: dict[str, dict[str, float]] = {
    # ARKit, PascalCase or camelCase
    "jawopen": {"open": 1.0},
    "mouthclose": {"open": -1.0},
    **_sides("mouthlowerdown", {"open": 0.3}),
    **_sides("mouthupperup", {"open": 0.2}),
    "mouthfunnel": {"round": 0.8, "open": 0.2},
    "mouthpucker": {"round": 1.0},
    **_sides("mouthstretch", {"wide": 1.0}),
    **_sides("mouthsmile", {"smile": 1.0, "wide": 0.3}),
    **_sides("mouthfrown", {"smile": -1.0}),
    **_sides("mouthpress", {"closed": 0.6}),
    "mouthrolllower": {"closed": 0.5},
    "eyeblinkleft": {"blink_l": 1.0},
    "eyeblinkright": {"blink_r": 1.0},
    "browinnerup": {"brow": 0.6},
    **_sides("browouterup", {"brow": 0.4}),
    **_sides("browdown", {"brow": -1.0}),
    "headyaw": {"yaw": 1.0},
    "headpitch": {"pitch": 1.0},
    "headroll": {"roll": 1.0},
    # Oculus visemes (aa ih oh ou are shared with VRM)
    "pp": {"closed": 1.0},
    "ff": {"closed": 0.6, "open": 0.05},
    "th": {"open": 0.2},
    "dd": {"open": 0.15},
    "kk": {"open": 0.2},
    "ch": {"round": 0.5, "open": 0.1},
    "ss": {"wide": 0.5, "open": 0.05},
    "nn": {"open": 0.15},
    "rr": {"round": 0.4, "open": 0.15},
    "aa": {"open": 0.8},
    "e": {"open": 0.45, "wide": 0.5},
    "ih": {"open": 0.25, "wide": 0.6},
    "oh": {"open": 0.5, "round": 0.6},
    "ou": {"open": 0.15, "round": 1.0},
    # VRM expressions
    "ee": {"open": 0.45, "wide": 0.5},
    "blink": {"blink_l": 1.0, "blink_r": 1.0},
    "blinkleft": {"blink_l": 1.0},
    "blinkright": {"blink_r": 1.0},
    "happy": {"smile": 1.0},
    "angry": {"brow": -1.0},
    "sad": {"brow": 0.5, "smile": -0.6},
    "relaxed": {"smile": 0.4},
    "surprised": {"brow": 1.0, "open": 0.3},
    # mouth_simple
    "open": {"open": 1.0},
    "wide": {"wide": 1.0},
    "round": {"round": 1.0},
    "closed": {"closed": 1.0},
}
_LIMITS = {"smile": (-1.0, 1.0), "brow": (-1.0, 1.0), "yaw": (-1.0, 1.0), "pitch": (-1.0, 1.0), "roll": (-1.0, 1.0)}


def face_params(names: list[str], values: np.ndarray) -> np.ndarray:
    """(n, len(names)) mapped values -> (n, len(PARAMS)) face parameters, each in its drawable range."""
    weights = np.zeros((len(names), len(PARAMS)), dtype=np.float32)
    for j, name in enumerate(names):
        for param, w in _VOCABULARY.get(re.sub(r"[^a-z0-9]", "", name.lower()), {}).items():
            weights[j, PARAMS.index(param)] = w
    params = values @ weights
    lo = np.array([_LIMITS.get(p, (0.0, 1.0))[0] for p in PARAMS], dtype=np.float32)
    hi = np.array([_LIMITS.get(p, (0.0, 1.0))[1] for p in PARAMS], dtype=np.float32)
    return np.clip(params, lo, hi)


def render(out: Path, names: list[str], values: np.ndarray, fps: int, wav: Path | None = None) -> None:
    """Write a preview of (n, len(names)) values at `fps` to out (.png, .gif or .mp4)."""
    suffix = out.suffix.lower()
    if suffix not in (".png", ".gif", ".mp4"):
        raise ValueError(f"cannot write {out.name}: the preview is a .png, .gif or .mp4")
    if not len(values):
        raise ValueError("no frames to preview: the audio is empty")
    faces = face_params(names, values)
    if suffix == ".png":
        _contact_sheet(names, values, faces, fps).save(out)
        return
    frames = [_frame(names, values, faces, i, fps) for i in range(len(values))]
    if suffix == ".gif":
        frames[0].save(out, save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0)
    else:
        _write_mp4(out, frames, fps, wav)


# ------------------------------------------------------------------ drawing
_SIZE = 280
_SKIN, _INK, _LIP, _MOUTH = (238, 205, 175), (60, 45, 40), (190, 90, 90), (90, 25, 35)


def _image_module():
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise SystemExit("the preview needs Pillow: pip install 'artalk_service[data]' (or pillow)") from None
    return Image, ImageDraw, ImageFont


def _face(params: np.ndarray):
    """One face, _SIZE square, from a row of face parameters."""
    Image, ImageDraw, _ = _image_module()
    p = dict(zip(PARAMS, params.tolist()))
    img = Image.new("RGB", (_SIZE, _SIZE), "white")
    draw = ImageDraw.Draw(img)
    # Turning to its own left shows as moving to the viewer's right; looking down moves the features down.
    cx, cy = _SIZE / 2 + 40 * p["yaw"], _SIZE / 2 + 40 * p["pitch"]
    draw.ellipse([_SIZE / 2 - 95, _SIZE / 2 - 115, _SIZE / 2 + 95, _SIZE / 2 + 115], fill=_SKIN, outline=_INK, width=3)
    for side, blink in ((-1, p["blink_r"]), (1, p["blink_l"])):  # the character's right eye is on the viewer's left
        ex, ey = cx + side * 42, cy - 30
        h = max(1.0, 14 * (1 - blink))
        draw.ellipse([ex - 18, ey - h, ex + 18, ey + h], fill="white", outline=_INK, width=2)
        if h > 4:
            draw.ellipse([ex - 6, ey - 6, ex + 6, ey + 6], fill=_INK)
        by = ey - 28 - 12 * p["brow"]
        inner, outer = (ex + 20, ex - 20) if side < 0 else (ex - 20, ex + 20)
        frown = 8 * min(p["brow"], 0.0)  # lowered brows slant down toward the nose
        draw.line([outer, by, inner, by - frown], fill=_INK, width=4)
    _mouth(draw, cx, cy + 55, p)
    # Tilting toward its own left shoulder turns the face clockwise on screen.
    return img.rotate(-np.degrees(p["roll"]), fillcolor="white")


def _mouth(draw, mx: float, my: float, p: dict) -> None:
    gap = p["open"] * (1 - p["closed"])
    width = 38 * (1 + 0.5 * p["wide"] + 0.2 * max(p["smile"], 0)) * (1 - 0.5 * p["round"])
    height = 4 + 36 * gap + 10 * p["round"] * (1 - p["closed"])
    lift = 10 * p["smile"]  # corners up for a smile, down for a frown
    if height < 7:
        draw.line([mx - width, my - lift, mx, my, mx + width, my - lift], fill=_LIP, width=5, joint="curve")
        return
    outline = [
        (mx - width, my - lift),
        (mx - width / 2, my - height / 2),
        (mx + width / 2, my - height / 2),
        (mx + width, my - lift),
        (mx + width / 2, my + height / 2),
        (mx - width / 2, my + height / 2),
    ]
    draw.polygon(outline, fill=_MOUTH, outline=_LIP, width=5)


def _font(size: int):
    _, _, ImageFont = _image_module()
    return ImageFont.load_default(size=size)


def _ranges(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel display range: at least 0..1, wider where the values go further."""
    return np.minimum(values.min(axis=0), 0.0), np.maximum(values.max(axis=0), 1.0)


def _frame(names: list[str], values: np.ndarray, faces: np.ndarray, i: int, fps: int):
    """Face on the left, one labelled bar per channel on the right."""
    Image, ImageDraw, _ = _image_module()
    row = int(np.clip(520 / len(names), 9, 24))
    img = Image.new("RGB", (_SIZE + 420, max(_SIZE + 30, row * len(names) + 20)), "white")
    img.paste(_face(faces[i]), (0, 0))
    draw = ImageDraw.Draw(img)
    draw.text((10, _SIZE + 5), f"t = {i / fps:6.2f} s", fill=_INK, font=_font(14))
    lo, hi = _ranges(values)
    font = _font(max(8, row - 2))
    x0, bar_w = _SIZE + 150, 250
    for j, name in enumerate(names):
        y = 10 + j * row
        zero = x0 + bar_w * (0 - lo[j]) / (hi[j] - lo[j])
        end = x0 + bar_w * (values[i, j] - lo[j]) / (hi[j] - lo[j])
        draw.text((_SIZE + 5, y), name[:22], fill=_INK, font=font)
        draw.rectangle([x0, y + 1, x0 + bar_w, y + row - 2], outline=(210, 210, 210))
        draw.rectangle([min(zero, end), y + 1, max(zero, end), y + row - 2], fill=(70, 130, 200))
        draw.line([zero, y, zero, y + row - 1], fill=_INK)
    return img


def _contact_sheet(names: list[str], values: np.ndarray, faces: np.ndarray, fps: int):
    """Eight faces at evenly spaced times above a channels x time heat map."""
    Image, ImageDraw, _ = _image_module()
    picks = np.unique(np.linspace(0, len(values) - 1, 8).round().astype(int))
    thumb = _SIZE // 2
    row = int(np.clip(480 / len(names), 8, 20))
    width, label_w = thumb * 8, 150
    img = Image.new("RGB", (width, thumb + 30 + row * len(names) + 10), "white")
    draw = ImageDraw.Draw(img)
    for k, i in enumerate(picks):
        img.paste(_face(faces[i]).resize((thumb, thumb)), (k * thumb, 0))
        draw.text((k * thumb + 8, thumb + 4), f"{i / fps:.2f} s", fill=_INK, font=_font(13))
    lo, hi = _ranges(values)
    heat = ((values - lo) / (hi - lo) * 255).clip(0, 255).astype(np.uint8).T  # (channels, frames)
    cells = Image.fromarray(255 - heat, "L").resize((width - label_w, row * len(names)), Image.NEAREST)
    img.paste(cells.convert("RGB"), (label_w, thumb + 30))
    font = _font(max(8, row - 2))
    for j, name in enumerate(names):
        draw.text((4, thumb + 30 + j * row), name[:22], fill=_INK, font=font)
    for i in picks:  # mark where the faces above were taken
        x = label_w + (width - label_w) * (i + 0.5) / len(values)
        draw.line([x, thumb + 26, x, thumb + 30], fill=(200, 60, 60), width=2)
    return img


def _write_mp4(out: Path, frames: list, fps: int, wav: Path | None) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("writing .mp4 needs ffmpeg on PATH (apt-get install ffmpeg); .gif and .png need no more")
    w, h = frames[0].size
    cmd = [
        ffmpeg,
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{w}x{h}",
        "-r",
        str(fps),
        "-i",
        "-",
    ]
    cmd += ["-i", str(wav), "-shortest"] if wav else []
    cmd += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
