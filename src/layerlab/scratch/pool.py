"""Max and average pooling over (N, C, H, W) inputs, naive and fast.

    out, cache = MaxPool.forward(x, pool_param)
    dx = MaxPool.backward(dout, cache)

pool_param keys: pool_height, pool_width (default 2 each) and stride (an int or
(stride_h, stride_w); default: the pool size, so that windows tile the input). No padding. As
with `Conv`, the windows must fit exactly: (H - pool_height) must be a multiple of the stride,
otherwise a ValueError says what to change (PyTorch would drop the last rows instead).

Max-pool ties: the whole gradient of a window goes to its first maximum in row-major order,
as in PyTorch, so that the gradients agree entry by entry.

Fast paths: when the windows tile the input exactly (stride = window), (H, W) is reshaped to
(H_out, ph, W_out, pw), and the backward pass undoes that reshape. Otherwise a strided view of all
windows (N, C, H_out, W_out, ph, pw) is reduced, and the backward pass adds one strided slice per
window offset (ph*pw additions, so overlapping windows accumulate). Neither loops over output
pixels in Python.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from layerlab.scratch.conv import _pair, window_count


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
    ph, pw = _pair((ph, pw), "pool_param's pool_height/pool_width")
    sh, sw = _pair(pool_param.get("stride", (ph, pw)), "pool_param['stride']")
    what = f"{ph}x{pw} pooling with stride ({sh}, {sw}) of x {tuple(x_shape)}"
    H_out = window_count(x_shape[2], ph, sh, 0, 0, "height", what)
    W_out = window_count(x_shape[3], pw, sw, 0, 0, "width", what)
    return (ph, pw), (sh, sw), (H_out, W_out), (sh, sw) == (ph, pw)


def _windows(x, pool_param):
    """(N, C, H_out, W_out, ph * pw) array of all windows (a view when they tile the input)."""
    (ph, pw), (sh, sw), (H_out, W_out), tiles = pool_geometry(x.shape, pool_param)
    N, C = x.shape[:2]
    if tiles:
        win = x.reshape(N, C, H_out, ph, W_out, pw).transpose(0, 1, 2, 4, 3, 5)
    else:
        win = sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::sh, ::sw]
    return win.reshape(N, C, H_out, W_out, ph * pw)


def _scatter(dwin, x_shape, pool_param):
    """Sum window gradients dwin (N, C, H_out, W_out, ph, pw) back into an (N, C, H, W) array."""
    (ph, pw), (sh, sw), (H_out, W_out), tiles = pool_geometry(x_shape, pool_param)
    if tiles:  # every input pixel lies in exactly one window: undo the reshape
        return np.ascontiguousarray(dwin.transpose(0, 1, 2, 4, 3, 5)).reshape(x_shape)
    # Windows may overlap (or skip pixels): add window offset (kh, kw) of every window at once.
    dx = np.zeros(x_shape, dtype=dwin.dtype)
    for kh in range(ph):
        for kw in range(pw):
            dx[:, :, kh:kh + sh * H_out:sh, kw:kw + sw * W_out:sw] += dwin[..., kh, kw]
    return dx


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
        """Fast forward (reshape path when the windows tile the input, strided view otherwise).

        Args:
            x: (N, C, H, W); pool_param: pool_height, pool_width, stride.
        Returns:
            out: (N, C, H_out, W_out), cache.
        """
        win = _windows(x, pool_param)
        # argmax returns the first maximum in (kh, kw) row-major order, PyTorch's tie rule
        argmax = win.argmax(axis=-1)
        out = np.take_along_axis(win, argmax[..., None], axis=-1)[..., 0]
        return out, (x.shape, pool_param, argmax)

    @staticmethod
    def backward(dout, cache):
        """Fast backward: a one-hot mask of each window's argmax, scaled by dout.

        Args:
            dout: (N, C, H_out, W_out); cache: from `forward`.
        Returns:
            dx: (N, C, H, W).
        """
        x_shape, pool_param, argmax = cache
        ph, pw = pool_geometry(x_shape, pool_param)[0]
        onehot = argmax[..., None] == np.arange(ph * pw)
        dwin = np.where(onehot, dout[..., None], 0).astype(dout.dtype, copy=False)
        return _scatter(dwin.reshape(*argmax.shape, ph, pw), x_shape, pool_param)


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
        return _windows(x, pool_param).mean(axis=-1), (x.shape, pool_param)

    @staticmethod
    def backward(dout, cache):
        """Fast backward. dout: (N, C, H_out, W_out). Returns dx: (N, C, H, W)."""
        x_shape, pool_param = cache
        ph, pw = pool_geometry(x_shape, pool_param)[0]
        dwin = np.broadcast_to((dout / (ph * pw))[..., None, None], (*dout.shape, ph, pw))
        return _scatter(dwin, x_shape, pool_param)
