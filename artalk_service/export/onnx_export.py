"""An export folder: every graph of `graphs.model_graphs` as an ONNX file, checked with
onnx.checker, hashed, and compared with PyTorch on real speech, described by manifest.json.

The manifest is written last (and deleted first), so a folder with a manifest whose
hashes match its files is a finished export of the model it names.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from importlib.metadata import version
from pathlib import Path

import torch
from tqdm import tqdm

from artalk_service.export.graphs import Graph, model_graphs
from artalk_service.export.parity import ParityFailed, check_parity, measure_parity, speech_clips
from artalk_service.model import MotionModel

log = logging.getLogger("artalk.export")
FORMAT, FORMAT_VERSION = "artalk_service.onnx_export", 2  # 2: rest_motion
OPSET = 18  # the lowest opset torch.onnx's exporter writes; LayerNormalization needs 17
MANIFEST = "manifest.json"


def default_onnx_dir(model_id: str) -> Path:
    """The export cache of a model: $ARTALK_CACHE_DIR/onnx/<model_id>, by default under ~/.cache/artalk."""
    root = os.environ.get("ARTALK_CACHE_DIR") or Path.home() / ".cache" / "artalk"
    return Path(root) / "onnx" / model_id


def weights_sha256(model: MotionModel) -> str:
    """Digest of every weight and buffer the graphs are made of (Whisper's included)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.net.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def export_graph(graph: Graph, path: Path) -> None:
    """One graph to one self-contained ONNX file (weights inside), checked."""
    import onnx
    from torch.export import Dim

    dynamic_shapes = [{axis: Dim.DYNAMIC for axis in graph.dynamic_axes.get(name, {})} for name in graph.inputs]
    if graph.varargs_from is not None:  # a forward(*args): its shapes are one tuple
        cut = graph.varargs_from
        dynamic_shapes = dynamic_shapes[:cut] + [tuple(dynamic_shapes[cut:])]
    with torch.no_grad(), warnings.catch_warnings(), _quiet("torch.onnx", "onnxscript"):
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals
        program = torch.onnx.export(
            graph.module,
            tuple(graph.inputs.values()),
            dynamo=True,
            opset_version=OPSET,
            input_names=list(graph.inputs),
            output_names=list(graph.outputs),
            dynamic_shapes=tuple(dynamic_shapes),
            verbose=False,
        )
    model = program.model_proto
    for value in [*model.graph.input, *model.graph.output]:  # the exporter numbers dynamic axes: name them
        for axis, name in graph.dynamic_axes.get(value.name, {}).items():
            value.type.tensor_type.shape.dim[axis].dim_param = name
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))


@contextlib.contextmanager
def _quiet(*loggers: str):
    """Only errors from these loggers (the exporter logs every optional library it lacks)."""
    levels = {name: logging.getLogger(name).level for name in loggers}
    for name in loggers:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def describe(path: Path) -> dict:
    """Input and output names, element types and shapes (a name for each dynamic axis)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph

    def values(items):
        return [
            {
                "name": v.name,
                "dtype": onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name,
                "shape": [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim],
            }
            for v in items
        ]

    return {"inputs": values(graph.input), "outputs": values(graph.output)}


def export_model(model: MotionModel, out_dir: str | Path, clips: int = 20, seed: int = 0) -> dict:
    """Export `model` (on the CPU, torch backend) into `out_dir` and check it on `clips` speech
    clips; raises ParityFailed (and leaves no manifest) if a figure is out of tolerance."""
    from artalk_service.export.onnx_backend import OnnxBackend

    if model.backend.name != "torch" or model.device.type != "cpu":
        raise ValueError("export from the torch backend on the CPU")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)
    graphs = {}
    for graph in tqdm(model_graphs(model.net), desc="export to ONNX", unit="graph", disable=None):
        path = out_dir / f"{graph.name}.onnx"
        export_graph(graph, path)
        graphs[graph.name] = {
            "file": path.name,
            "sha256": file_sha256(path),
            "bytes": path.stat().st_size,
            **describe(path),
        }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_id": model.model_id,
        "weights_sha256": weights_sha256(model),
        "config": model.config.to_dict(),
        # the pose before a stream's first window, normalised (ARTalk.rest_motion): its codes are
        # the first window's motion context
        "rest_motion": model.net.rest_motion().tolist(),
        "opset": OPSET,
        "versions": {p: version(p) for p in ("artalk_service", "torch", "onnx", "onnxscript", "onnxruntime")},
        "graphs": graphs,
    }
    _write_manifest(out_dir, manifest)  # the backend reads it; replaced below once parity holds
    audio, source = speech_clips(clips, seed)
    try:
        parity = measure_parity(model, OnnxBackend(out_dir, "cpu"), audio)
        parity["clips"] = {
            "count": len(audio),
            "seed": seed,
            "source": source,
            "seconds": round(sum(a.size for a in audio) / model.sample_rate, 1),
        }
        check_parity(parity)
    except ParityFailed:
        (out_dir / MANIFEST).unlink()
        raise
    manifest["parity"] = parity
    _write_manifest(out_dir, manifest)
    return manifest


def _write_manifest(out_dir: Path, manifest: dict) -> None:
    tmp = out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    tmp.replace(out_dir / MANIFEST)


def read_manifest(folder: str | Path, model: MotionModel) -> dict | None:
    """The folder's manifest if it is a finished export of `model` (same weights, intact files)."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if (
        (manifest.get("format"), manifest.get("format_version")) != (FORMAT, FORMAT_VERSION)
        or manifest.get("model_id") != model.model_id
        or "parity" not in manifest
        or manifest.get("weights_sha256") != weights_sha256(model)
    ):
        return None
    for graph in manifest["graphs"].values():
        path = Path(folder) / graph["file"]
        if not path.is_file() or file_sha256(path) != graph["sha256"]:
            return None
    return manifest


def ensure_exported(model: MotionModel, onnx_dir: str | Path | None = None) -> Path:
    """The folder of `model`'s ONNX graphs, exported there first unless it holds them already."""
    folder = Path(onnx_dir) if onnx_dir is not None else default_onnx_dir(model.model_id)
    if read_manifest(folder, model) is None:
        log.info("exporting model %s to ONNX in %s (once per model: about a minute)", model.model_id, folder)
        export_model(model, folder)
    return folder
