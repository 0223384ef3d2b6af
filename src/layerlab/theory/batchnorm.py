"""The batchnorm backward formulas of S4 (Ioffe and Szegedy, 2015), written term by term.

For a minibatch x_1..x_m of one feature (all features at once, along axis 0):

    mu = 1/m sum x_i,  var = 1/m sum (x_i - mu)^2,  xhat_i = (x_i - mu) / sqrt(var + eps),
    y_i = gamma xhat_i + beta

    dxhat_i = dy_i gamma
    dvar    = sum_i dxhat_i (x_i - mu) (-1/2) (var + eps)^(-3/2)
    dmu     = sum_i dxhat_i (-1 / sqrt(var + eps)) + dvar (sum_i -2 (x_i - mu)) / m
    dx_i    = dxhat_i / sqrt(var + eps) + dvar 2 (x_i - mu) / m + dmu / m
    dgamma  = sum_i dy_i xhat_i
    dbeta   = sum_i dy_i

`formula_backward` computes exactly these lines (the second term of dmu is kept although it
is zero in exact arithmetic: the formula has it). `compare` puts them beside the engine's two
backward passes (`BatchNorm.backward`, step by step through the graph, and
`BatchNorm.backward_alt`, the closed form) and PyTorch's autograd of `F.batch_norm`.
"""

from __future__ import annotations

import numpy as np


def formula_backward(dy, x, gamma, eps=1e-5):
    """The six S4 formulas, literally.

    Args:
        dy: (m, D) upstream gradient; x: (m, D) the layer's input; gamma: (D,).
    Returns:
        dict of dxhat (m, D), dvar (D,), dmu (D,), dx (m, D), dgamma (D,), dbeta (D,).
    """
    m = x.shape[0]
    mu = x.sum(axis=0) / m
    var = ((x - mu) ** 2).sum(axis=0) / m
    xhat = (x - mu) / np.sqrt(var + eps)
    dxhat = dy * gamma
    dvar = (dxhat * (x - mu) * (-0.5) * (var + eps) ** (-1.5)).sum(axis=0)
    dmu = (dxhat * (-1 / np.sqrt(var + eps))).sum(axis=0) \
        + dvar * (-2 * (x - mu)).sum(axis=0) / m
    dx = dxhat / np.sqrt(var + eps) + dvar * 2 * (x - mu) / m + dmu / m
    dgamma = (dy * xhat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    return {"dxhat": dxhat, "dvar": dvar, "dmu": dmu, "dx": dx, "dgamma": dgamma,
            "dbeta": dbeta}


def autograd_backward(dy, x, gamma, beta, eps=1e-5):
    """dx, dgamma, dbeta and the intermediate gradients (dxhat, dvar, dmu) by PyTorch autograd
    of the same forward, in float64 (train mode; dvar and dmu treat var and mu as the inputs of
    xhat, as the formulas do)."""
    import torch

    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in (("x", x), ("gamma", gamma), ("beta", beta))}
    out = torch.nn.functional.batch_norm(t["x"], None, None, t["gamma"], t["beta"],
                                         training=True, eps=eps)
    grads = torch.autograd.grad(out, (t["x"], t["gamma"], t["beta"]),
                                torch.tensor(dy, dtype=torch.float64))
    result = dict(zip(("dx", "dgamma", "dbeta"), (g.numpy() for g in grads), strict=True))
    # the intermediate gradients: the graph xhat(x, mu, var) with mu and var as leaves
    xt = torch.tensor(x, dtype=torch.float64)
    mu = xt.mean(0).detach().requires_grad_(True)
    var = ((xt - xt.mean(0)) ** 2).mean(0).detach().requires_grad_(True)
    xhat = ((xt - mu) / torch.sqrt(var + eps)).detach().requires_grad_(True)
    y = torch.tensor(gamma, dtype=torch.float64) * xhat
    dxhat, = torch.autograd.grad(y, xhat, torch.tensor(dy, dtype=torch.float64))
    xhat_of = (xt - mu) / torch.sqrt(var + eps)
    dmu_direct, dvar = torch.autograd.grad(xhat_of, (mu, var), dxhat)
    # mu also reaches var = mean((x - mu)^2): the formula's second term of dmu
    var_of = ((xt - mu) ** 2).mean(0)
    dmu_via_var, = torch.autograd.grad(var_of, mu, dvar)
    result.update(dxhat=dxhat.numpy(), dvar=dvar.numpy(),
                  dmu=(dmu_direct + dmu_via_var).numpy())
    return result


def max_rel(a, b):
    """Largest |a - b| / max(|a| + |b|, 1e-8) over all entries (the course's rel_error)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8)))


def compare(m=16, D=5, seed=0, eps=1e-5, scale=3.0, shift=5.0):
    """Formulas vs engine (both backward passes) vs autograd on random float64 data.

    Returns {'shape', 'rows': [(gradient, vs, relative error)]}: every gradient the formulas
    give against every other computation of it.
    """
    from layerlab.scratch.norm import BatchNorm

    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal((m, D)) + shift
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    dy = rng.standard_normal((m, D))
    ours = formula_backward(dy, x, gamma, eps)
    _, cache = BatchNorm.forward(x, gamma, beta, {"mode": "train", "eps": eps})
    engines = {"engine backward (graph)": BatchNorm.backward(dy, cache),
               "engine backward_alt (closed form)": BatchNorm.backward_alt(dy, cache)}
    auto = autograd_backward(dy, x, gamma, beta, eps)
    rows = []
    for name in ("dxhat", "dvar", "dmu"):
        rows.append((name, "autograd", max_rel(ours[name], auto[name])))
    for i, name in enumerate(("dx", "dgamma", "dbeta")):
        for label, grads in engines.items():
            rows.append((name, label, max_rel(ours[name], grads[i])))
        rows.append((name, "autograd", max_rel(ours[name], auto[name])))
    return {"shape": (m, D), "rows": rows}
