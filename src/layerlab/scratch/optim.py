"""Update rules, one signature for all:

    next_w, config = update(w, dw, config)

`config` carries the hyper-parameters and the rule's state (velocity, moments, step count);
pass the returned config back on the next step. Missing hyper-parameters get the defaults
below; a key the rule does not know (a typo such as 'learnig_rate') raises a ValueError that
lists the known ones, rather than leaving the default silently in force. The inputs are never
modified; next_w is a new array.

Agreement with PyTorch (tested, constant learning rate):
- sgd, sgd_momentum (also with nesterov) and rmsprop equal torch.optim.SGD / RMSprop exactly.
  Our momentum keeps the course form v = mu * v - lr * dw, w += v; PyTorch keeps
  b = mu * b + dw, w -= lr * b. They are the same while lr is constant (v = -lr * b) and
  differ after a learning-rate change: ours lets the old velocity keep its old step size.
- adam equals torch.optim.Adam: epsilon is added to sqrt(v_hat), the bias-corrected second
  moment. The "efficient" form of the Adam paper (Kingma & Ba, sec. 2, used by TensorFlow)
  adds epsilon to sqrt(v) before bias correction instead; that is `epsilon_on='v'` here.
  The two differ by a factor (sqrt(v_hat) + eps) / (sqrt(v_hat) + eps / sqrt(1 - beta2^t))
  per entry, large only when sqrt(v_hat) is not much bigger than eps.
- adam with weight_decay > 0 is AdamW (decoupled): w -= lr * weight_decay * w before the step,
  like torch.optim.AdamW.
"""

from __future__ import annotations

import numpy as np

# Each rule's hyper-parameters and state: the only keys its config may hold.
KEYS = {
    "sgd": ("learning_rate",),
    "sgd_momentum": ("learning_rate", "momentum", "nesterov", "velocity"),
    "rmsprop": ("learning_rate", "decay_rate", "epsilon", "cache"),
    "adam": ("learning_rate", "beta1", "beta2", "epsilon", "weight_decay", "epsilon_on", "m",
             "v", "t"),
}


def _config(config, rule):
    """The rule's config ({} for None); a ValueError names unknown keys and the known ones."""
    config = {} if config is None else config
    unknown = sorted(set(config) - set(KEYS[rule]))
    if unknown:
        raise ValueError(f"{rule}: unknown config key(s) {', '.join(map(repr, unknown))}; "
                         f"{rule} knows {', '.join(KEYS[rule])}")
    return config


def sgd(w, dw, config=None):
    """Vanilla SGD. config: learning_rate (1e-2)."""
    config = _config(config, "sgd")
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    """SGD with (optionally Nesterov) momentum.

    config: learning_rate (1e-2), momentum (0.9), nesterov (False); state: velocity.
    """
    config = _config(config, "sgd_momentum")
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("nesterov", False)
    mu, lr = config["momentum"], config["learning_rate"]
    v_prev = config.get("velocity", np.zeros_like(w))
    v = mu * v_prev - lr * dw
    if config["nesterov"]:
        next_w = w - lr * dw + mu * v  # look ahead along the new velocity
    else:
        next_w = w + v
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp. config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8); state: cache."""
    config = _config(config, "rmsprop")
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    decay = config["decay_rate"]
    cache = decay * config.get("cache", np.zeros_like(w)) + (1 - decay) * dw * dw
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    """Adam with bias correction and optional decoupled weight decay (AdamW).

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8),
    weight_decay (0.0, decoupled), epsilon_on ('v_hat' as PyTorch, or 'v' as the paper's
    efficient form); state: m, v, t.
    """
    config = _config(config, "adam")
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("weight_decay", 0.0)
    config.setdefault("epsilon_on", "v_hat")
    b1, b2, eps, lr = config["beta1"], config["beta2"], config["epsilon"], config["learning_rate"]
    t = config.get("t", 0) + 1
    m, v = config.get("m"), config.get("v")
    if m is None:
        m, v = np.zeros_like(w), np.zeros_like(w)
    # Written with one scratch buffer and in-place operations: this runs once per parameter per
    # step, and a fresh temporary for each of ~10 operations on 1.7M weights costs as much as a
    # matrix product.
    buf = np.multiply(dw, 1 - b1)
    m *= b1
    m += buf
    np.multiply(dw, dw, out=buf)
    buf *= 1 - b2
    v *= b2
    v += buf
    correction1, correction2 = 1 - b1**t, 1 - b2**t
    if config["epsilon_on"] == "v_hat":  # m_hat / (sqrt(v_hat) + eps), as PyTorch
        np.divide(v, correction2, out=buf)
        np.sqrt(buf, out=buf)
        scale = lr / correction1
    elif config["epsilon_on"] == "v":  # the paper's efficient form
        np.sqrt(v, out=buf)
        scale = lr * np.sqrt(correction2) / correction1
    else:
        raise ValueError(f"epsilon_on must be 'v_hat' or 'v', got {config['epsilon_on']!r}")
    buf += eps
    np.divide(m, buf, out=buf)
    buf *= scale
    next_w = w * (1 - lr * config["weight_decay"]) if config["weight_decay"] else w.copy()
    next_w -= buf
    config.update(m=m, v=v, t=t)
    return next_w, config


UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
