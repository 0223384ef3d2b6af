"""Copies of the correct course solution with one known bug each, written into a folder.

Each bug is a few text substitutions of `course_solution.py` (every old text must occur there
exactly once, so a change to the solution cannot silently leave a copy correct), the check
that must catch it, and a phrase its diagnosis must contain.
"""

from pathlib import Path

HERE = Path(__file__).parent
SOLUTION = HERE / "course_solution.py"
ENGINE = HERE / "engine_as_course.py"

# key: (check, [(old, new), ...], phrase of the diagnosis)
BUGS = {
    "relu_mask_from_dout": ("relu_backward", [("dx = dout * (x > 0)", "dx = dout * (dout > 0)")],
                            "ReLU mask taken from dout"),
    "adam_no_bias_correction": ("adam", [
        ('m_hat = config["m"] / (1 - b1 ** config["t"])', 'm_hat = config["m"]'),
        ('v_hat = config["v"] / (1 - b2 ** config["t"])', 'v_hat = config["v"]')],
        "Adam without bias correction"),
    "rmsprop_no_one_minus_decay": ("rmsprop", [("(1 - decay) * dw ** 2", "dw ** 2")],
                                   "RMSProp without 1 - decay"),
    "momentum_lr_inside": ("sgd_momentum", [
        ('v = config["momentum"] * v - config["learning_rate"] * dw',
         'v = config["learning_rate"] * (config["momentum"] * v - dw)')],
        "learning rate inside the velocity"),
    "bn_batch_stats_at_test": ("batchnorm_forward", [
        ("xhat = (x - running_mean) / np.sqrt(running_var + eps)",
         "xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)")],
        "batch statistics at test time"),
    "bn_backward_no_mean_term": ("batchnorm_backward", [
        ("dx = (N * dxhat - dmean_term - xhat * dvar_term) / (N * std)",
         "dx = (N * dxhat - xhat * dvar_term) / (N * std)")],
        "batchnorm backward missing the mean term"),
    "layernorm_wrong_axis": ("layernorm_forward", [
        ("mu = x.mean(axis=1, keepdims=True)", "mu = x.mean(axis=0)"),
        ("std = np.sqrt(x.var(axis=1, keepdims=True) + eps)",
         "std = np.sqrt(x.var(axis=0) + eps)")],
        "layernorm over the wrong axis"),
    "spatial_bn_no_transpose": ("spatial_batchnorm_forward", [
        ("rows = x.transpose(0, 2, 3, 1).reshape(-1, C)", "rows = x.reshape(-1, C)"),
        ("return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache",
         "return out.reshape(N, C, H, W), cache")],
        "reshaped without transposing"),
    "dropout_not_inverted": ("dropout_forward", [
        ("mask = (np.random.rand(*x.shape) < p) / p", "mask = np.random.rand(*x.shape) < p"),
        ("    else:\n        out = x\n", "    else:\n        out = x * p\n")],
        "non-inverted dropout"),
    "dropout_p_as_drop": ("dropout_forward", [
        ("mask = (np.random.rand(*x.shape) < p) / p",
         "mask = (np.random.rand(*x.shape) >= p) / (1 - p)")],
        "p read as the drop probability"),
    "conv_dw_flipped": ("conv_backward_naive", [
        ("xp[:, :, rows, cols], axes=(0, 0))", "xp[:, :, rows, cols][:, :, ::-1, ::-1], "
                                               "axes=(0, 0))")],
        "flipped convolution weights in dw"),
    "maxpool_grad_spread": ("max_pool_backward_naive", [
        ("dx[n, c, i * s + k, j * s + l] += dout[n, c, i, j]",
         "dx[n, c, i * s:i * s + ph, j * s:j * s + pw] += dout[n, c, i, j]")],
        "spread over the whole window"),
    "l2_without_half": ("FullyConnectedNet", [
        ("loss += 0.5 * self.reg * np.sum(W * W)", "loss += self.reg * np.sum(W * W)"),
        ('grads[f"W{i}"] += self.reg * W', 'grads[f"W{i}"] += 2 * self.reg * W')],
        "L2 without the 0.5 factor"),
    "softmax_summed": ("softmax_loss", [
        ("loss = -np.log(probs[np.arange(N), y]).sum() / N",
         "loss = -np.log(probs[np.arange(N), y]).sum()"),
        ("    dx /= N\n", "")],
        "softmax loss summed, not averaged"),
    "svm_margin_not_1": ("svm_loss", [("x - correct + 1.0", "x - correct + 10.0")],
                         "SVM margin 10 instead of 1"),
    "db_averaged": ("affine_backward", [("db = np.sum(dout, axis=0)",
                                         "db = np.mean(dout, axis=0)")],
                    "db averaged instead of summed"),
    "inplace_dout": ("relu_backward", [("dx = dout * (x > 0)",
                                        "dout[x <= 0] = 0\n    dx = dout")],
                     "in-place change of dout"),
}


def write_copy(folder, key):
    """The correct solution with bug `key`, written as folder/student.py; returns its path."""
    source = SOLUTION.read_text()
    for old, new in BUGS[key][1]:
        assert source.count(old) == 1, f"{key}: {old!r} occurs {source.count(old)} times"
        source = source.replace(old, new)
    path = Path(folder) / "student.py"
    path.write_text(source)
    return path
