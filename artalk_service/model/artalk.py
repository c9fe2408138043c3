"""The whole network: speech encoder, style encoder, autoencoder, AR transformer, and the
per-window inference loop (one forward pass per scale, batched over streams).

Window w's computation depends only on its audio context, the session's style and
window w-1's codes; that is what makes streamed output equal offline output.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..layout import get_layout
from .autoencoder import MotionAutoencoder
from .config import ModelConfig
from .quantizer import resize
from .sampling import draw_bits, guide
from .speech import SpeechEncoder
from .style import StyleEncoder
from .transformer import ScaleTransformer


class ARTalk(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        layout = get_layout(config.layout)

        # 1. motion normalisation: per-channel statistics, set from data at training time
        self.register_buffer("motion_mean", torch.zeros(layout.num_channels))
        self.register_buffer("motion_std", torch.ones(layout.num_channels))

        # 2. the four parts
        self.speech = SpeechEncoder(config)
        self.style = StyleEncoder(config, layout.num_channels)
        self.autoencoder = MotionAutoencoder(config, layout.num_channels)
        self.transformer = ScaleTransformer(config)

    def normalize(self, motion_BTC: torch.Tensor) -> torch.Tensor:
        return (motion_BTC - self.motion_mean) / self.motion_std

    def denormalize(self, motion_BTC: torch.Tensor) -> torch.Tensor:
        return motion_BTC * self.motion_std + self.motion_mean

    def token_conditions(self, feats_BTC: torch.Tensor) -> torch.Tensor:
        """Adapted speech features of the audio contexts (`speech.adapt(whisper features)`)
        -> one conditioning vector per token of [previous, current] (B, 2N, C).

        The context ends at the current window's end + lookahead; at 50 Hz each motion
        frame is 2 feature frames."""
        cur = self.current_rows().start
        return self.tokens_from_rows(feats_BTC, cur - 2 * self.config.window.frames, cur)

    def tokens_from_rows(self, feats_BtC: torch.Tensor, prev: int, cur: int) -> torch.Tensor:
        """Feature rows in which the previous window starts at row `prev` and the current one
        at row `cur` -> per-frame features (`frame_features`) -> their area averages at each
        scale, previous window's tokens first. (B, 2N, C)"""
        span = self.window_rows()
        halves = (feats_BtC[:, prev : prev + span], feats_BtC[:, cur : cur + span])
        return torch.cat([resize(self.frame_features(h), s) for h in halves for s in self.config.window.scales], dim=1)

    def window_rows(self) -> int:
        """Feature rows one window's frame features read: 2 per frame, + 1 past its end when centred."""
        w = self.config.window
        return 2 * w.frames + int(w.centred_frames)

    def frame_features(self, rows_BtC: torch.Tensor) -> torch.Tensor:
        """A window's feature rows (2W, or 2W + 1 when centred) -> one vector per frame (B, W, C)."""
        if self.config.window.centred_frames:
            return 0.25 * rows_BtC[:, 0:-1:2] + 0.5 * rows_BtC[:, 1::2] + 0.25 * rows_BtC[:, 2::2]
        return resize(rows_BtC, self.config.window.frames)

    def current_rows(self) -> slice:
        """The 50 Hz speech feature rows of an audio context that the current window spans
        (the context ends at the window's end + lookahead; 2 feature rows per motion frame)."""
        w = self.config.window
        start = 2 * (w.context_frames - w.frames - w.lookahead_frames)
        return slice(start, start + 2 * w.frames)

    def transformer_inputs(self, style_BC: torch.Tensor, bits_BND: torch.Tensor) -> torch.Tensor:
        return self.transformer.embed(style_BC, self.autoencoder.quantizer.next_scale_inputs(bits_BND))

    def logits(self, feats_BTC, style_BC, prev_bits_BND, bits_BND) -> torch.Tensor:
        """Teacher forcing (training: the frozen Whisper features under feats_BTC may be
        cached): the current window's bit logits (B, N, D, 2)."""
        x_B2NC = torch.cat(
            [self.transformer_inputs(style_BC, prev_bits_BND), self.transformer_inputs(style_BC, bits_BND)], dim=1
        )
        return self.transformer(x_B2NC, self.token_conditions(feats_BTC))

    def rest_motion(self) -> torch.Tensor:
        """The rest pose in normalised units (C,): every blendshape 0 (jaw and lips closed, a
        neutral face) and every rotation 0. What comes before the first window of a stream, in
        training (`train.windows`) and at inference (`initial_bits`)."""
        return -self.motion_mean / self.motion_std

    @torch.no_grad()
    def initial_bits(self) -> torch.Tensor:
        """Codes standing in for the window before the first: the rest pose held still, coded
        after itself. (1, N, D)"""
        W = self.config.window.frames
        rest = self.rest_motion().expand(1, W, -1)
        return self.autoencoder.encode(rest, rest)[1]

    def condition_rows(self) -> tuple[slice, slice, int]:
        """Inference needs Whisper positions [lo, hi) only (the two halves of token_conditions)
        plus the adapter conv's reach on each side. -> (Whisper rows to compute, rows of the
        halves within them, split point between the halves within them)."""
        w, reach = self.config.window, self.speech.conv.kernel_size[0] // 2
        cur = self.current_rows().start
        lo, hi = cur - 2 * w.frames, cur + self.window_rows()
        a, b = max(0, lo - reach), min(2 * w.context_frames, hi + reach)
        return slice(a, b), slice(lo - a, hi - a), cur - a

    @torch.no_grad()
    def conditions(self, audio_BS: torch.Tensor, whisper_dtype: torch.dtype | None = None) -> list[torch.Tensor]:
        """Audio contexts (B, S) -> every token's AdaLN modulations, per block then the head
        (B, 2N, 6C / 2C). Equal to
        tf.modulations(token_conditions(speech.adapt(whisper_features(audio)))) but computes the last
        Whisper layer and the adapter only where tokens read them.
        whisper_dtype: run the frozen Whisper under autocast to this type (an optional speed
        mode, torch.bfloat16: not the trained math; see README "Performance")."""
        with torch.autocast(
            audio_BS.device.type, dtype=whisper_dtype or torch.bfloat16, enabled=whisper_dtype is not None
        ):
            whisper_BtC = self.speech.whisper_features(audio_BS, self.condition_rows()[0])
        return self.conditions_from_whisper(whisper_BtC.float())

    def conditions_from_whisper(self, whisper_BtC: torch.Tensor) -> list[torch.Tensor]:
        """The second half of conditions(): Whisper features at the rows condition_rows() names
        -> adapter -> one vector per token -> AdaLN modulations. (The ONNX export computes the
        features with its own log-mel front end and continues here.)"""
        _, halves, cur = self.condition_rows()
        return self.transformer.modulations(self.tokens_from_rows(self.speech.adapt(whisper_BtC), halves.start, cur))

    @torch.no_grad()
    def null_conditions(self) -> list[torch.Tensor]:
        """The AdaLN modulations of the null audio (every token hears nothing), shaped like one
        window's conditions (1, 2N, 6C / 2C): classifier-free guidance's unconditional branch."""
        if self.speech.null_features is None:
            raise ValueError(
                "this model was trained without a null audio condition (model.speech.null_audio): "
                "it supports guidance 1 only"
            )
        tokens = 2 * self.config.window.num_tokens
        return self.transformer.modulations(self.speech.null_features.expand(1, tokens, -1))

    @torch.no_grad()
    def generate(
        self,
        audio_BS,
        style_BC,
        prev_bits_BND,
        temperature_B,
        top_p_B,
        generators: list[torch.Generator],
        guidance_B: torch.Tensor | None = None,
    ):
        """One window for each of B streams -> (codes (B, N, D), normalised motion (B, W, C))."""
        return self.generate_from(
            self.conditions(audio_BS), style_BC, prev_bits_BND, temperature_B, top_p_B, generators, guidance_B
        )

    @torch.no_grad()
    def generate_from(
        self,
        ada: list[torch.Tensor],
        style_BC,
        prev_bits_BND,
        temperature_B,
        top_p_B,
        generators: list[torch.Generator | None],
        guidance_B: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """generate() given the windows' conditions (`conditions(audio)`, which may be computed
        ahead, batched over many windows). The previous window's tokens run once, at step 0,
        and their keys/values are cached for the later scale steps.
        guidance_B: classifier-free guidance scale of the audio per stream (None, or all 1: off);
        the null-audio branch runs as B more rows (sampling.guide)."""
        scales, N = self.config.window.scales, self.config.window.num_tokens
        quantizer, tf = self.autoencoder.quantizer, self.transformer
        guided = guidance_B is not None and bool((guidance_B != 1).any())
        if guided:
            ada = [torch.cat([a, n.expand_as(a)]) for a, n in zip(ada, self.null_conditions())]
        caches = [{} for _ in tf.blocks]
        # step 0 runs the previous window's tokens and the style token together
        x_BlC = torch.cat([self.transformer_inputs(style_BC, prev_bits_BND), style_BC[:, None]], dim=1)
        mask, start, f_hat_BWD, bits = tf.mask_LL[: N + 1, : N + 1], 0, 0.0, []
        for k, s in enumerate(scales):
            stop = start + x_BlC.shape[1]
            h_BlC = tf.step(x_BlC.repeat(2, 1, 1) if guided else x_BlC, ada, start, mask, caches)
            logits_BsD2 = tf.logits(h_BlC[:, -s:], ada[-1][:, stop - s : stop])
            if guided:
                logits_BsD2 = guide(logits_BsD2, guidance_B)
            bits.append(draw_bits(logits_BsD2, temperature_B, top_p_B, generators))
            if k + 1 < len(scales):  # later scales see everything cached so far: no mask
                f_hat_BWD = f_hat_BWD + quantizer.lift(quantizer.codes_to_vectors(bits[-1]), k)
                x_BlC, mask, start = tf.word_embed(resize(f_hat_BWD, scales[k + 1])), None, stop
        bits_BND = torch.cat(bits, dim=1)
        return bits_BND, self.decode_bits(prev_bits_BND, bits_BND)

    def decode_bits(self, prev_bits_BND: torch.Tensor, bits_BND: torch.Tensor) -> torch.Tensor:
        """Codes of two consecutive windows -> the current window's normalised motion (B, W, C)."""
        quantizer = self.autoencoder.quantizer
        return self.autoencoder.decode(quantizer.bits_to_latent(prev_bits_BND), quantizer.bits_to_latent(bits_BND))
