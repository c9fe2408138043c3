"""ONNX export: `artalk-export --tiny` as CI runs it, and the bundled model's parity on 20
real speech clips (greedy codes identical, every output within its tolerance)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
import tomllib

from artalk_service.export import default_onnx_dir, ensure_exported, read_manifest
from artalk_service.export.parity import TOLERANCES, ParityFailed, check_parity
from artalk_service.model import ModelConfig, MotionModel

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = {
    "speech_encoder",
    "style_encoder",
    "token_embed",
    "transformer_step",
    "autoencoder_encoder",
    "autoencoder_decoder",
}


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_console_script_and_module_entry_point():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["artalk-export"] == "artalk_service.export.cli:main"
    proc = subprocess.run(
        [sys.executable, "-m", "artalk_service.export", "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0 and "--tiny" in proc.stdout and "--out" in proc.stdout


def test_tiny_export_writes_checked_graphs_and_their_manifest(tiny_onnx_dir):
    manifest = manifest_of(tiny_onnx_dir)
    tiny = MotionModel.untrained(ModelConfig.tiny(), seed=0)
    assert manifest["model_id"] == tiny.model_id and manifest["opset"] == 18
    assert set(manifest["versions"]) >= {"torch", "onnx", "onnxruntime"}
    assert set(manifest["graphs"]) == GRAPHS
    for graph in manifest["graphs"].values():
        path = tiny_onnx_dir / graph["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == graph["sha256"]
        onnx.checker.check_model(str(path), full_check=True)
    speech, step = manifest["graphs"]["speech_encoder"], manifest["graphs"]["transformer_step"]
    S = tiny.config.window.context_frames * tiny.frame_samples
    assert speech["inputs"] == [{"name": "audio", "dtype": "float32", "shape": ["batch", S]}]
    shapes = {v["name"]: v["shape"] for v in step["inputs"] + step["outputs"]}
    heads, width = tiny.config.transformer.heads, tiny.config.transformer.width
    assert shapes["x"] == ["batch", "tokens", width] and shapes["mask"] == ["tokens", "keys"]
    assert shapes["past_k_0"] == ["batch", heads, "past", width // heads]
    assert shapes["present_v_1"] == ["batch", heads, "keys", width // heads]
    assert shapes["logits"] == ["batch", "tokens", tiny.config.autoencoder.latent_dim, 2]
    parity = manifest["parity"]
    assert parity["greedy"]["clips"] == parity["greedy"]["clips_identical"] == parity["clips"]["count"] == 3
    check_parity(parity)


def test_bundled_model_parity_on_20_real_clips(bundled_onnx_dir, torch_model):
    parity = manifest_of(bundled_onnx_dir)["parity"]
    assert parity["clips"]["count"] >= 20 and parity["clips"]["source"].startswith("espeak-ng")
    greedy = parity["greedy"]
    assert greedy["clips_identical"] == greedy["clips"] >= 20
    assert greedy["windows_identical"] == greedy["windows"] >= 100
    for graph, outputs in parity["max_abs_diff"].items():
        assert set(outputs) and max(outputs.values()) <= TOLERANCES[graph], graph
    assert parity["frames_max_abs_diff"] <= TOLERANCES["frames"]
    assert read_manifest(bundled_onnx_dir, torch_model) is not None


def test_parity_outside_tolerance_is_refused(tiny_onnx_dir):
    parity = manifest_of(tiny_onnx_dir)["parity"]
    parity["max_abs_diff"]["transformer_step"]["logits"] = 10 * TOLERANCES["transformer_step"]
    with pytest.raises(ParityFailed, match="transformer_step.logits"):
        check_parity(parity)
    parity = manifest_of(tiny_onnx_dir)["parity"]
    parity["greedy"]["clips_identical"] -= 1
    with pytest.raises(ParityFailed, match="greedy codes differ in 1 of 3 clips"):
        check_parity(parity)


def test_a_matching_export_is_reused_and_a_damaged_one_is_not(tiny_onnx_dir, tmp_path):
    tiny = MotionModel.untrained(ModelConfig.tiny(), seed=0)
    copy = tmp_path / "onnx"
    shutil.copytree(tiny_onnx_dir, copy)
    before = {p.name: p.stat().st_mtime_ns for p in copy.iterdir()}
    assert ensure_exported(tiny, copy) == copy
    assert {p.name: p.stat().st_mtime_ns for p in copy.iterdir()} == before  # nothing re-exported
    assert read_manifest(copy, MotionModel.untrained(ModelConfig.tiny(), seed=1)) is None  # other weights
    damaged = bytearray((copy / "token_embed.onnx").read_bytes())
    damaged[-1] ^= 0xFF
    (copy / "token_embed.onnx").write_bytes(bytes(damaged))
    assert read_manifest(copy, tiny) is None


def test_cache_folder_is_keyed_by_model_id(monkeypatch, tmp_path):
    monkeypatch.setenv("ARTALK_CACHE_DIR", str(tmp_path))
    assert default_onnx_dir("artalk-arkit61-abc") == tmp_path / "onnx" / "artalk-arkit61-abc"
    monkeypatch.delenv("ARTALK_CACHE_DIR")
    assert default_onnx_dir("m") == Path.home() / ".cache" / "artalk" / "onnx" / "m"
