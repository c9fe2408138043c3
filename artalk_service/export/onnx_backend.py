"""The network on ONNX Runtime: the graphs `artalk_service.export` writes, run by the CPU
execution provider, or by the CUDA provider where `onnxruntime-gpu` and a GPU exist
(`pip install -e ".[gpu]"`).

The window loop mirrors ARTalk.generate_from: the previous window's tokens and the style
token run at step 0, each later scale step runs that scale's tokens against the key/value
cache, which goes in and out of `transformer_step` explicitly. Bits are chosen by the same
`draw_bits` (after the same `guide`) as in PyTorch, so greedy and seeded sampling mean the
same on both backends.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from artalk_service.model import ModelConfig, MotionModel
from artalk_service.model.sampling import draw_bits, guide
from artalk_service.model.transformer import scale_mask

CUDA_PROVIDER, CPU_PROVIDER = "CUDAExecutionProvider", "CPUExecutionProvider"


def execution_providers(device: torch.device) -> list[str]:
    """ONNX Runtime providers for `device`; CUDA is never swapped for the CPU in silence."""
    import onnxruntime as ort

    if device.type == "cpu":
        return [CPU_PROVIDER]
    if device.type != "cuda":
        raise ValueError(f"onnxruntime backend: unsupported device {device}; use cpu or cuda")
    available = ort.get_available_providers()
    if CUDA_PROVIDER not in available:
        raise RuntimeError(
            f"--device {device} with the onnxruntime backend needs {CUDA_PROVIDER}, but this "
            f"onnxruntime offers only {available}: install the gpu extra (onnxruntime-gpu) on a "
            f"machine with a CUDA GPU, or use --device cpu"
        )
    # the CPU provider stays listed for the few nodes the CUDA provider has no kernel for
    return [(CUDA_PROVIDER, {"device_id": device.index or 0}), CPU_PROVIDER]


def open_sessions(folder: Path, files: dict[str, str], device: torch.device, threads: int) -> dict[str, object]:
    """An onnxruntime InferenceSession per graph file, on `device`'s execution provider."""
    import onnxruntime as ort

    providers = execution_providers(device)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # Idle pool threads spin unless told otherwise; on a shared CPU that stalls every op
    # (see README "Performance"), so follow the process's OpenMP wait policy.
    spinning = os.environ.get("OMP_WAIT_POLICY", "").upper() == "ACTIVE"
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    sessions = {
        name: ort.InferenceSession(str(folder / file), options, providers=providers) for name, file in files.items()
    }
    wanted = CUDA_PROVIDER if device.type == "cuda" else CPU_PROVIDER
    for name, session in sessions.items():
        if wanted not in session.get_providers():  # onnxruntime drops a provider it cannot load, quietly
            raise RuntimeError(
                f"onnxruntime could not start {wanted} for {name}, only {session.get_providers()} "
                f"(check the CUDA and cuDNN libraries)"
            )
    return sessions


class OnnxBackend:
    """Runs an export folder (its manifest.json and graphs) with ONNX Runtime."""

    name = "onnxruntime"

    def __init__(self, folder: str | Path, device: str | torch.device = "cpu", threads: int | None = None):
        """threads: the speech encoder's intra-op threads (default: torch's). The other graphs run
        on one: their matrices have 1-19 rows a window, and one thread was faster than two
        (2-core VM: 13.1x against 10.6x real time offline, 25.5 against 27.9 ms a window at B=8)."""
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
        self.device, self.tensor_device = torch.device(device), torch.device("cpu")
        files = {name: graph["file"] for name, graph in manifest["graphs"].items()}
        speech = {"speech_encoder": files.pop("speech_encoder")}
        self._sessions = {
            **open_sessions(Path(folder), speech, self.device, threads or torch.get_num_threads()),
            **open_sessions(Path(folder), files, self.device, 1),
        }
        self.on_run: Callable[[str, dict, list], None] | None = None  # parity checks watch every graph call

        config = ModelConfig.from_dict(manifest["config"])
        self.scales = config.window.scales
        self.offsets = np.cumsum((0,) + self.scales)  # first token of each scale
        self.heads, self.head_width = config.transformer.heads, config.transformer.width // config.transformer.heads
        self.mask_LL = scale_mask(self.scales).numpy()
        self.ada_names = [node.name for node in self._sessions["speech_encoder"].get_outputs()]
        step_inputs = [node.name for node in self._sessions["transformer_step"].get_inputs()]
        self.past_names = step_inputs[3 + len(self.ada_names) :]  # after x, positions, mask and the modulations
        channels = self._sessions["autoencoder_encoder"].get_inputs()[0].shape[2]
        self._null_style = self.run("style_encoder", clip=np.zeros((1, channels), np.float32))[1]
        rest_C = np.asarray(manifest["rest_motion"], np.float32)  # ARTalk.rest_motion
        still_motion = np.ascontiguousarray(np.broadcast_to(rest_C, (1, config.window.frames, channels)))
        self._initial_bits = self.run("autoencoder_encoder", prev_motion=still_motion, motion=still_motion)[0][0]
        self._null_ada = self.run("null_conditions") if "null_conditions" in self._sessions else None

    def run(self, graph: str, **feeds: np.ndarray) -> list[np.ndarray]:
        outputs = self._sessions[graph].run(None, feeds)
        if self.on_run is not None:
            self.on_run(graph, feeds, outputs)
        return outputs

    def style(self, clip_TC: np.ndarray | None) -> torch.Tensor:
        if clip_TC is None:
            return torch.from_numpy(self._null_style.copy())
        return torch.from_numpy(self.run("style_encoder", clip=clip_TC)[0])

    def conditions(self, audio_BS: np.ndarray, whisper_dtype: torch.dtype | None = None) -> list[torch.Tensor]:
        if whisper_dtype is not None:
            raise ValueError("whisper_dtype is a speed mode of the torch backend; onnxruntime runs float32")
        return [torch.from_numpy(a) for a in self.run("speech_encoder", audio=audio_BS)]

    def generate(self, ada, style_BC, prev_bits_BND, temperature_B, top_p_B, generators, guidance_B=None):
        guided = guidance_B is not None and bool((guidance_B != 1).any())
        rows = 2 if guided else 1  # guided: the null-audio branch runs as B more rows
        ada_arrays = [a.numpy() for a in ada]
        if guided:
            if self._null_ada is None:
                raise ValueError("this export has no null_conditions graph: its model supports guidance 1 only")
            ada_arrays = [np.concatenate([a, np.broadcast_to(n, a.shape)]) for a, n in zip(ada_arrays, self._null_ada)]
        ada_feeds = dict(zip(self.ada_names, ada_arrays))
        style, prev = style_BC.numpy(), prev_bits_BND.numpy()
        B, N = len(style), self.offsets[-1]
        bits_BND = np.zeros_like(prev)
        # step 0 runs the previous window's tokens and the style token together
        x_BlC = np.concatenate([self.run("token_embed", style=style, bits=prev)[0], style[:, None]], axis=1)
        mask = self.mask_LL[: N + 1, : N + 1]
        past = [np.zeros((rows * B, self.heads, 0, self.head_width), np.float32)] * len(self.past_names)  # empty
        start = 0
        for k, s in enumerate(self.scales):
            stop = start + x_BlC.shape[1]
            logits, *past = self.run(
                "transformer_step",
                x=np.tile(x_BlC, (2, 1, 1)) if guided else x_BlC,
                positions=np.arange(start, stop),
                mask=mask,
                **ada_feeds,
                **dict(zip(self.past_names, past)),
            )
            logits_BsD2 = torch.from_numpy(logits[:, -s:])
            if guided:
                logits_BsD2 = guide(logits_BsD2, guidance_B)
            bits = draw_bits(logits_BsD2, temperature_B, top_p_B, generators)
            bits_BND[:, self.offsets[k] : self.offsets[k + 1]] = bits.numpy()
            # the next scale's inputs from the codes so far (token_embed's first token, the style,
            # stands in scale 0's place: one token, as in ARTalk); it sees every cached key
            if k + 1 < len(self.scales):
                tokens_BNC = self.run("token_embed", style=style, bits=bits_BND)[0]
                x_BlC = tokens_BNC[:, self.offsets[k + 1] : self.offsets[k + 2]]
                mask, start = np.ones((self.scales[k + 1], stop + self.scales[k + 1]), bool), stop
        motion_BWC = self.run("autoencoder_decoder", prev_bits=prev, bits=bits_BND)[0]
        return torch.from_numpy(bits_BND), torch.from_numpy(motion_BWC)

    def initial_bits(self) -> torch.Tensor:
        return torch.from_numpy(self._initial_bits.copy())


def onnxruntime_model(
    model: MotionModel,
    device: str | torch.device = "cpu",
    onnx_dir: str | Path | None = None,
    threads: int | None = None,
) -> MotionModel:
    """`model` (torch backend, CPU) computed by ONNX Runtime on `device`; its graphs come from
    `onnx_dir` (default: the cache folder of its model id), exported there first if missing."""
    from artalk_service.export.onnx_export import ensure_exported

    execution_providers(torch.device(device))  # before a minute of export: fail now if CUDA is missing
    return model.with_backend(OnnxBackend(ensure_exported(model, onnx_dir), device, threads))
