import torch

from artalk_service.model import ModelConfig
from artalk_service.model.autoencoder import MotionAutoencoder, cross_window_mask


def test_round_trip_shapes():
    config = ModelConfig.tiny()
    ae = MotionAutoencoder(config, channels=61)
    W = config.window.frames
    recon, terms = ae(torch.randn(2, 3 * W, 61))
    assert recon.shape == (2, W, 61)
    assert set(terms) == {"commit", "entropy"}
    f_hat, bits, _ = ae.encode(torch.randn(2, W, 61), torch.randn(2, W, 61))
    assert ae.decode(f_hat, f_hat).shape == (2, W, 61)


def test_cross_window_mask():
    mask = cross_window_mask(3)
    assert mask[:3, :3].all() and not mask[:3, 3:].any() and mask[3:].all()


def test_previous_window_never_sees_the_current_one():
    config = ModelConfig.tiny()
    torch.manual_seed(0)
    ae = MotionAutoencoder(config, channels=61).eval()
    W = config.window.frames
    hidden = []
    ae.encoder.blocks[-1].register_forward_hook(lambda m, i, out: hidden.append(out))
    prev, cur = torch.randn(1, W, 61), torch.randn(1, W, 61)
    z_a = ae.encoder(prev, cur)
    z_b = ae.encoder(prev, cur + torch.randn(1, W, 61))
    torch.testing.assert_close(hidden[0][:, :W], hidden[1][:, :W])  # previous half unchanged
    assert not torch.allclose(z_a, z_b)
    z_c = ae.encoder(prev + torch.randn(1, W, 61), cur)
    assert not torch.allclose(z_a, z_c)  # the current window does use its context
