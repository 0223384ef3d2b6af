"""PyTorch as the oracle: float64 agreement to 1e-10, and gradients of sum(out * dout)."""

import numpy as np
import torch

TOL = 1e-10


def close(ours, theirs, tol=TOL):
    """Assert our array equals a tensor (or array) of the same shape to `tol`."""
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def torch_grads(fn, arrays, dout):
    """fn(*tensors) -> out; returns out and the gradients of sum(out * dout) w.r.t. each array
    (dout None: out is a scalar)."""
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(torch.tensor(dout) if dout is not None else None)
    return out, [t.grad for t in tensors]
