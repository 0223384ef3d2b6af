"""random_shift: every image moved by at most max_shift, zeros moved in, repeatable."""

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
