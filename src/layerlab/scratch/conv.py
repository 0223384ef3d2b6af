"""2-D convolution (cross-correlation, as in PyTorch), naive and fast.

    out, cache = Conv.forward(x, w, b, conv_param)
    dx, dw, db = Conv.backward(dout, cache)

conv_param keys:
    stride: int, or (stride_h, stride_w). Default 1.
    pad: zero padding; an int (all sides), (pad_h, pad_w), or (top, bottom, left, right).
        Default 0.

The output size along height is (H + pad_top + pad_bottom - HH) / stride_h + 1, and the same
along width. The layer insists that the division is exact (PyTorch silently drops the last rows
and columns instead), so a shape that does not fit raises a ValueError that says what to change.

`forward_naive`/`backward_naive` are the textbook definition, one Python loop iteration per
output pixel. `forward`/`backward` compute the same numbers with one matrix product:
im2col gathers every receptive field into a column of a (C*HH*WW, N*H_out*W_out) matrix through a
strided view of the padded input (no Python loop), and the weights (F, C*HH*WW) multiply it. The
backward pass reuses those columns for dw and scatters the column gradients back into the image
with one strided add per kernel offset (HH*WW additions), never a loop over output pixels.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def int_pair(value, name):
    """An int or a pair of ints as (height, width)."""
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) and v >= 1 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def pads(pad):
    """(top, bottom, left, right) from an int, a (pad_h, pad_w) pair or a 4-tuple."""
    sides = (pad,) * 4 if np.ndim(pad) == 0 else tuple(pad)
    if len(sides) == 2:
        sides = (sides[0], sides[0], sides[1], sides[1])
    if len(sides) != 4 or not all(isinstance(v, int | np.integer) and v >= 0 for v in sides):
        raise ValueError("pad must be a non-negative int, (pad_h, pad_w) or "
                         f"(top, bottom, left, right), got {pad!r}")
    return tuple(int(v) for v in sides)


def window_count(size, window, stride, pad_before, pad_after, axis, what):
    """Number of window positions along one axis; ValueError naming the fix if they do not fit."""
    padded = size + pad_before + pad_after
    if window > padded:
        raise ValueError(f"{what}: the {axis} window {window} is larger than the padded input "
                         f"{axis} {size} + {pad_before} + {pad_after} = {padded}; use a smaller "
                         "window or more padding")
    if (padded - window) % stride:
        raise ValueError(
            f"{what}: the windows do not fit the input {axis}: ({size} + {pad_before} + "
            f"{pad_after} - {window}) = {padded - window} is not a multiple of the stride "
            f"{stride}; change the padding (or crop the input) so that input + padding - window "
            "is a multiple of the stride, or use stride 1")
    return (padded - window) // stride + 1


def conv_geometry(x_shape, w_shape, conv_param):
    """Check the shapes of a convolution.

    Args:
        x_shape: (N, C, H, W); w_shape: (F, C, HH, WW); conv_param: see the module docstring.
    Returns:
        (stride_h, stride_w), (top, bottom, left, right), (H_out, W_out).
    """
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise ValueError(f"conv needs x (N, C, H, W) and w (F, C, HH, WW), got x {x_shape} and "
                         f"w {w_shape}")
    if x_shape[1] != w_shape[1]:
        raise ValueError(f"conv: x {x_shape} has {x_shape[1]} channels but w {w_shape} expects "
                         f"{w_shape[1]}; make w's second axis the input channel count")
    stride = int_pair(conv_param.get("stride", 1), "conv_param['stride']")
    pad = pads(conv_param.get("pad", 0))
    what = f"conv of x {tuple(x_shape)} with w {tuple(w_shape)}"
    H_out = window_count(x_shape[2], w_shape[2], stride[0], pad[0], pad[1], "height", what)
    W_out = window_count(x_shape[3], w_shape[3], stride[1], pad[2], pad[3], "width", what)
    return stride, pad, (H_out, W_out)


def _pad(x, pad):
    top, bottom, left, right = pad
    if not any(pad):
        return x
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def _check_bias(b, F):
    if np.shape(b) != (F,):
        raise ValueError(f"conv bias must have shape ({F},) (one per filter), got {np.shape(b)}")


class Conv:
    """Convolution: out[n, f] = b[f] + sum over c of x[n, c] cross-correlated with w[f, c]."""

    @staticmethod
    def forward_naive(x, w, b, conv_param):
        """Textbook forward: one loop iteration per output pixel.

        Args:
            x: (N, C, H, W); w: (F, C, HH, WW); b: (F,); conv_param: stride and pad.
        Returns:
            out: (N, F, H_out, W_out), cache.
        """
        (sh, sw), pad, (H_out, W_out) = conv_geometry(x.shape, w.shape, conv_param)
        _check_bias(b, w.shape[0])
        N, F = x.shape[0], w.shape[0]
        HH, WW = w.shape[2:]
        xp = _pad(x, pad)
        out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w))
        for n in range(N):
            for f in range(F):
                for i in range(H_out):
                    for j in range(W_out):
                        field = xp[n, :, i * sh:i * sh + HH, j * sw:j * sw + WW]
                        out[n, f, i, j] = np.sum(field * w[f]) + b[f]
        return out, (x, w, (sh, sw), pad)

    @staticmethod
    def backward_naive(dout, cache):
        """Textbook backward: each output pixel sends its gradient back to its receptive field.

        Args:
            dout: (N, F, H_out, W_out); cache: from `forward_naive`.
        Returns:
            dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F,).
        """
        x, w, (sh, sw), pad = cache
        top, _, left, _ = pad
        N, F, H_out, W_out = dout.shape
        HH, WW = w.shape[2:]
        xp = _pad(x, pad)
        dxp = np.zeros_like(xp)
        dw = np.zeros_like(w)
        for n in range(N):
            for f in range(F):
                for i in range(H_out):
                    for j in range(W_out):
                        rows = slice(i * sh, i * sh + HH)
                        cols = slice(j * sw, j * sw + WW)
                        dxp[n, :, rows, cols] += w[f] * dout[n, f, i, j]
                        dw[f] += xp[n, :, rows, cols] * dout[n, f, i, j]
        db = dout.sum(axis=(0, 2, 3))
        dx = dxp[:, :, top:top + x.shape[2], left:left + x.shape[3]]
        return dx, dw, db

    @staticmethod
    def forward(x, w, b, conv_param):
        """Fast forward: im2col through a strided view, then one matrix product.

        Args:
            x: (N, C, H, W); w: (F, C, HH, WW); b: (F,); conv_param: stride and pad.
        Returns:
            out: (N, F, H_out, W_out), cache (holds the im2col matrix, C*HH*WW times the
            output's pixel count).
        """
        (sh, sw), pad, (H_out, W_out) = conv_geometry(x.shape, w.shape, conv_param)
        _check_bias(b, w.shape[0])
        F, C, HH, WW = w.shape
        N = x.shape[0]
        # windows[n, c, i, j, kh, kw] = xp[n, c, i * sh + kh, j * sw + kw]: a view, no copy
        windows = sliding_window_view(_pad(x, pad), (HH, WW), axis=(2, 3))[:, :, ::sh, ::sw]
        # The one copy: rows (c, kh, kw), columns (n, i, j). Output pixels vary fastest, so the
        # copy reads runs along an image row, and the product gives (F, N, H_out, W_out).
        cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * HH * WW, N * H_out * W_out)
        out = w.reshape(F, -1) @ cols
        out += b.reshape(F, 1)
        out = out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)
        return np.ascontiguousarray(out), (x.shape, w, cols, (sh, sw), pad)

    @staticmethod
    def backward(dout, cache, need_dx=True):
        """Fast backward: two matrix products and HH*WW strided additions (col2im).

        Args:
            dout: (N, F, H_out, W_out); cache: from `forward`.
            need_dx: False skips the input gradient (not needed for the first layer of a net).
        Returns:
            dx: (N, C, H, W) or None, dw: (F, C, HH, WW), db: (F,).
        """
        x_shape, w, cols, (sh, sw), pad = cache
        N, F, H_out, W_out = dout.shape
        _, C, HH, WW = w.shape
        top, bottom, left, right = pad
        dout2d = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # (F, N * H_out * W_out)
        db = dout2d.sum(axis=1)
        dw = (dout2d @ cols.T).reshape(w.shape)
        if not need_dx:
            return None, dw, db
        dcols = (w.reshape(F, -1).T @ dout2d).reshape(C, HH, WW, N, H_out, W_out)
        # col2im: kernel offset (kh, kw) of every window lands on a strided grid of the padded
        # image. Accumulating in (C, N, H, W) order keeps both operands' inner axes contiguous.
        H, W = x_shape[2:]
        dxp = np.zeros((C, N, H + top + bottom, W + left + right), dtype=dcols.dtype)
        for kh in range(HH):
            for kw in range(WW):
                dxp[:, :, kh:kh + sh * H_out:sh, kw:kw + sw * W_out:sw] += dcols[:, kh, kw]
        dx = dxp[:, :, top:top + H, left:left + W].transpose(1, 0, 2, 3)
        return np.ascontiguousarray(dx), dw, db
