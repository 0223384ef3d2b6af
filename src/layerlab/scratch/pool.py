"""Max and average pooling over (N, C, H, W) inputs, naive and fast.

    out, cache = MaxPool.forward(x, pool_param)
    dx = MaxPool.backward(dout, cache)

pool_param keys: pool_height, pool_width (default 2 each) and stride (an int or
(stride_h, stride_w); default: the pool size, so that windows tile the input). No padding. As
with `Conv`, the windows must fit exactly: (H - pool_height) must be a multiple of the stride,
otherwise a ValueError says what to change (PyTorch would drop the last rows instead).

Max-pool ties: the whole gradient of a window goes to its first maximum in row-major order,
as in PyTorch, so that the gradients agree entry by entry.

Fast paths: both look at one window offset (kh, kw) at a time, as a strided view holding that
pixel of every window, so Python loops over the ph*pw offsets, never over output pixels. When the
windows tile the input (stride = window), (H, W) is reshaped to (H_out, ph, W_out, pw) and the
offsets are plain indices of that array; every input pixel belongs to one window. Otherwise
(overlapping windows, or windows that skip pixels) the views are strided slices of the input,
and the backward pass accumulates where windows overlap. Max pooling keeps a running maximum
over the offsets; its backward pass gives each window's gradient to the first offset that holds
the maximum.
"""

from __future__ import annotations

import numpy as np

from layerlab.scratch.conv import int_pair, window_count


def pool_geometry(x_shape, pool_param):
    """Check the shapes of a pooling.

    Args:
        x_shape: (N, C, H, W); pool_param: see the module docstring.
    Returns:
        (ph, pw), (stride_h, stride_w), (H_out, W_out), tiles (True when stride equals the
        window and the windows cover the input exactly).
    """
    if len(x_shape) != 4:
        raise ValueError(f"pooling needs x of shape (N, C, H, W), got {tuple(x_shape)}")
    ph = pool_param.get("pool_height", 2)
    pw = pool_param.get("pool_width", 2)
    ph, pw = int_pair((ph, pw), "pool_param's pool_height/pool_width")
    sh, sw = int_pair(pool_param.get("stride", (ph, pw)), "pool_param['stride']")
    what = f"{ph}x{pw} pooling with stride ({sh}, {sw}) of x {tuple(x_shape)}"
    H_out = window_count(x_shape[2], ph, sh, 0, 0, "height", what)
    W_out = window_count(x_shape[3], pw, sw, 0, 0, "width", what)
    return (ph, pw), (sh, sw), (H_out, W_out), (sh, sw) == (ph, pw)


def _offset_views(a, geometry):
    """One view per window offset (kh, kw): v[n, c, i, j] = a[n, c, i*sh + kh, j*sw + kw].

    `a` is (N, C, H, W); with tiling windows the views index its (H_out, ph, W_out, pw) reshape.
    Writing through the views reaches `a` when it is C-contiguous (the backward passes write
    into a fresh dx).
    """
    (ph, pw), (sh, sw), (H_out, W_out), tiles = geometry
    if tiles:
        a6 = a.reshape(a.shape[0], a.shape[1], H_out, ph, W_out, pw)
        return [a6[:, :, :, kh, :, kw] for kh in range(ph) for kw in range(pw)]
    return [a[:, :, kh:kh + sh * H_out:sh, kw:kw + sw * W_out:sw]
            for kh in range(ph) for kw in range(pw)]


class MaxPool:
    """Max pooling: the largest value of every window."""

    @staticmethod
    def forward_naive(x, pool_param):
        """Textbook forward: one loop iteration per output pixel.

        Args:
            x: (N, C, H, W); pool_param: pool_height, pool_width, stride.
        Returns:
            out: (N, C, H_out, W_out), cache.
        """
        (ph, pw), (sh, sw), (H_out, W_out), _ = pool_geometry(x.shape, pool_param)
        N, C = x.shape[:2]
        out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
        for n in range(N):
            for c in range(C):
                for i in range(H_out):
                    for j in range(W_out):
                        out[n, c, i, j] = x[n, c, i * sh:i * sh + ph, j * sw:j * sw + pw].max()
        return out, (x, pool_param)

    @staticmethod
    def backward_naive(dout, cache):
        """Textbook backward: each output's gradient goes to its window's first maximum.

        Args:
            dout: (N, C, H_out, W_out); cache: from `forward_naive`.
        Returns:
            dx: (N, C, H, W).
        """
        x, pool_param = cache
        (ph, pw), (sh, sw), (H_out, W_out), _ = pool_geometry(x.shape, pool_param)
        N, C = x.shape[:2]
        dx = np.zeros_like(x)
        for n in range(N):
            for c in range(C):
                for i in range(H_out):
                    for j in range(W_out):
                        window = x[n, c, i * sh:i * sh + ph, j * sw:j * sw + pw]
                        kh, kw = np.unravel_index(np.argmax(window), window.shape)
                        dx[n, c, i * sh + kh, j * sw + kw] += dout[n, c, i, j]
        return dx

    @staticmethod
    def forward(x, pool_param):
        """Fast forward: a running maximum over the window offsets (see the module docstring).

        Args:
            x: (N, C, H, W); pool_param: pool_height, pool_width, stride.
        Returns:
            out: (N, C, H_out, W_out), cache.
        """
        geometry = pool_geometry(x.shape, pool_param)
        views = _offset_views(x, geometry)
        out = views[0].copy()
        for view in views[1:]:
            np.maximum(out, view, out=out)
        return out, (x, out, geometry)

    @staticmethod
    def backward(dout, cache):
        """Fast backward: each window's gradient goes to the first offset holding its maximum.

        Args:
            dout: (N, C, H_out, W_out); cache: from `forward`.
        Returns:
            dx: (N, C, H, W).
        """
        x, out, geometry = cache
        dx = np.zeros(x.shape, dtype=dout.dtype)
        taken = np.zeros(out.shape, dtype=bool)  # windows whose maximum was already found
        for x_view, dx_view in zip(_offset_views(x, geometry), _offset_views(dx, geometry),
                                   strict=True):
            first = (x_view == out) & ~taken  # offsets run in row-major order: PyTorch's tie rule
            taken |= first
            dx_view += dout * first  # overlapping windows accumulate
        return dx


class AvgPool:
    """Average pooling: the mean of every window."""

    @staticmethod
    def forward_naive(x, pool_param):
        """Textbook forward. x: (N, C, H, W). Returns out: (N, C, H_out, W_out), cache."""
        (ph, pw), (sh, sw), (H_out, W_out), _ = pool_geometry(x.shape, pool_param)
        N, C = x.shape[:2]
        out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
        for n in range(N):
            for c in range(C):
                for i in range(H_out):
                    for j in range(W_out):
                        out[n, c, i, j] = x[n, c, i * sh:i * sh + ph, j * sw:j * sw + pw].mean()
        return out, (x.shape, pool_param)

    @staticmethod
    def backward_naive(dout, cache):
        """Textbook backward: each window shares its gradient equally among its pixels.

        dout: (N, C, H_out, W_out). Returns dx: (N, C, H, W).
        """
        x_shape, pool_param = cache
        (ph, pw), (sh, sw), (H_out, W_out), _ = pool_geometry(x_shape, pool_param)
        N, C = x_shape[:2]
        dx = np.zeros(x_shape, dtype=dout.dtype)
        for n in range(N):
            for c in range(C):
                for i in range(H_out):
                    for j in range(W_out):
                        dx[n, c, i * sh:i * sh + ph, j * sw:j * sw + pw] += (
                            dout[n, c, i, j] / (ph * pw))
        return dx

    @staticmethod
    def forward(x, pool_param):
        """Fast forward. x: (N, C, H, W). Returns out: (N, C, H_out, W_out), cache."""
        geometry = pool_geometry(x.shape, pool_param)
        ph, pw = geometry[0]
        out = sum(_offset_views(x, geometry)) / (ph * pw)
        return out.astype(x.dtype, copy=False), (x.shape, geometry)

    @staticmethod
    def backward(dout, cache):
        """Fast backward. dout: (N, C, H_out, W_out). Returns dx: (N, C, H, W)."""
        x_shape, geometry = cache
        ph, pw = geometry[0]
        share = dout / (ph * pw)
        dx = np.zeros(x_shape, dtype=dout.dtype)
        for dx_view in _offset_views(dx, geometry):
            dx_view += share  # overlapping windows accumulate
        return dx
