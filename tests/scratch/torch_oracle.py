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


def batchnorm_matches_torch(layer, backward, x, mode, rng, momentum=0.8):
    """Assert a batchnorm layer (flat (N, C) or spatial (N, C, H, W)) equals
    torch.nn.functional.batch_norm: output, the gradients of `layer.<backward>`, and the running
    statistics. Our momentum keeps the old value, so torch's is 1 - momentum."""
    import torch.nn.functional as F

    C = x.shape[1]
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    rm, rv = rng.standard_normal(C), rng.random(C) + 0.5
    param = {"mode": mode, "momentum": momentum, "running_mean": rm.copy(),
             "running_var": rv.copy()}
    out, cache = layer.forward(x, gamma, beta, param)
    dout = rng.standard_normal(out.shape)
    t_rm, t_rv = torch.tensor(rm), torch.tensor(rv)
    t_out, t_grads = torch_grads(
        lambda x, g, b: F.batch_norm(x, t_rm, t_rv, g, b, training=mode == "train",
                                     momentum=1 - momentum, eps=1e-5), [x, gamma, beta], dout)
    close(out, t_out)
    for ours, theirs in zip(getattr(layer, backward)(dout, cache), t_grads, strict=True):
        close(ours, theirs)
    close(param["running_mean"], t_rm)
    close(param["running_var"], t_rv)
