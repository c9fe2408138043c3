import torch

from artalk_service.model import MotionModel
from artalk_service.model.transformer import scale_mask


def test_mask_layout():
    mask = scale_mask((1, 2))  # N = 3: prev tokens 0..2, current 3..5
    assert mask[:3, :3].all() and not mask[:3, 3:].any()
    assert mask[3:, :3].all()
    assert mask[3, 3] and not mask[3, 4:].any()
    assert mask[4:, 3:].all()


def test_block_causal_over_scales(tiny_model: MotionModel):
    net = tiny_model.net
    config = net.config
    scales, N, C = config.window.scales, config.window.num_tokens, config.transformer.width
    torch.manual_seed(0)
    x = torch.randn(1, 2 * N, C)
    cond = torch.randn(1, 2 * N, C)
    with torch.no_grad():
        base = net.transformer(x, cond)
        starts = [N + sum(scales[:k]) for k in range(len(scales))]
        for k, start in enumerate(starts):
            x2 = x.clone()
            x2[:, start : start + scales[k]] += torch.randn(1, scales[k], C)  # (a constant would vanish in LayerNorm)
            out = net.transformer(x2, cond)
            lo = start - N
            torch.testing.assert_close(out[:, :lo], base[:, :lo])  # coarser scales unaffected
            assert not torch.allclose(out[:, lo:], base[:, lo:])  # this and finer scales affected
        x3 = x.clone()
        x3[:, :N] += torch.randn(1, N, C)  # the previous window is context for every current token
        out = net.transformer(x3, cond)
        assert (out - base).abs().flatten(2).amax(-1).gt(0).all()


def test_cached_generation_matches_teacher_forcing(tiny_model: MotionModel, speechlike):
    """Greedy bits from the incremental (KV-cached) loop are the argmax of the teacher-forced
    logits given those same bits."""
    net, config = tiny_model.net, tiny_model.config
    S = config.window.context_frames * 640
    audio = torch.from_numpy(speechlike[:S])[None]
    style = net.style.null(1)
    prev = net.initial_bits()
    with torch.no_grad():
        bits, motion = net.generate(audio, style, prev, torch.zeros(1), torch.ones(1), [torch.Generator()])
        logits = net.logits(net.speech.adapt(net.speech.whisper_features(audio)), style, prev, bits)
    assert motion.shape == (1, config.window.frames, 61)
    assert torch.equal(logits[..., 1] > logits[..., 0], bits)
