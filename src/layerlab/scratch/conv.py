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
output pixel. `forward`/`backward` compute the same numbers with matrix products, one block of
images at a time: im2col copies every receptive field of the block into a column of a
(C*HH*WW + 1, n*H_out*W_out) matrix (one strided copy of x per kernel offset, no Python loop
over pixels; the last row is ones), and the weights with the bias as a last column
(F, C*HH*WW + 1) multiply it in one product per block. The backward pass rebuilds each block's
columns for dw and db (the cache holds x, not the columns), gets the column gradients from one
more product and scatters them back into dx (col2im): one add per kernel offset with stride 1;
with a larger stride, the offsets that reach one phase of the input are summed densely and each
phase is added into dx once.
"""

from __future__ import annotations

import numpy as np


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
        """Fast forward: im2col one block of images at a time, one matrix product per block.

        Args:
            x: (N, C, H, W); w: (F, C, HH, WW); b: (F,); conv_param: stride and pad.
        Returns:
            out: (N, F, H_out, W_out), cache (x itself, no copy: backward rebuilds the columns).
        """
        (sh, sw), pad, (H_out, W_out) = conv_geometry(x.shape, w.shape, conv_param)
        _check_bias(b, w.shape[0])
        F = w.shape[0]
        N = x.shape[0]
        P = H_out * W_out
        dtype = np.result_type(x, w, b)
        # The columns end with a row of ones, so the bias is one more column of the weights:
        # the product adds it, sparing a pass over the output.
        w_aug = np.concatenate([w.reshape(F, -1), b.reshape(F, 1)], axis=1).astype(dtype)
        out = np.empty((N, F, P), dtype)
        product = None
        for n0, n, cols in _column_blocks(x, w.shape, (sh, sw), pad, (H_out, W_out), dtype):
            if product is None:  # one buffer, reused by every block
                product = np.empty((F, cols.shape[1]), dtype)
            # (F, K+1) @ (K+1, n*P) is one product for the whole block (OpenBLAS spreads it
            # over the threads; per-image products are too small for that); it comes out
            # filter-major and is copied into NCHW while it is still in cache.
            block_out = np.matmul(w_aug, cols, out=product[:, :n * P])
            out[n0:n0 + n] = block_out.reshape(F, n, P).transpose(1, 0, 2)
        return out.reshape(N, F, H_out, W_out), (x, w, (sh, sw), pad)

    @staticmethod
    def backward(dout, cache, need_dx=True):
        """Fast backward: per block of images, rebuild the columns, two matrix products and
        HH*WW strided additions (col2im).

        Args:
            dout: (N, F, H_out, W_out); cache: from `forward`.
            need_dx: False skips the input gradient (not needed for the first layer of a net).
        Returns:
            dx: (N, C, H, W) or None, dw: (F, C, HH, WW), db: (F,).
        """
        x, w, stride, pad = cache
        N, F, H_out, W_out = dout.shape
        _, C, HH, WW = w.shape
        P = H_out * W_out
        dtype = dout.dtype
        d3 = dout.reshape(N, F, P)
        w2d_t = w.reshape(F, -1).astype(dtype, copy=False).T
        K = w2d_t.shape[0]
        dw = np.zeros((F, K + 1), dtype)  # the last column, against the row of ones, is db
        dx = np.zeros(x.shape, dtype) if need_dx else None
        phases = _phase_plan(x.shape, w.shape, stride, pad, (H_out, W_out)) if need_dx else None
        block_dout = dcols = None
        for n0, n, cols in _column_blocks(x, w.shape, stride, pad, (H_out, W_out), dtype):
            if block_dout is None:  # buffers reused by every block
                block_dout = np.empty((F, cols.shape[1]), dtype)
                dcols = np.empty((K, cols.shape[1]), dtype) if need_dx else None
            d2 = block_dout[:, :n * P]
            d2.reshape(F, n, P)[...] = d3[n0:n0 + n].transpose(1, 0, 2)  # filter-major
            dw += d2 @ cols.T  # [dw | db] = dout (F, n*P) @ cols.T (n*P, K+1)
            if not need_dx:
                continue
            dc = np.matmul(w2d_t, d2, out=dcols[:, :n * P])
            _col2im(dc.reshape(C, HH, WW, n, H_out, W_out), dx[n0:n0 + n], phases, stride)
        return dx, dw[:, :K].reshape(w.shape), dw[:, K].copy()


# Images per block: their columns take about this many bytes, so that a block stays in a core's
# L2 cache between the copy that builds it and the matrix products that read it, and no call
# allocates a large temporary (fresh memory costs page faults on every call).
BLOCK_BYTES = 1 << 20


def _span(k, before, size, stride, n_out):
    """Kernel tap k along one axis: (output slice, input slice) of the output positions whose
    input k + i * stride - before falls inside the unpadded input [0, size); None if none does.
    """
    lo = max(0, -((k - before) // stride))  # first i with k + i * stride - before >= 0
    hi = min(n_out, (size - 1 + before - k) // stride + 1)
    if hi <= lo:
        return None
    start = lo * stride + k - before
    return slice(lo, hi), slice(start, start + (hi - lo - 1) * stride + 1, stride)


def _taps(x_shape, w_shape, stride, pad, out_hw):
    """(kh, kw, row spans, column spans) of every kernel offset that touches the input."""
    rows = [_span(kh, pad[0], x_shape[2], stride[0], out_hw[0]) for kh in range(w_shape[2])]
    cols = [_span(kw, pad[2], x_shape[3], stride[1], out_hw[1]) for kw in range(w_shape[3])]
    return [(kh, kw, r, c) for kh, r in enumerate(rows) for kw, c in enumerate(cols) if r and c]


def _phase_taps(size, k_size, stride, before, n_out):
    """Kernel taps along one axis, grouped by the phase of the input they reach.

    Phase r is the input positions r, r + stride, r + 2*stride, ... (there are `length` of
    them). Tap k of output position i reads input k + i*stride - before, which is position
    i + offset of phase (k - before) mod stride. Returns {r: (length, [(k, output slice, phase
    slice), ...])}, leaving out taps that only ever read the zero padding.
    """
    phases = {r: (len(range(r, size, stride)), []) for r in range(stride)}
    for k in range(k_size):
        r = (k - before) % stride
        offset = (k - before - r) // stride
        length = phases[r][0]
        lo, hi = max(0, -offset), min(n_out, length - offset)
        if lo < hi:
            phases[r][1].append((k, slice(lo, hi), slice(lo + offset, hi + offset)))
    return phases


def _phase_plan(x_shape, w_shape, stride, pad, out_hw):
    """(row phases, column phases) of `_phase_taps` for a convolution's input."""
    return (_phase_taps(x_shape[2], w_shape[2], stride[0], pad[0], out_hw[0]),
            _phase_taps(x_shape[3], w_shape[3], stride[1], pad[2], out_hw[1]))


def _col2im(dc, dx, phases, stride):
    """Adds column gradients dc (C, HH, WW, n, H_out, W_out) into dx (n, C, H, W), in place.

    With a stride above 1, adding each tap straight into dx would step through dx with gaps,
    HH*WW strided passes with short inner loops. Instead the taps that reach one phase of the
    input (one of stride_h * stride_w interleaved grids of pixels) are summed in a dense
    channel-major buffer (C, n, ...), which reads dc in its own order, and each phase goes into
    dx by one strided addition: every pixel is in exactly one phase. With stride 1 there is one
    phase, dx itself.
    """
    rows, cols = phases
    dx_cm = dx.transpose(1, 0, 2, 3)  # a view, (C, n, H, W) like dc
    for rh, (length_h, row_taps) in rows.items():
        for rw, (length_w, col_taps) in cols.items():
            if stride == (1, 1):
                acc = dx_cm
            else:
                acc = np.zeros(dx_cm.shape[:2] + (length_h, length_w), dx.dtype)
            for kh, out_rows, phase_rows in row_taps:
                for kw, out_cols, phase_cols in col_taps:
                    acc[:, :, phase_rows, phase_cols] += dc[:, kh, kw, :, out_rows, out_cols]
            if acc is not dx_cm:
                dx_cm[:, :, rh::stride[0], rw::stride[1]] += acc


def _column_blocks(x, w_shape, stride, pad, out_hw, dtype):
    """im2col by blocks of images: yields (n0, n, cols) with cols (C*HH*WW + 1, n*H_out*W_out),
    the receptive fields of images n0 .. n0+n-1, one column per output pixel (image-major
    within the block), and a last row of ones (the bias's input).

    One buffer serves every block (the caller must use a block before asking for the next).
    It is zeroed once: entries that fall on the zero padding are never written, and the others
    are overwritten by each block. Each kernel offset is one strided copy of x (HH*WW copies a
    block), so no padded copy of x is made.
    """
    N, C = x.shape[:2]
    HH, WW = w_shape[2:]
    H_out, W_out = out_hw
    K = C * HH * WW
    P = H_out * W_out
    per_image = (K + 1) * P * np.dtype(dtype).itemsize
    step = max(1, min(N, BLOCK_BYTES // per_image))
    columns = np.zeros((K + 1, step * P), dtype)
    columns[K] = 1  # the row of ones that carries the bias
    taps = _taps(x.shape, w_shape, stride, pad, out_hw)
    x_cm = x.transpose(1, 0, 2, 3)  # a view, (C, N, H, W) like the columns
    for n0 in range(0, N, step):
        n = min(step, N - n0)
        cols = columns[:, :n * P]
        taps_view = cols[:K].reshape(C, HH, WW, n, H_out, W_out)  # a view: taps write here
        for kh, kw, (out_rows, x_rows), (out_cols, x_cols) in taps:
            taps_view[:, kh, kw, :, out_rows, out_cols] = x_cm[:, n0:n0 + n, x_rows, x_cols]
        yield n0, n, cols
