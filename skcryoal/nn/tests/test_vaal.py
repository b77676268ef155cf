import numpy as np
import pytest
import torch

from skcryoal.nn._vaal import VAE3D, LatentDiscriminator, vae_loss
from skcryoal.utils._random import torch_seed_context

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("shape, grid", [((16, 16, 16), (2, 2, 2)), ((24, 16, 20), (3, 2, 3))])
def test_vae_returns_input_shape_padding_odd_sides(shape, grid):
    with torch_seed_context(0):
        vae = VAE3D(shape, latent_dim=6, width=4)
        x = torch.randn(3, 1, *shape)
        recon, z, mu, logvar = vae(x)
    assert recon.shape == x.shape
    assert z.shape == mu.shape == logvar.shape == (3, 6)
    assert vae.grid_shape == grid


def test_vae_eval_mode_is_deterministic_and_uses_mu():
    with torch_seed_context(0):
        vae = VAE3D((16, 16, 16), latent_dim=4, width=4).eval()
        x = torch.randn(2, 1, 16, 16, 16)
    with torch.no_grad():
        r1, z, mu, _ = vae(x)
        r2, _, _, _ = vae(x)
    torch.testing.assert_close(z, mu)
    torch.testing.assert_close(r1, r2)


def test_vae_loss_decreases_when_training():
    gen = np.random.default_rng(0)
    x = torch.from_numpy(gen.normal(size=(8, 1, 16, 16, 16)).astype(np.float32))
    x[:, :, 4:12, 4:12, 4:12] += 2.0
    losses = []
    with torch_seed_context(0):
        vae = VAE3D((16, 16, 16), latent_dim=8, width=4)
        opt = torch.optim.Adam(vae.parameters(), lr=5e-3)
        for _ in range(15):
            recon, _, mu, logvar = vae(x)
            loss = vae_loss(x, recon, mu, logvar)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])


def test_vae_loss_terms():
    x = torch.zeros(2, 1, 4, 4, 4)
    recon = torch.ones_like(x)
    mu, logvar = torch.ones(2, 3), torch.zeros(2, 3)
    # MSE 1; KL per sample 0.5 * sum(mu**2) = 1.5, per voxel 1.5 / 64
    assert float(vae_loss(x, recon, mu, logvar, beta=0.0)) == pytest.approx(1.0)
    assert float(vae_loss(x, recon, mu, logvar, beta=2.0)) == pytest.approx(1.0 + 3.0 / 64)


def test_vae_rejects_wrong_input_shape():
    vae = VAE3D((16, 16, 16), width=4)
    with pytest.raises(ValueError, match=r"expects input of shape \(n, 1, 16, 16, 16\); got"):
        vae(torch.zeros(1, 1, 8, 16, 16))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(volume_shape=(16, 16)), "spatial shape"),
        (dict(volume_shape=(16, 16, 16), width=0), "width must be a positive integer"),
        (dict(volume_shape=(16, 16, 16), latent_dim=2.5), "latent_dim"),
    ],
)
def test_vae_parameter_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VAE3D(**kwargs)


def test_discriminator_maps_latents_to_one_logit():
    disc = LatentDiscriminator(latent_dim=5)
    assert disc(torch.zeros(4, 5)).shape == (4,)
    sizes = [m.out_features for m in disc.modules() if isinstance(m, torch.nn.Linear)]
    assert sizes == [512, 512, 1]
