"""`artalk-retarget`: check, inspect and preview retarget maps without a server.

    artalk-retarget validate MAP.json [MORE ...] [--dir DIR]
    artalk-retarget list [--dir DIR]
    artalk-retarget show NAME_OR_FILE [--dir DIR]
    artalk-retarget preview MAP --wav IN.wav --out preview.png|.gif|.mp4 [--fps N] [--model PATH]

A MAP is a preset name or a map file. `extends` in a file may name a built-in
preset or another map in --dir (default: the file's own folder), as the server's
--retarget-dir allows.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from artalk_service.layout import ARKIT61
from artalk_service.retarget.errors import RetargetError
from artalk_service.retarget.library import MapLibrary
from artalk_service.retarget.map import RetargetMap
from artalk_service.retarget.parse import load_file, parse_map


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Other broken files in the folder only matter if a map extends them, and then the error says so.
    logging.getLogger("artalk.retarget").setLevel(logging.ERROR)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="artalk-retarget", description="Check, inspect and preview retarget maps.")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check map files; exit 1 if any is invalid")
    validate.add_argument("maps", nargs="+", type=Path, metavar="MAP")
    validate.set_defaults(run=_validate)
    listing = sub.add_parser("list", help="list the presets (built-in and in --dir)")
    listing.set_defaults(run=_list)
    show = sub.add_parser("show", help="print a preset or map file fully resolved, as JSON to start a map from")
    show.add_argument("map", metavar="NAME_OR_FILE")
    show.set_defaults(run=_show)
    preview = sub.add_parser("preview", help="render a 2D face and bars driven by the mapped values")
    preview.add_argument("map", metavar="NAME_OR_FILE")
    preview.add_argument("--wav", type=Path, required=True, help="speech to animate")
    preview.add_argument("--out", type=Path, required=True, help="preview.png (contact sheet), .gif or .mp4")
    preview.add_argument("--fps", type=int, default=0, help="output frame rate (default: native 25)")
    preview.add_argument("--model", default=None, help="model checkpoint; default: the bundled model")
    preview.add_argument("--untrained", action="store_true", help="use random weights (testing)")
    preview.add_argument("--style", default=None, help="style preset name")
    preview.set_defaults(run=_preview)
    for command in (validate, listing, show, preview):
        command.add_argument(
            "--dir",
            type=Path,
            default=None,
            help="folder of maps that `extends` may name (default: the map file's folder)",
        )
    return parser


def _library(folder: Path | None) -> MapLibrary:
    library = MapLibrary(ARKIT61, folder)
    library.refresh()
    return library


def _load(name_or_file: str | Path, folder: Path | None) -> RetargetMap:
    """A map file, named by its stem, or a preset; RetargetError or KeyError if neither works."""
    path = Path(name_or_file)
    if path.suffix.lower() in (".json", ".yaml", ".yml") or path.exists():
        library = _library(folder or path.parent)
        try:
            return replace(parse_map(load_file(path), ARKIT61, library.get), name=path.stem)
        except OSError as err:
            raise RetargetError(f"cannot read {path}: {err.strerror}") from None
    library = _library(folder)
    name = str(name_or_file)
    if name in library.errors and name not in library.presets:  # here the operator reads why, not a client
        raise KeyError(f"retarget preset {name!r} is invalid: {library.errors[name]}")
    return library.get(name)


def _validate(args) -> int:
    failed = 0
    for path in args.maps:
        try:
            retarget = _load(path, args.dir)
        except (RetargetError, KeyError) as err:
            failed += 1
            print(f"{path}: invalid: {err.args[0]}", file=sys.stderr)
            continue
        print(f"{path}: ok: {len(retarget.names)} channels: {', '.join(retarget.names)}")
    return 1 if failed else 0


def _list(args) -> int:
    library = _library(args.dir)
    for name, retarget in library.presets.items():
        print(f"{name:18} {len(retarget.names):3} channels  {retarget.description}")
    for name, why in library.errors.items():
        print(f"{name:18} invalid: {why}", file=sys.stderr)
    return 0


def _show(args) -> int:
    try:
        retarget = _load(args.map, args.dir)
    except (RetargetError, KeyError) as err:
        print(f"{args.map}: {err.args[0]}", file=sys.stderr)
        return 1
    print(json.dumps(retarget.to_spec(), indent=2))
    return 0


def _preview(args) -> int:
    from artalk_service.retarget.preview import render

    try:
        retarget = _load(args.map, args.dir)
    except (RetargetError, KeyError) as err:
        print(f"{args.map}: {err.args[0]}", file=sys.stderr)
        return 1
    fps = args.fps or ARKIT61.fps
    native = _animate(args.wav, args.model, args.untrained, args.style, fps)
    render(args.out, retarget.names, retarget.apply(native, retarget.new_state(fps)), fps, args.wav)
    print(f"wrote {args.out}: {len(native)} frames at {fps} fps, map {retarget.name}")
    return 0


def _animate(wav: Path, model_path: str | None, untrained: bool, style: str | None, fps: int) -> np.ndarray:
    """Native motion for a WAV file at `fps`, from the model running here."""
    from artalk_service.audio import read_wav
    from artalk_service.audio.wav import load_wav_16k
    from artalk_service.loader import ModelLoadError, load_model
    from artalk_service.model import StreamOptions
    from artalk_service.retarget.framerate import FrameRateConverter

    try:
        model = load_model(model_path, "cpu", "torch", untrained=untrained)
    except ModelLoadError as err:
        raise SystemExit(str(err)) from None
    data, fmt = read_wav(wav)
    native = model.animate(load_wav_16k(wav), StreamOptions(style=style, seed=0))
    converter = FrameRateConverter(model.layout.fps, fps, model.layout.num_channels)
    samples = len(data) // fmt.bytes_per_frame
    total = -(-samples * fps // fmt.sample_rate_hz)  # ceil, as a session emits
    frames = [converter.push(native)[1], converter.finish(total)[1]]
    return np.concatenate(frames)


if __name__ == "__main__":
    sys.exit(main())
