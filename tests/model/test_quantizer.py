import torch

from artalk_service.model import ModelConfig
from artalk_service.model.quantizer import MultiScaleBSQ


def test_shapes_codes_and_straight_through():
    config = ModelConfig()
    q = MultiScaleBSQ(config)
    W, D, N = config.window.frames, config.autoencoder.latent_dim, config.window.num_tokens
    z = torch.randn(3, W, D, requires_grad=True)
    f_hat, bits, terms = q(z)
    assert f_hat.shape == (3, W, D) and bits.shape == (3, N, D) and bits.dtype == torch.bool
    # the codes alone reproduce the quantised latent
    torch.testing.assert_close(q.bits_to_latent(bits), f_hat, atol=1e-5, rtol=1e-5)
    assert q.next_scale_inputs(bits).shape == (3, N - config.window.scales[0], D)
    # straight-through: gradients reach the encoder output despite the sign()
    (f_hat.sum() + terms["commit"] + terms["entropy"]).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert torch.isfinite(terms["commit"]) and torch.isfinite(terms["entropy"])


def test_each_scale_quantises_unit_vectors():
    config = ModelConfig.tiny()
    q = MultiScaleBSQ(config)
    bits = torch.rand(2, config.window.num_tokens, config.autoencoder.latent_dim) > 0.5
    vectors = q.codes_to_vectors(bits)
    torch.testing.assert_close(vectors.norm(dim=-1), torch.ones(vectors.shape[:2]))
