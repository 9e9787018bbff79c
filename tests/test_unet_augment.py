"""U-Net shapes and batch independence; batched augmentations."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from galaxy_learn.nn import UNet, add_poisson_gaussian_noise, random_geometric
from galaxy_learn.nn._augment import apply_affine, random_affine_matrices


@settings(max_examples=10, deadline=None)
@given(c=st.integers(1, 5), h=st.integers(1, 21), w=st.integers(1, 21), depth=st.integers(0, 3),
       upsampling=st.sampled_from(["bilinear", "transposed"]), decoder_convs=st.integers(1, 2),
       unshuffle=st.integers(1, 3))
def test_unet_any_size_and_band_count(c, h, w, depth, upsampling, decoder_convs, unshuffle):
    torch.manual_seed(0)
    net = UNet(c, base_channels=2, depth=depth, embedding_dim=3, projection_dim=2,
               upsampling=upsampling, decoder_convs=decoder_convs, unshuffle=unshuffle)
    recon, emb, proj = net(torch.randn(2, c, h, w))
    assert recon.shape == (2, c, h, w)
    assert emb.shape == (2, 3) and proj.shape == (2, 2)


def test_unet_outputs_do_not_depend_on_the_batch():
    torch.manual_seed(0)
    net = UNet(3, base_channels=4, depth=2, embedding_dim=5).eval()
    x = torch.randn(6, 3, 20, 20)
    with torch.no_grad():
        full = net(x)
        one = net(x[2:3])
    torch.testing.assert_close(full[0][2:3], one[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(full[1][2:3], one[1], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(net.embedding(x), full[1])
    # eval mode: the batch-normalised head uses its running statistics
    torch.testing.assert_close(full[2][2:3], one[2], atol=1e-5, rtol=1e-5)
    pooled = net.pooled_features(x)
    torch.testing.assert_close(pooled[2:3], net.pooled_features(x[2:3]), atol=1e-5, rtol=1e-5)
    assert pooled.shape == (6, 4 + 8 + 16)
    torch.testing.assert_close(net.pooled_features(x, multiscale=False), pooled[:, 12:])


def _conv_flops(c_in, c_out, k, pixels):
    return 2 * c_in * c_out * k * k * pixels


@pytest.mark.parametrize("upsampling, decoder_convs, unshuffle",
                         [("bilinear", 2, 1), ("transposed", 1, 1), ("transposed", 2, 1),
                          ("bilinear", 2, 2)])
def test_unet_forward_flops_match_the_closed_form(upsampling, decoder_convs, unshuffle):
    """The convolutions' FLOPs counted by torch against the layer arithmetic of the docstring:
    the decoder of the transposed up-sampling with one convolution per level costs a little over
    half the bilinear one with two (same encoder), and unshuffle=2 about a quarter of the whole."""
    from torch.utils.flop_counter import FlopCounterMode

    c, b, size, depth = 3, 16, 64, 3
    net = UNet(c, base_channels=b, depth=depth, upsampling=upsampling,
               decoder_convs=decoder_convs, unshuffle=unshuffle).eval()
    chans = [b * 2**i for i in range(depth + 1)]
    pix = [(size // unshuffle // 2**i) ** 2 for i in range(depth + 1)]
    c_in = c * unshuffle**2  # FFDNet's packing: unshuffle**2 channels per band
    encoder = sum(_conv_flops(ci, co, 3, p) + _conv_flops(co, co, 3, p)
                  for ci, co, p in zip([c_in] + chans[:-1], chans, pix))
    decoder = 0
    for lev in reversed(range(depth)):
        co, p, c_up = chans[lev], pix[lev], chans[lev + 1]
        if upsampling == "transposed":
            decoder += _conv_flops(c_up, co, 2, p // 4)  # each input pixel -> 2x2 outputs
            c_up = co
        decoder += _conv_flops(c_up + co, co, 3, p)
        decoder += (decoder_convs - 1) * _conv_flops(co, co, 3, p)
    output = _conv_flops(b, c_in, 1, pix[0])
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            net(torch.zeros(1, c, size, size))
    counted = counter.get_flop_counts()["Global"]
    conv = sum(v for k, v in counted.items() if "conv" in str(k))
    assert conv == encoder + decoder + output
    if (upsampling, decoder_convs) == ("transposed", 1):
        bilinear_decoder = sum(_conv_flops(chans[i + 1] + chans[i], chans[i], 3, pix[i])
                               + _conv_flops(chans[i], chans[i], 3, pix[i])
                               for i in range(depth))
        assert 0.5 < decoder / bilinear_decoder < 0.6
    if unshuffle == 2:  # a quarter of the pixels at every level: about 4x fewer FLOPs
        full = UNet(c, base_channels=b, depth=depth).eval()
        with FlopCounterMode(display=False) as counter:
            with torch.no_grad():
                full(torch.zeros(1, c, size, size))
        assert 3.5 < counter.get_total_flops() / conv < 4.0


def test_unet_unshuffle_is_a_lossless_packing():
    """pixel_unshuffle then pixel_shuffle is the identity, so a residual U-Net whose decoder
    output is zero returns its input exactly, at any size (padding cropped back)."""
    net = UNet(2, base_channels=4, depth=1, unshuffle=2, residual=True).eval()
    torch.nn.init.zeros_(net.out.weight)
    torch.nn.init.zeros_(net.out.bias)
    x = torch.randn(3, 2, 13, 10)
    with torch.no_grad():
        torch.testing.assert_close(net(x)[0], x)
    assert net.stride == 4


def test_unet_encoder_does_not_depend_on_the_decoder():
    """The encoder is built first: the same seed gives the same representation whatever the
    decoder, so the decoder options change what is reconstructed, not what is embedded."""
    x = torch.randn(3, 3, 24, 24)
    feats = []
    for upsampling, k in [("bilinear", 2), ("transposed", 1)]:
        torch.manual_seed(0)
        net = UNet(3, base_channels=4, depth=2, upsampling=upsampling, decoder_convs=k).eval()
        with torch.no_grad():
            feats.append(net.pooled_features(x))
        assert len([m for m in net.up[0] if isinstance(m, torch.nn.Conv2d)]) == k
    torch.testing.assert_close(feats[0], feats[1])
    with pytest.raises(ValueError, match="upsampling"):
        UNet(3, upsampling="nearest")


def test_rot90_through_affine_is_exact():
    x = torch.randn(16, 2, 8, 8)
    g = torch.Generator().manual_seed(0)
    out = random_geometric(x, g, flips=False, rot90=True, max_rotation=0.0, max_shift=0.0)
    for i in range(16):
        dists = [(out[i] - torch.rot90(x[i], k, dims=(-2, -1))).abs().max() for k in range(4)]
        assert min(dists) < 1e-5


def test_flips_and_rectangular_images():
    x = torch.randn(16, 1, 6, 10)
    g = torch.Generator().manual_seed(1)
    out = random_geometric(x, g, flips=True, rot90=True, max_rotation=0.0, max_shift=0.0)
    assert out.shape == x.shape
    candidates = lambda a: [a, a.flip(-1), a.flip(-2), a.flip(-1).flip(-2)]  # noqa: E731
    for i in range(16):
        assert min((out[i] - c).abs().max() for c in candidates(x[i])) < 1e-5


def test_augmentations_reproducible_with_seeded_generator():
    x = torch.rand(8, 3, 16, 16)
    a = random_geometric(x, torch.Generator().manual_seed(3))
    b = random_geometric(x, torch.Generator().manual_seed(3))
    c = random_geometric(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    na = add_poisson_gaussian_noise(x, torch.Generator().manual_seed(3), gain=10.0)
    nb = add_poisson_gaussian_noise(x, torch.Generator().manual_seed(3), gain=10.0)
    assert torch.equal(na, nb)


def test_identity_affine_leaves_images_unchanged():
    x = torch.randn(2, 1, 7, 9)
    theta = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).repeat(2, 1, 1)
    torch.testing.assert_close(apply_affine(x, theta), x, atol=1e-5, rtol=0)
    assert random_affine_matrices(4, height=5, width=5, generator=torch.Generator()).shape == (4, 2, 3)


def test_noise_statistics():
    g = torch.Generator().manual_seed(0)
    x = torch.full((4, 2, 64, 64), 2.0)
    gauss = add_poisson_gaussian_noise(x, g, gain=None, sigma=0.5, random_level=False) - x
    assert gauss.mean().item() == pytest.approx(0.0, abs=0.01)
    assert gauss.std().item() == pytest.approx(0.5, rel=0.03)
    shot = add_poisson_gaussian_noise(x, g, gain=25.0, sigma=0.0, random_level=False) - x
    # Poisson: variance of (counts - rate) / gain is x / gain
    assert shot.var().item() == pytest.approx(2.0 / 25.0, rel=0.05)
    levels = add_poisson_gaussian_noise(torch.zeros(200, 1, 16, 16), g, sigma=1.0)
    per_image = levels.flatten(1).std(dim=1)
    assert 0.2 < per_image.min() and per_image.max() < 1.1


def test_projection_head_spreads_nearly_identical_representations():
    """Training mode: pooled features that barely differ between images (what the collapsed
    fits had, std ~0.01) still give projections whose pairwise cosine similarities differ, so
    NT-Xent has a gradient to follow (the head's batch normalisation; the same head without it
    gives cosine spreads of ~1e-6 here)."""
    torch.manual_seed(0)
    net = UNet(3, base_channels=4, depth=2, embedding_dim=8, projection_dim=4).train()
    h = 1.0 + 1e-3 * torch.randn(32, 8)
    z = torch.nn.functional.normalize(net.project(h), dim=1)
    cos = (z @ z.T)[~torch.eye(32, dtype=torch.bool)]
    assert cos.std() > 0.01
    net.eval()  # running statistics: one image alone gets its projection
    assert net.project(h[:1]).shape == (1, 4)


def test_mixed_precision_keeps_the_representation_and_head_in_float32():
    """Under bfloat16 autocast only the convolutions run in bfloat16: the representation h and
    the projection z come out float32, computed from the float32 mean of the bottleneck maps
    (checked by recomputing them from those maps), and close to the float32 forward pass."""
    torch.manual_seed(0)
    net = UNet(3, base_channels=8, depth=2, embedding_dim=16, projection_dim=8).eval()
    x = torch.rand(6, 3, 16, 16)
    with torch.no_grad():
        recon32, h32, z32 = net(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            recon, h, z = net(x)
            skips, _ = net.encode(x)
    assert recon.dtype == torch.bfloat16  # the convolutions ran in bfloat16
    assert h.dtype == torch.float32 and z.dtype == torch.float32
    pooled = skips[-1].float().mean(dim=(-2, -1))
    h_ref = pooled @ net.embed.weight.T + net.embed.bias
    torch.testing.assert_close(h, h_ref, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        torch.testing.assert_close(z, net.project(h_ref), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h, h32, rtol=0.05, atol=0.02)  # bfloat16 convolutions only
