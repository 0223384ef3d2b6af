"""spatial-batchnorm (S2.3): per-channel statistics over N, H, W. Train mode: output means
equal beta and stds gamma (up to eps); test mode after warm-up passes: close to them;
`SpatialBatchNorm` equals `BatchNorm` on the (N*H*W, C) pixel matrix and PyTorch's
`F.batch_norm`; a numerical check of both backward passes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab import references as ref
from layerlab.analysis import verdict
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell, grid
from layerlab.scratch.gradcheck import numerical_gradient_array, rel_error
from layerlab.scratch.norm import BatchNorm
from layerlab.scratch.spatial_norm import SpatialBatchNorm
from layerlab.studies.s2_conv.speed import max_abs_diff

SOURCE = "S2.3 (course notebook ConvolutionalNetworks: spatial BN)"
BACKWARDS = (("backward", SpatialBatchNorm.backward, BatchNorm.backward),
             ("backward_alt", SpatialBatchNorm.backward_alt, BatchNorm.backward_alt))
GRADS = ("dx", "dgamma", "dbeta")
ROUND_OFF = 1e-9  # float64 round-off allowed where two numbers are equal in exact arithmetic


@dataclass
class SpatialBatchnormConfig:
    """The course's checks (train mode, test mode after warm-up passes, gradient check); test
    mode with gamma and beta other than 1 and 0, so that 'close to gamma and beta' is tested."""

    train_shape: tuple = (2, 3, 4, 5)
    train_loc: float = 10.0
    train_scale: float = 4.0
    gamma: tuple = (3.0, 4.0, 5.0)
    beta: tuple = (6.0, 7.0, 8.0)
    test_shape: tuple = (10, 4, 11, 12)
    test_loc: float = 13.0
    test_scale: float = 2.3
    test_gamma: tuple = (0.5, 1.0, 2.0, 3.0)
    test_beta: tuple = (-1.0, 0.0, 1.0, 2.0)
    warmup_passes: int = 50
    momentum: float = 0.9
    test_tolerance: float = 0.15
    test_seeds: tuple = (0, 1, 2, 3, 4)
    compare_shape: tuple = (8, 6, 7, 9)
    gradcheck_shape: tuple = (2, 3, 4, 5)
    seed: int = 0


def channel_stats(out):
    """Per-channel mean and (biased) std over N, H, W of an (N, C, H, W) array: two (C,)."""
    return out.mean(axis=(0, 2, 3)), out.std(axis=(0, 2, 3))


def _train_stats(cfg):
    x = cfg.train_scale * np.random.default_rng(cfg.seed).standard_normal(cfg.train_shape)
    x += cfg.train_loc
    gamma, beta = np.asarray(cfg.gamma, float), np.asarray(cfg.beta, float)
    out, _ = SpatialBatchNorm.forward(x, gamma, beta, {"mode": "train"})
    (in_mean, in_std), (mean, std) = channel_stats(x), channel_stats(out)
    eps = 1e-5  # BatchNorm's default: the std falls short of gamma by this factor
    predicted = gamma * np.sqrt(in_std ** 2 / (in_std ** 2 + eps))
    return {k: v.tolist() for k, v in zip(("in_mean", "in_std", "mean", "std", "predicted_std"),
                                          (in_mean, in_std, mean, std, predicted), strict=True)}


def _test_stats(cfg, seed):
    rng = np.random.default_rng(seed + 1)
    gamma, beta = np.asarray(cfg.test_gamma, float), np.asarray(cfg.test_beta, float)
    bn_param, errors = {"mode": "train", "momentum": cfg.momentum}, []
    for _ in range(cfg.warmup_passes):
        x = cfg.test_scale * rng.standard_normal(cfg.test_shape) + cfg.test_loc
        SpatialBatchNorm.forward(x, gamma, beta, bn_param)
        errors.append([np.max(np.abs(bn_param["running_mean"] - cfg.test_loc)),
                       np.max(np.abs(np.sqrt(bn_param["running_var"]) - cfg.test_scale))])
    bn_param["mode"] = "test"
    x = cfg.test_scale * rng.standard_normal(cfg.test_shape) + cfg.test_loc
    mean, std = channel_stats(SpatialBatchNorm.forward(x, gamma, beta, bn_param)[0])
    mean_err, std_err = (np.reshape(errors, (-1, 2)) / cfg.test_scale).T.tolist()
    return {"mean": mean.tolist(), "std": std.tolist(), "running_mean_error": mean_err,
            "running_std_error": std_err, **{k: np.asarray(bn_param[k]).tolist()
                                             for k in ("running_mean", "running_var")}}


def expected_test_deviation(cfg):
    """Noise to expect in test mode, in units of gamma: the bias of the running mean left from
    its start at 0 (momentum ** passes * loc / scale) plus 4 standard errors of a channel mean
    over N*H*W values."""
    N, _, H, W = cfg.test_shape
    bias = cfg.momentum ** cfg.warmup_passes * abs(cfg.test_loc) / cfg.test_scale
    return bias + 4 / np.sqrt(N * H * W)


def goal_source(tolerance, noise):
    """The test-mode goal's source: its tolerance, above or not above the `noise` to expect."""
    return (f"layerlab's goal: at most {tolerance:g}, {'' if tolerance > noise else 'not '}"
            f"above the noise to expect here (start bias + 4 standard errors: {noise:.3f})")


def _random_inputs(seed, shape, scale, loc):
    """x of `shape` (N, C, H, W), gamma and beta (C,), dout like x."""
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal(shape) + loc
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    return x, gamma, beta, rng.standard_normal(shape)


def _compare(cfg):
    """SpatialBatchNorm vs BatchNorm on the (N*H*W, C) pixel matrix and vs PyTorch."""
    N, C, H, W = cfg.compare_shape
    x, gamma, beta, dout = _random_inputs(cfg.seed + 2, cfg.compare_shape, 3, 5)
    p_sp, p_bn = {"mode": "train"}, {"mode": "train"}
    out, cache = SpatialBatchNorm.forward(x, gamma, beta, p_sp)
    rows = lambda a: a.transpose(0, 2, 3, 1).reshape(-1, C)  # noqa: E731 (a row per pixel)
    back = lambda a: a.reshape(N, H, W, C).transpose(0, 3, 1, 2)  # noqa: E731
    out_bn, cache_bn = BatchNorm.forward(rows(x), gamma, beta, p_bn)
    result = {"forward": max_abs_diff(out, back(out_bn)),
              **{k: max_abs_diff(p_sp[k], p_bn[k]) for k in ("running_mean", "running_var")}}
    for name, sp, bn in BACKWARDS:
        result[name] = {k: max_abs_diff(a, back(b) if k == "dx" else b) for k, a, b in
                        zip(GRADS, sp(dout, cache), bn(rows(dout), cache_bn), strict=True)}
    # statistics are per channel over N, H, W: not per (c, h, w) position
    return {**result, "torch": _torch_compare(x, gamma, beta, dout, out, cache),
            "per_position_mean_spread": float(np.max(np.abs(
                out.mean(axis=0) - beta[:, None, None])))}


def _torch_compare(x, gamma, beta, dout, out, cache):
    try:
        import torch
    except ImportError:
        return None
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    t_out = torch.nn.functional.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5)
    t_out.backward(torch.tensor(dout))
    return {"forward": max_abs_diff(out, t_out.detach().numpy()), **{
        k: max_abs_diff(g, t.grad.numpy()) for k, g, t in
        zip(GRADS, SpatialBatchNorm.backward(dout, cache), (tx, tg, tb), strict=True)}}


def _gradcheck(cfg):
    """The course's check: numerical vs analytic gradients of both backward passes."""
    x, gamma, beta, dout = _random_inputs(cfg.seed + 3, cfg.gradcheck_shape, 5, 12)
    f = lambda: SpatialBatchNorm.forward(x, gamma, beta, {"mode": "train"})[0]  # noqa: E731
    numeric = [numerical_gradient_array(f, a, dout) for a in (x, gamma, beta)]
    cache = SpatialBatchNorm.forward(x, gamma, beta, {"mode": "train"})[1]
    return {name: {k: rel_error(n, g) for k, n, g in
                   zip(GRADS, numeric, fn(dout, cache), strict=True)} for name, fn, _ in BACKWARDS}


def _channel_table(run, name, columns, **text):
    """A table with one row per channel; columns: {header: (C,) values}."""
    rows = zip(*columns.values(), strict=True)
    run.table(name, ["channel", *columns], [[c, *row] for c, row in enumerate(rows)], **text)


def _train_report(cfg, run, train):
    gamma, beta = np.asarray(cfg.gamma), np.asarray(cfg.beta)
    mean, std, predicted = (np.asarray(train[k]) for k in ("mean", "std", "predicted_std"))
    _channel_table(run, "train_mode", {
        "input mean": train["in_mean"], "input std": train["in_std"], "output mean": mean,
        "beta": beta, "output std": std, "gamma": gamma,
        "gamma * sqrt(var / (var + eps))": predicted},
        title=f"Train mode, x = {cfg.train_scale:g} randn + {cfg.train_loc:g} of shape "
              f"{tuple(cfg.train_shape)}: statistics per channel over N, H, W",
        note="eps = 1e-5 makes the output std fall short of gamma by sqrt(var / (var + eps)).")
    for what, value, source in (
            ("means equal beta (max |mean - beta|)", np.abs(mean - beta),
             f"{SOURCE}: means {list(cfg.beta)} for beta {tuple(cfg.beta)}"),
            ("stds equal gamma * sqrt(var / (var + eps)) (max |std - that| / gamma)",
             np.abs(std - predicted) / gamma, f"{SOURCE}: stds "
             f"{', '.join(map(str, ref.S2_3_TRAIN_STDS_PRINTED))} for gamma {tuple(cfg.gamma)},"
             " short of gamma by eps")):
        run.judge(f"train mode: per-channel output {what}", "figure",
                  verdict.exact(float(np.max(value)), ROUND_OFF), 0.0, better="equal",
                  source=source, note=f"+-{ROUND_OFF:g}: float64 round-off")
    run.judge("train mode: shortfall of the output stds (max |std / gamma - 1|)", "measured",
              verdict.exact(float(np.max(np.abs(std / gamma - 1)))),
              note=f"the course's {ref.S2_3_TRAIN_STD_SHORTFALL:g} came from other random data: "
                   "the shortfall is eps / (2 var), so it follows the sample's variance")


def _test_report(cfg, run, tests):
    gamma, beta = np.asarray(cfg.test_gamma), np.asarray(cfg.test_beta)
    deviations = [(np.abs(np.asarray(t["mean"]) - beta) / gamma,
                   np.abs(np.asarray(t["std"]) / gamma - 1)) for t in tests]
    worst = np.array([[float(d.max()) for d in devs] for devs in deviations])
    test = tests[0]
    _channel_table(run, "test_mode", {
        "output mean": test["mean"], "beta": beta, "abs(mean - beta) / gamma": deviations[0][0],
        "output std": test["std"], "gamma": gamma, "abs(std / gamma - 1)": deviations[0][1],
        "running mean": test["running_mean"],
        "running std": [float(np.sqrt(v)) for v in test["running_var"]]},
        title=f"Test mode after {cfg.warmup_passes} train-mode passes (momentum "
              f"{cfg.momentum:g}), x = {cfg.test_scale:g} randn + {cfg.test_loc:g} of shape "
              f"{tuple(cfg.test_shape)}, seed {cfg.test_seeds[0]}",
        note="Deviations in units of gamma, comparable with the course's run (gamma 1, beta 0).")
    for k, (what, printed) in enumerate((
            ("means close to beta (max |mean - beta| / gamma)", ref.S2_3_TEST_MEAN_DEVIATION),
            ("stds close to gamma (max |std / gamma - 1|)", ref.S2_3_TEST_STD_DEVIATION))):
        run.judge(f"test mode: per-channel {what}", "goal", verdict.from_seeds(worst[:, k]),
                  cfg.test_tolerance, better="lower",
                  source=goal_source(cfg.test_tolerance, expected_test_deviation(cfg)),
                  note=f"per seed {', '.join(f'{v:.3f}' for v in worst[:, k])}; the course's "
                  f"largest printed deviation, one draw of the same shape: {printed}")
    passes = list(range(1, cfg.warmup_passes + 1))
    run.plot("running_stats", "curves", title="Running statistics during the warm-up passes",
             xlabel="train-mode pass", ylabel="max over channels, in input stds", logy=True,
             series={"|running mean - true mean|": [passes, test["running_mean_error"]],
                     "|sqrt(running var) - true std|": [passes, test["running_std_error"]],
                     "predicted start bias momentum^k * mean / std": [
                         passes, [cfg.momentum ** k * abs(cfg.test_loc) / cfg.test_scale
                                  for k in passes]]})


def _compare_report(cfg, run, comp):
    parts = [("forward", comp["forward"]), ("running mean", comp["running_mean"]),
             ("running var", comp["running_var"])]
    parts += [(f"{name} {k}", v) for name, *_ in BACKWARDS for k, v in comp[name].items()]
    run.table("vs_batchnorm", ["quantity", "largest absolute difference"], parts,
              title="SpatialBatchNorm vs BatchNorm on the pixel matrix x.transpose(0, 2, 3, 1)"
                    f".reshape(-1, C) (done by hand), x of shape {tuple(cfg.compare_shape)}")
    run.judge("SpatialBatchNorm = BatchNorm on the (N*H*W, C) matrix (max abs difference over "
              "forward, both backwards, running statistics)", "figure",
              verdict.exact(max(v for _, v in parts), 1e-12), 0.0, better="equal", key=True,
              source=SOURCE + ": 'built on batchnorm by reshaping'",
              note="+-1e-12: float64 round-off")
    if comp["torch"] is not None:
        run.table("vs_torch", ["quantity", "largest absolute difference"],
                  list(comp["torch"].items()),
                  title="SpatialBatchNorm vs torch.nn.functional.batch_norm (training mode)")
        run.judge("SpatialBatchNorm vs PyTorch F.batch_norm (max abs difference, forward and "
                  "gradients)", "goal", verdict.exact(max(comp["torch"].values())), 1e-10,
                  better="lower", source="layerlab's goal: round-off only (<= 1e-10), with "
                  "PyTorch as an independent oracle")
    run.note("Statistics per channel, not per position", (
        "In train mode the output mean over N alone, at a fixed (c, h, w), differs from beta "
        f"by up to {comp['per_position_mean_spread']:.3f}; the mean over N, H and W is beta by "
        "construction (the train-mode claims measure it): one mean and variance per channel."))


def _gradcheck_report(cfg, run, gc):
    rows = [[name, *(v[k] for k in GRADS)] for name, v in gc.items()]
    low, high = ref.S2_3_GRADCHECK_FLOOR, ref.S2_3_GRADCHECK_ERROR
    run.table("gradcheck", ["backward", *(f"rel error {k}" for k in GRADS)], rows,
              title="Numerical gradient check, x = 5 randn + 12 of shape "
                    f"{tuple(cfg.gradcheck_shape)}, float64, random upstream gradient",
              note="The course printed " + ", ".join(
                  f"{k} {v:.1e}" for k, v in ref.S2_3_GRADCHECK_PRINTED.items()) + ".")
    run.judge("gradient check of both backward passes: largest relative error", "goal",
              verdict.exact(max(max(r[1:]) for r in rows)), high, better="lower",
              source=f"layerlab's goal: the course's bound {high:g} ({SOURCE}: 'errors of "
              f"magnitudes between {low:g} and {high:g}')")


@experiment("spatial-batchnorm", study="S2.3",
            title="spatial batchnorm: per-channel statistics over N, H, W",
            estimate="5 s", config=SpatialBatchnormConfig,
            quick={"compare_shape": (4, 3, 5, 6)})
def spatial_batchnorm(cfg, run):
    """S2.3: train- and test-mode statistics, equality with BatchNorm, gradient check."""
    _train_report(cfg, run, cell(run, "train_mode", lambda: _train_stats(cfg)))
    _test_report(cfg, run, grid(run, "test_mode", [{"seed": int(s)} for s in cfg.test_seeds],
                                lambda c: _test_stats(cfg, c["seed"])))
    for name, compute, report in (("compare", _compare, _compare_report),
                                  ("gradcheck", _gradcheck, _gradcheck_report)):
        report(cfg, run, cell(run, name, lambda f=compute: f(cfg)))
