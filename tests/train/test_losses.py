import torch

from artalk_service.model import ModelConfig
from artalk_service.model.artalk import ARTalk
from artalk_service.train.losses import (
    TransformerLossWeights,
    autoencoder_loss,
    code_targets,
    motion_loss,
    straight_through_bits,
    token_spans_any,
    transformer_loss,
)


def test_losses_backpropagate_to_the_right_parts():
    config = ModelConfig.tiny()
    torch.manual_seed(0)
    net = ARTalk(config)
    W, S = config.window.frames, config.window.context_frames * 640
    motion = torch.randn(2, 3 * W, 61)

    loss, parts = autoencoder_loss(net, motion)
    loss.backward()
    assert torch.isfinite(loss) and set(parts) == {"l1", "velocity", "commit", "entropy"}
    assert net.autoencoder.encoder.inp.weight.grad is not None
    assert net.autoencoder.quantizer.log_gain_K.grad is not None

    net.zero_grad()
    prev_bits, bits = code_targets(net, motion)
    assert prev_bits.shape == bits.shape == (2, config.window.num_tokens, config.autoencoder.latent_dim)
    style = torch.cat([net.style(motion[:1, :W]), net.style.null(1)])
    whisper = net.speech.whisper_features(torch.randn(2, S) * 0.1)
    loss, parts = transformer_loss(net, whisper, style, prev_bits, bits)
    loss.backward()
    assert 0 <= parts["bit_accuracy"] <= 1
    assert net.transformer.head.weight.grad is not None and net.speech.proj.weight.grad is not None
    assert net.style.null_C.grad is not None and net.style.inp.weight.grad is not None
    assert all(p.grad is None for p in net.speech.whisper.parameters())  # frozen


def test_the_phone_loss_trains_the_adapter_through_its_head():
    import dataclasses

    import pytest

    config = ModelConfig.tiny()
    config = dataclasses.replace(config, speech=dataclasses.replace(config.speech, phone_classes=40))
    torch.manual_seed(0)
    net = ARTalk(config)
    W, S = config.window.frames, config.window.context_frames * 640
    prev_bits, bits = code_targets(net, torch.randn(2, 3 * W, 61))
    whisper = net.speech.whisper_features(torch.randn(2, S) * 0.1)
    phones = torch.randint(0, 40, whisper.shape[:2])
    loss, parts = transformer_loss(
        net, whisper, net.style.null(2), prev_bits, bits, phones, weights=TransformerLossWeights(phone=0.5)
    )
    loss.backward()
    assert parts["phone_loss"] > 0 and 0 <= parts["phone_accuracy"] <= 1
    assert net.speech.phone_head.weight.grad is not None and net.speech.proj.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="phone_classes"):
        transformer_loss(
            ARTalk(ModelConfig.tiny()),
            whisper,
            net.style.null(2),
            prev_bits,
            bits,
            phones,
            weights=TransformerLossWeights(phone=0.5),
        )


def test_token_spans_cover_the_frames_of_every_scale():
    frames = torch.tensor([[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]], dtype=torch.bool)
    flags = token_spans_any(frames, (1, 2, 5, 10))[0].tolist()
    assert flags == [True] + [True, False] + [False, True, False, False, False] + [f == 1 for f in frames[0].tolist()]


def test_bilabial_tokens_weigh_more_in_the_bit_cross_entropy():
    from artalk_service.data.phones import PHONE_ID

    torch.manual_seed(0)
    net = ARTalk(ModelConfig.tiny())
    frames, samples = net.config.window.frames, net.config.window.context_frames * 640
    prev_bits, bits = code_targets(net, torch.randn(2, 3 * frames, 61))
    whisper = net.speech.whisper_features(torch.randn(2, samples) * 0.1)
    silence = torch.zeros(whisper.shape[:2], dtype=torch.long)
    plain, _ = transformer_loss(
        net, whisper, net.style.null(2), prev_bits, bits, silence, weights=TransformerLossWeights(bilabial_tokens=3.0)
    )
    assert torch.allclose(plain, transformer_loss(net, whisper, net.style.null(2), prev_bits, bits)[0])
    m = silence.clone()
    m[:, net.current_rows()] = PHONE_ID["m"]  # every token spans an m: the weights cancel out again
    assert torch.allclose(
        plain,
        transformer_loss(
            net, whisper, net.style.null(2), prev_bits, bits, m, weights=TransformerLossWeights(bilabial_tokens=3.0)
        )[0],
    )
    m[:, net.current_rows().start] = 0
    m[:, net.current_rows().start + 1] = 0  # the first frame is silent: its finest token weighs less
    assert not torch.allclose(
        plain,
        transformer_loss(
            net, whisper, net.style.null(2), prev_bits, bits, m, weights=TransformerLossWeights(bilabial_tokens=3.0)
        )[0],
    )


def test_straight_through_bits_are_the_greedy_bits_with_the_probabilities_gradient():
    logits = torch.tensor([[[[0.0, 2.0], [1.0, -1.0]]]], requires_grad=True)  # (1, 1, 2, 2)
    bits = straight_through_bits(logits)
    assert bits.tolist() == [[[1.0, 0.0]]]
    bits.sum().backward()
    p = torch.tensor([2.0, -2.0]).sigmoid()
    assert torch.allclose(logits.grad[0, 0, :, 1], p * (1 - p)) and torch.allclose(
        logits.grad[..., 0], -logits.grad[..., 1]
    )


def test_the_decoded_motion_term_scores_the_greedy_decoding_and_trains_the_transformer():
    import pytest

    torch.manual_seed(0)
    net = ARTalk(ModelConfig.tiny())
    net.autoencoder.requires_grad_(False)  # frozen in stage 2, as in training
    frames, samples = net.config.window.frames, net.config.window.context_frames * 640
    motion = torch.randn(2, 3 * frames, 61)
    prev_bits, bits = code_targets(net, motion)
    whisper = net.speech.whisper_features(torch.randn(2, samples) * 0.1)
    weights = TransformerLossWeights(decoded_motion=2.0)
    plain, _ = transformer_loss(net, whisper, net.style.null(2), prev_bits, bits)
    loss, parts = transformer_loss(
        net, whisper, net.style.null(2), prev_bits, bits, weights=weights, motion_B3WC=motion
    )
    with torch.no_grad():  # the term is the motion loss of what greedy decoding yields
        logits = net.logits(net.speech.adapt(whisper), net.style.null(2), prev_bits, bits)
        greedy = motion_loss(net, net.decode_bits(prev_bits, logits[..., 1] > logits[..., 0]), motion)[1]
    assert torch.allclose(parts["decoded_l1"], greedy["l1"]) and torch.allclose(
        parts["decoded_velocity"], greedy["velocity"]
    )
    expected = plain + 2.0 * (parts["decoded_l1"] + parts["decoded_velocity"])
    assert torch.allclose(loss, expected, rtol=1e-5)
    net.zero_grad()
    (loss - plain).backward()  # the decoded term alone reaches the transformer and the adapter
    assert net.transformer.head.weight.grad.abs().sum() > 0 and net.speech.proj.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="target windows"):
        transformer_loss(net, whisper, net.style.null(2), prev_bits, bits, weights=weights)


def test_the_lip_gap_term_can_weigh_frames():
    from artalk_service.train.losses import AutoencoderLossWeights

    torch.manual_seed(0)
    net = ARTalk(ModelConfig.tiny())
    frames = net.config.window.frames
    motion = torch.zeros(1, 3 * frames, 61)
    recon = motion[:, -frames:].clone()
    recon[0, 0] += 1.0  # wrong at the first frame only
    weights = AutoencoderLossWeights(lip_gap=1.0)
    plain = motion_loss(net, recon, motion, weights)[1]["lip_gap"]
    first = torch.zeros(1, frames)
    first[0, 0] = 1.0
    assert plain > 0
    assert torch.allclose(motion_loss(net, recon, motion, weights, torch.ones(1, frames))[1]["lip_gap"], plain)
    assert torch.allclose(
        motion_loss(net, recon, motion, weights, 1 + 8 * first)[1]["lip_gap"], plain * 9 * frames / (frames + 8)
    )  # 9e / (9 + frames - 1) against e / frames
