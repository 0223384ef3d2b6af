"""random_shift, random_elastic, random_affine: the moves they promise, zeros moved in,
repeatable."""

import pytest

torch = pytest.importorskip("torch")

from layerlab.pytorch.augment import random_shift  # noqa: E402


def test_each_image_is_a_shift_of_itself():
    torch.manual_seed(0)
    x = torch.rand(200, 3, 8, 9) + 1.0  # no zeros inside, so moved-in zeros are visible
    out = random_shift(2)(x)
    assert out.shape == x.shape
    seen = set()
    for i in range(len(x)):
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                # output pixel (r, c) holds input pixel (r + dy, c + dx), zero outside
                want = torch.zeros_like(x[i])
                src = x[i][:, max(dy, 0):8 + min(dy, 0), max(dx, 0):9 + min(dx, 0)]
                want[:, max(-dy, 0):8 + min(-dy, 0), max(-dx, 0):9 + min(-dx, 0)] = src
                if torch.equal(out[i], want):
                    matches.append((dy, dx))
        assert len(matches) == 1, i
        seen.add(matches[0])
    assert len(seen) == 25  # all 25 shifts occur among 200 images


def test_repeatable_with_the_seed():
    x = torch.rand(16, 1, 28, 28)
    torch.manual_seed(3)
    a = random_shift(2)(x)
    torch.manual_seed(3)
    b = random_shift(2)(x)
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert torch.equal(random_shift(0)(x), x)


def test_elastic_moves_each_pixel_by_the_smoothed_scaled_field():
    """On ramps (pixel value = its column, or its row) bilinear resampling returns the
    sampled coordinate itself, so the output minus the ramp is the displacement field: it
    must be alpha times the uniform noise drawn from the same seed, blurred by a Gaussian
    (zeros beyond the border, cut at 3 sigma: what scipy.ndimage.gaussian_filter does with
    mode="constant", truncate=3), here convolved row by row and column by column."""
    import numpy as np

    from layerlab.pytorch.augment import random_elastic

    def gaussian_filter(f, sigma):
        radius = int(np.ceil(3 * sigma))
        taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma ** 2))
        taps /= taps.sum()
        f = np.apply_along_axis(np.convolve, 1, f, taps, mode="same")
        return np.apply_along_axis(np.convolve, 0, f, taps, mode="same")

    h, w, alpha, sigma = 20, 24, 3.0, 2.0
    cols = np.arange(w, dtype=float)[None, :].repeat(h, 0)
    rows = np.arange(h, dtype=float)[:, None].repeat(w, 1)
    x = torch.from_numpy(np.stack([cols, rows]))[:, None]        # (2, 1, H, W): two ramps
    torch.manual_seed(7)
    out = random_elastic(alpha, sigma)(x)[:, 0].numpy()
    torch.manual_seed(7)
    noise = (torch.rand(2, 2, h, w) * 2 - 1).double().numpy()   # (N, [dx, dy], H, W)
    field = alpha * np.stack([[gaussian_filter(noise[i, j], sigma)
                               for j in range(2)] for i in range(2)])
    for i, (ramp, axis) in enumerate([(cols, 0), (rows, 1)]):
        dx, dy = field[i, 0], field[i, 1]
        # where the sample point stays inside the image (outside, zeros are mixed in)
        inside = ((cols + dx >= 0) & (cols + dx <= w - 1) & (rows + dy >= 0)
                  & (rows + dy <= h - 1))
        assert inside.mean() > 0.7
        assert abs((out[i] - ramp)[inside] - field[i, axis][inside]).max() < 1e-6
        assert abs(field[i, axis]).max() > 0.1  # the field is not negligible


def test_elastic_is_repeatable_and_refuses_a_bad_alpha():
    from layerlab.pytorch.augment import random_elastic

    x = torch.rand(8, 1, 28, 28)
    torch.manual_seed(1)
    a = random_elastic(34, 4)(x)
    torch.manual_seed(1)
    b = random_elastic(34, 4)(x)
    assert torch.equal(a, b) and not torch.allclose(a, x, atol=1e-3)
    with pytest.raises(ValueError, match="alpha > 0 and sigma > 0"):
        random_elastic(0, 4)


def test_affine_without_rotation_or_scaling_is_the_identity():
    from layerlab.pytorch.augment import random_affine

    x = torch.rand(8, 1, 28, 28)
    assert torch.allclose(random_affine(0.0, 0.0)(x), x, atol=1e-5)
    torch.manual_seed(0)
    moved = random_affine(15.0, 0.1)(x)
    assert moved.shape == x.shape and not torch.allclose(moved, x, atol=1e-2)
