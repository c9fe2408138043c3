"""Training losses of the two stages. Motion is in normalised units throughout."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data.articulation import lip_gap
from ..data.phones import BILABIALS, PHONE_ID
from ..layout import HEAD_CHANNELS, get_layout
from ..model.artalk import ARTalk

BILABIAL_IDS = torch.tensor(sorted(PHONE_ID[p] for p in BILABIALS))


@dataclass(frozen=True)
class AutoencoderLossWeights:
    head_pose: float = 3.0  # head rotation is small in amplitude yet very visible
    velocity: float = 1.0  # frame-to-frame motion, the seam with the previous window included
    commitment: float = 0.25
    entropy: float = 0.1
    lip_gap: float = 0.0  # L1 on the lip opening (articulation.lip_gap), in units of its ~0.15 std


def channel_weights(net: ARTalk, weights: AutoencoderLossWeights) -> torch.Tensor:
    layout = get_layout(net.config.layout)
    w_C = torch.ones(layout.num_channels, device=net.motion_mean.device)
    w_C[layout.indices(HEAD_CHANNELS)] = weights.head_pose
    return w_C / w_C.mean()


def motion_loss(
    net: ARTalk,
    recon_BWC: torch.Tensor,
    motion_B3WC: torch.Tensor,
    weights: AutoencoderLossWeights = AutoencoderLossWeights(),
    gap_weights_BW: torch.Tensor | None = None,
):
    """Window w's motion (B, W, C) against the last of three normalised windows [w-2, w-1, w]:
    channel-weighted L1, velocity (the seam with window w-1 included) and lip gap, whose frames
    may weigh differently (gap_weights_BW). -> (loss, parts for logging)."""
    W = net.config.window.frames
    target_BWC, seam_B1C = motion_B3WC[:, -W:], motion_B3WC[:, -W - 1 : -W]
    w_C = channel_weights(net, weights)
    l1 = ((recon_BWC - target_BWC).abs() * w_C).mean()
    velocity = (
        (torch.cat([seam_B1C, recon_BWC], 1).diff(dim=1) - torch.cat([seam_B1C, target_BWC], 1).diff(dim=1)).abs() * w_C
    ).mean()
    loss = l1 + weights.velocity * velocity
    parts = {"l1": l1.detach(), "velocity": velocity.detach()}
    if weights.lip_gap > 0:
        gap_BW = (lip_gap(net.denormalize(recon_BWC)) - lip_gap(net.denormalize(target_BWC))).abs() / 0.15
        gap = gap_BW.mean() if gap_weights_BW is None else (gap_BW * gap_weights_BW).sum() / gap_weights_BW.sum()
        loss = loss + weights.lip_gap * gap
        parts["lip_gap"] = gap.detach()
    return loss, parts


def autoencoder_loss(
    net: ARTalk, motion_B3WC: torch.Tensor, weights: AutoencoderLossWeights = AutoencoderLossWeights()
):
    """Three consecutive normalised windows -> (loss, parts for logging).

    Window w is reconstructed from its codes and window w-1's codes, exactly as at inference."""
    recon_BWC, terms = net.autoencoder(motion_B3WC)
    loss, parts = motion_loss(net, recon_BWC, motion_B3WC, weights)
    loss = loss + weights.commitment * terms["commit"] + weights.entropy * terms["entropy"]
    return loss, {**parts, "commit": terms["commit"].detach(), "entropy": terms["entropy"].detach()}


@torch.no_grad()
def code_targets(net: ARTalk, motion_B3WC: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes of windows w-1 and w, each coded with its own predecessor: (B, N, D) x 2."""
    B, three_W, C = motion_B3WC.shape
    m2, m1, m0 = motion_B3WC.view(B, 3, three_W // 3, C).unbind(1)
    bits = net.autoencoder.encode(torch.cat([m2, m1]), torch.cat([m1, m0]))[1]
    return bits[:B], bits[B:]


@dataclass(frozen=True)
class TransformerLossWeights:
    phone: float = 0.0  # auxiliary phone classification of the adapted speech features
    # (needs config.speech.phone_classes)
    bilabial_tokens: float = 0.0  # extra bit cross-entropy weight of the tokens whose frames hold a
    # p/b/m: a missed closure costs a few bits among hundreds otherwise
    # (and of those frames' lip gap in the decoded-motion term)
    decoded_motion: float = 0.0  # weight of motion_loss on the motion decoded from the predicted bits
    # (the bit loss alone does not see when bits move an edge in time)
    motion: AutoencoderLossWeights = AutoencoderLossWeights()  # the terms of that motion_loss


def token_spans_any(frames_BW: torch.Tensor, scales: tuple[int, ...]) -> torch.Tensor:
    """Per-frame flags of a window -> per-token flags (B, N): does the token's span hold any?"""
    x_B1W = frames_BW.float()[:, None]
    return torch.cat([F.adaptive_max_pool1d(x_B1W, s)[:, 0] for s in scales], dim=1) > 0


def transformer_loss(
    net: ARTalk,
    whisper_BTC: torch.Tensor,
    style_BC: torch.Tensor,
    prev_bits_BND: torch.Tensor,
    bits_BND: torch.Tensor,
    phones_BT: torch.Tensor | None = None,
    weights: TransformerLossWeights = TransformerLossWeights(),
    motion_B3WC: torch.Tensor | None = None,
    audio_dropped_B: torch.Tensor | None = None,
):
    """Teacher-forced bit cross-entropy of the current window -> (loss, parts for logging).
    whisper_BTC = net.speech.whisper_features(audio contexts), cacheable: Whisper is frozen.
    phones_BT: the phone id of every Whisper frame (data.phones.PHONES), for the phone and
    bilabial-token terms. motion_B3WC: the normalised windows the bits code (code_targets),
    for the decoded-motion term. audio_dropped_B: windows conditioned on the null audio instead
    (classifier-free guidance's unconditional branch; the phone term still reads their audio)."""
    feats_BTC = net.speech.adapt(whisper_BTC)
    heard_BTC = feats_BTC
    if audio_dropped_B is not None:
        heard_BTC = torch.where(audio_dropped_B[:, None, None], net.speech.null_features, feats_BTC)
    logits_BND2 = net.logits(heard_BTC, style_BC, prev_bits_BND, bits_BND)
    ce_BN = (
        F.cross_entropy(logits_BND2.flatten(0, 2), bits_BND.flatten().long(), reduction="none")
        .view(bits_BND.shape)
        .mean(-1)
    )
    gap_weights_BW = None
    if weights.bilabial_tokens > 0:
        bilabial_BW = torch.isin(phones_BT[:, net.current_rows()][:, ::2], BILABIAL_IDS.to(phones_BT.device))
        gap_weights_BW = 1 + weights.bilabial_tokens * bilabial_BW.float()
        w_BN = 1 + weights.bilabial_tokens * token_spans_any(bilabial_BW, net.config.window.scales).float()
        loss = (ce_BN * w_BN).sum() / w_BN.sum()
    else:
        loss = ce_BN.mean()
    correct_BN = ((logits_BND2[..., 1] > logits_BND2[..., 0]) == bits_BND).float().mean(-1)
    parts = {"bit_accuracy": correct_BN.mean().detach()}
    fine = net.config.window.scales[-1]
    parts["finest_scale_accuracy"] = correct_BN[:, -fine:].mean().detach()
    if weights.phone > 0:
        if net.speech.phone_head is None:
            raise ValueError("a phone loss needs a phone head: set model.speech.phone_classes")
        phone_logits_BTK = net.speech.phone_head(feats_BTC)
        phone_loss = F.cross_entropy(phone_logits_BTK.flatten(0, 1), phones_BT.flatten().long())
        loss = loss + weights.phone * phone_loss
        parts["phone_loss"] = phone_loss.detach()
        parts["phone_accuracy"] = (phone_logits_BTK.argmax(-1) == phones_BT).float().mean().detach()
    if weights.decoded_motion > 0:
        if motion_B3WC is None:
            raise ValueError("the decoded-motion term needs the target windows (motion_B3WC)")
        decoded_BWC = net.decode_bits(prev_bits_BND, straight_through_bits(logits_BND2))
        motion, motion_parts = motion_loss(net, decoded_BWC, motion_B3WC, weights.motion, gap_weights_BW)
        loss = loss + weights.decoded_motion * motion
        parts.update({f"decoded_{k}": v for k, v in motion_parts.items()})
    return loss, parts


def straight_through_bits(logits_BND2: torch.Tensor) -> torch.Tensor:
    """The greedy bits, as floats whose gradient is their probabilities': the loss sees the
    motion that greedy decoding would produce, and can still move the logits."""
    p_BND = (logits_BND2[..., 1] - logits_BND2[..., 0]).sigmoid()
    return (p_BND > 0.5).float() + p_BND - p_BND.detach()
