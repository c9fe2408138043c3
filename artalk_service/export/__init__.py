"""ONNX export of the whole network, for the onnxruntime backend (`serve --backend onnxruntime`).

    artalk-export --out DIR                  # the bundled model; or python -m artalk_service.export
    artalk-export --tiny --out DIR           # ModelConfig.tiny(), random weights (CI)

Six graphs (graphs.py), each checked with onnx.checker, then compared with PyTorch on 20
real speech clips (parity.py): largest absolute difference per output within
parity.TOLERANCES (1e-4 for the speech encoder's modulations and the transformer step's
logits and caches, 1e-5 for the style, embedding and decoder outputs and for the frames,
no bit differing in the autoencoder's codes), and greedy codes identical in every window of
every clip. manifest.json records opset, input and output shapes, sha256 per file, versions
and these figures. The service exports on demand into a cache folder (ensure_exported).
"""

from artalk_service.export.onnx_export import default_onnx_dir, ensure_exported, export_model, read_manifest

__all__ = ["default_onnx_dir", "ensure_exported", "export_model", "read_manifest"]
