"""S1.4 `update-rules`: SGD, SGD+momentum, RMSProp and Adam on a six-layer net over seeds, the
reference ordering judged against the seed-to-seed spread; S1.5 `lr-weight-scale`: the
study's six (learning rate, weight scale) configs in two settings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layerlab import references
from layerlab.analysis import count, divergence, mean_std, over_seeds, pm, verdict, welch
from layerlab.analysis.curves import accuracy_panels, loss_series
from layerlab.lab.config import positive, rows, words
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import grid
from layerlab.scratch.optim import UPDATE_RULES
from layerlab.studies.s1_fc.common import JPEG_NOTE, cell_name, cifar_data, fit_net, record_data

ORDER, RELATIONS = references.S1_4_RULE_ORDER, references.S1_4_RULE_RELATIONS


def _update_rule(name):
    return None if name in UPDATE_RULES else f"an update rule is one of {', '.join(UPDATE_RULES)}"


def measured_order(values, z=2.0):
    """{name: [value per seed]} -> 'a > b ≈ c > d': names by mean, best first; '>' where the
    neighbours' means differ by more than z Welch standard errors, '≈' where they do not."""
    names = sorted(values, key=lambda k: -float(np.mean(values[k])))
    text = names[0]
    for a, b in zip(names[:-1], names[1:], strict=True):
        w = welch(values[a], values[b])
        text += (" > " if w.diff > z * w.se else " ≈ ") + b
    return text


def _sweep(run, cfg, grid_name, cells, one, keys, what):
    """Every cell for each seed, as a grid; returns ({key: results}, {key: {cell: divergence}}
    of the keys with a diverged seed, which the report's note names); key: the cell's `keys`."""
    cells = [c | {"seed": s} for c in cells for s in range(cfg.seed, cfg.seed + cfg.repeats)]
    results = grid(run, grid_name, cells, one)
    lost = divergence.groups(run, [tuple(c[k] for k in keys) for c in cells],
                             [cell_name(c) for c in cells], results, what)
    return over_seeds([c | {"result": r} for c, r in zip(cells, results, strict=True)],
                      keys, "result"), lost


def _panels(groups, **loss):
    """Loss per iteration, then train and val accuracy per epoch, each the mean over seeds."""
    return [{"ylabel": "training loss", "xlabel": "iteration", "series": loss_series(groups),
             **loss}, *accuracy_panels(groups)]


@dataclass
class UpdateRulesConfig:
    """S1.4. The course's setting (CS231n's notebook: six-layer net, raw pixels); `variant_rules`
    repeats it on [0, 1] pixels with the [0, 1]-pixel course's rates (empty: skip)."""

    checks = {"rules": rows(_update_rule, positive),
              "variant_rules": lambda v: None if v == () else rows(_update_rule, positive)(v)}

    dataset: str = "cifar10"
    val: int = 1000
    num_train: int = 4000
    hidden: tuple = (100, 100, 100, 100, 100)
    weight_scale: float = 5e-2
    rules: tuple = references.S1_4_RAW_PIXEL_RATES
    epochs: int = 5
    batch_size: int = 100
    pixel_scale: float = 255.0
    variant_rules: tuple = references.S1_4_UNIT_PIXEL_RATES
    variant_pixel_scale: float = 1.0
    repeats: int = 10
    seed: int = 0
    z: float = 2.0  # standard errors a gap needs to count as resolved


@experiment("update-rules", study="S1.4",
            title="SGD, momentum, RMSProp, Adam on a six-layer net, over seeds",
            estimate="1 min", config=UpdateRulesConfig,
            quick={"dataset": "builtin", "val": 200, "num_train": 500, "epochs": 2,
                   "repeats": 2, "variant_rules": ()})
def update_rules(cfg, run):
    """The four update rules over seeds; the reference ordering judged against the spread."""
    settings = {"main": (cfg.pixel_scale, cfg.rules)}
    if cfg.variant_rules:
        settings["variant"] = (cfg.variant_pixel_scale, cfg.variant_rules)
    split = dict(val=cfg.val, num_train=cfg.num_train, seed=cfg.seed)
    record_data(run, cfg.dataset, **split, pixel_scale=cfg.pixel_scale)

    def one(c):
        data = cifar_data(cfg.dataset, **split, pixel_scale=settings[c["setting"]][0])
        return fit_net(run, c, data, cfg.hidden, cfg.weight_scale, c["rule"],
                       batch_size=cfg.batch_size, num_epochs=cfg.epochs)

    # a rule with a diverged seed has no mean: left out of the orderings, claims and curves
    runs, lost = _sweep(run, cfg, "rules", [
        {"setting": name, "rule": rule, "learning_rate": lr}
        for name, (_, rules) in settings.items() for rule, lr in rules],
        one, ("setting", "rule"), "a rule with one is left out whole")
    rows, orders = [], {}
    for name, (scale, rules) in settings.items():
        rows += _rules_setting(cfg, run, name, scale, rules, runs, lost, orders)
    n = count(cfg.repeats, "seed")
    run.table("rules", ["setting", "pixel scale", "rule", "learning rate",
                        f"final train acc (mean ± std, {n})", "final val acc",
                        "last-epoch mean loss"], rows,
              title="Final accuracy per update rule",
              note="'main' is the course's setting (raw-pixel inputs)"
                   + ("; 'variant' the same net on [0, 1] pixels with the [0, 1]-pixel course's "
                      "learning rates" if cfg.variant_rules else "")
                   + ". Train accuracy on 1,000 sampled training images. Orderings: "
                   + "; ".join(f"{s} {lab}: {t}" for (s, lab), t in orders.items())
                   + f" ('>' = gap above {cfg.z:g} standard errors, '≈' = not resolved).")
    run.note("settings", (
        f"Six-layer net (hidden {list(cfg.hidden)}), Gaussian init std {cfg.weight_scale:g}, "
        f"{cfg.num_train} training images (a seeded random draw), {cfg.val} validation images, "
        f"{cfg.epochs} epochs, batch {cfg.batch_size}, no learning-rate decay, {n} (initial "
        "weights and shuffling). The rates and weight scale are the course notebook's (later "
        "editions use 5e-3 for SGD), on raw pixels minus the mean image, hence pixel_scale "
        f"{cfg.pixel_scale:g}. " + (f"At pixel scale {cfg.variant_pixel_scale:g} that weight "
        f"scale makes the initial output {cfg.pixel_scale / cfg.variant_pixel_scale:g} times "
        "smaller (zero biases: a ReLU net's output scales with its input), so the variant uses "
        "the [0, 1]-pixel course's rates. " if cfg.variant_rules else "") + JPEG_NOTE))


def _rules_setting(cfg, run, name, scale, rules, runs, lost, orders):
    """One setting's table rows (returned), ordering claims (its measured orders put in
    `orders`) and curves; a rule with a diverged seed is left out, a pair with one not judged.
    The pairs are paired by seed: the rules share each seed's weights and minibatch order."""
    ok = [rule for rule, _ in rules if (name, rule) not in lost]
    finals = {key: {rule: [r[key][-1] for r in runs[name, rule]] for rule in ok}
              for key in ("train_acc_history", "val_acc_history", "epoch_loss")}
    which = "" if name == "main" else " ([0, 1]-pixel variant)"
    pairs = list(zip(ORDER[:-1], RELATIONS, ORDER[1:], strict=True)) if all(
        (name, rule) in runs for rule in ORDER) else []
    for key, label in (("train_acc_history", "train"), ("val_acc_history", "val")):
        values = finals[key]
        orders[name, label] = measured_order(values, cfg.z) if values else "none"
        for a, rel, b in pairs:
            cells = divergence.lost_cells(lost, [(name, a), (name, b)])
            run.judge(f"reference ordering of final {label} accuracy{which}: {a} beats {b}",
                      "comparison", None if cells else verdict.from_pairs(values[a], values[b]),
                      diverged=cells, key=(label, which, a) == ("val", "", "adam"),
                      source="the study: Adam > RMSProp ≥ SGD+momentum > SGD",
                      note=f"the study's relation: {a} {rel} {b}" + (
                          " (a tie allowed: 'not shown' with an interval through 0 agrees "
                          "with it, only the opposite holding contradicts it)" if rel == ">="
                          else "") + f"; measured order of the means: {orders[name, label]}")
    run.plot("rules" if name == "main" else "rules_variant", "curves", xlabel="epoch",
             title="Update rules (course setting, raw pixels)" if name == "main" else
             "Update rules, variant: [0, 1] pixels, the [0, 1]-pixel course's rates",
             panels=_panels({rule: runs[name, rule] for rule in ok}))
    return [[name, f"{scale:g}", rule, lr, *(
        pm(*mean_std(finals[key][rule])) if rule in ok else divergence.label(lost[name, rule])
        for key in finals)] for rule, lr in rules]


@dataclass
class LrWeightScaleConfig:
    """S1.5. The study's six (lr, weight scale) configs in two settings (it names none):
    'overfit', the course's five-layer overfitting exercise, and 'six-layer', S1.4's net and
    data with Adam, for which lr 1e-5 is a sensible candidate (SGD would not move)."""

    checks = {"configs": rows(positive, positive),
              "settings": words(("overfit", "six-layer"))}

    dataset: str = "cifar10"
    val: int = 1000
    configs: tuple = references.S1_5_CONFIGS
    settings: tuple = ("overfit", "six-layer")
    overfit_num_train: int = 50
    overfit_hidden: tuple = (100, 100, 100, 100)
    overfit_epochs: int = 20
    overfit_batch: int = 25
    six_num_train: int = 4000
    six_hidden: tuple = (100, 100, 100, 100, 100)
    six_epochs: int = 5
    six_batch: int = 100
    six_rule: str = "adam"
    pixel_scale: float = 255.0
    repeats: int = 5
    seed: int = 0


@experiment("lr-weight-scale", study="S1.5",
            title="six (learning rate, weight scale) configs: train/val accuracy and curves",
            estimate="30 s", config=LrWeightScaleConfig,
            quick={"dataset": "builtin", "val": 200, "repeats": 1, "six_num_train": 500,
                   "six_epochs": 2, "overfit_epochs": 5})
def lr_weight_scale(cfg, run):
    """Train/val accuracy and curves of the six configs, per setting."""
    spec = {"overfit": dict(num_train=cfg.overfit_num_train, hidden=cfg.overfit_hidden,
                            epochs=cfg.overfit_epochs, batch=cfg.overfit_batch, rule="sgd"),
            "six-layer": dict(num_train=cfg.six_num_train, hidden=cfg.six_hidden,
                              epochs=cfg.six_epochs, batch=cfg.six_batch, rule=cfg.six_rule)}
    split = dict(val=cfg.val, seed=cfg.seed, pixel_scale=cfg.pixel_scale)
    record_data(run, cfg.dataset, **split, num_train=spec[cfg.settings[0]]["num_train"])

    def one(c):
        s = spec[c["setting"]]
        data = cifar_data(cfg.dataset, **split, num_train=s["num_train"])
        return fit_net(run, c, data, s["hidden"], c["weight_scale"], s["rule"],
                       batch_size=s["batch"], num_epochs=s["epochs"], num_train_samples=1000)

    # a config with a diverged seed has no mean: left out of the picks, counts and curves
    runs, lost = _sweep(run, cfg, "configs", [
        {"setting": name, "learning_rate": lr, "weight_scale": ws}
        for name in cfg.settings for lr, ws in cfg.configs],
        one, ("setting", "learning_rate", "weight_scale"), "a config with one is left out whole")
    rows = [row for name in cfg.settings
            for row in _configs_setting(cfg, run, name, spec[name], runs, lost)]
    run.table("configs", ["setting", "learning rate", "weight scale",
                          f"final train acc (mean ± std, {count(cfg.repeats, 'seed')})",
                          "final val acc", "seeds at 100% train", "seeds diverged"], rows,
              title="Train / val accuracy per config",
              note="Train accuracy on up to 1,000 sampled training images (all 50 in "
                   "'overfit').")
    lr5, ws5 = references.S1_3_COURSE_STARTS[5]
    run.note("settings", (
        "The study lists six (learning rate, weight scale) pairs without their setting. "
        f"'overfit': {len(cfg.overfit_hidden) + 1}-layer net (hidden "
        f"{list(cfg.overfit_hidden)}), {cfg.overfit_num_train} images, SGD, batch "
        f"{cfg.overfit_batch}, {cfg.overfit_epochs} epochs: the course's five-layer "
        f"overfitting exercise, which starts from learning rate {lr5:g} (and weight scale "
        f"{ws5:g}) and asks for a search of both. 'six-layer': S1.4's net and data "
        f"({cfg.six_num_train} images, {cfg.six_epochs} epochs, batch {cfg.six_batch}) with "
        f"{cfg.six_rule}. Both on raw-pixel inputs (pixel_scale {cfg.pixel_scale:g}), "
        f"{count(cfg.repeats, 'seed')}. " + JPEG_NOTE))


def _configs_setting(cfg, run, name, s, runs, lost):
    """One setting's table rows (returned), claims and curves; s: its spec. A config with a
    diverged seed is left out of the claims and curves."""
    last = {(lr, ws): {k: [r[f"{k}_acc_history"][-1] for r in runs[name, lr, ws]]
                       for k in ("train", "val")} for lr, ws in cfg.configs}
    ok = [key for key in last if (name, *key) not in lost]
    rows = [[name, lr, ws, *((divergence.label(lost[name, lr, ws]),) * 3 if (lr, ws) not in ok
                             else (pm(*mean_std(v["train"])), pm(*mean_std(v["val"])),
                                   f"{sum(t >= 1.0 for t in v['train'])}/{len(v['train'])}")),
             sum(bool(divergence.of(r)) for r in runs[name, lr, ws])]
            for (lr, ws), v in last.items()]
    which = "train" if name == "overfit" else "val"  # overfitting is about training
    if name == "overfit":
        reached = [f"({lr:g}, {ws:g})" for lr, ws in ok
                   if sum(t >= 1.0 for t in last[lr, ws]["train"]) * 2 >= cfg.repeats]
        n_lost = len(last) - len(ok)
        run.judge("configs reaching 100% training accuracy (overfit, half the seeds or "
                  "more)", "measured", verdict.exact(len(reached)), key=True,
                  note=(", ".join(reached) if reached else "none")
                  + "; (lr, weight scale); a count over the stored runs, no interval; "
                    "compare the five-layer heat map of depth-overfit"
                  + (f"; {count(n_lost, 'config')} with a diverged seed left out (they did "
                     "not reach it)" if n_lost else ""))
    _best_claim(run, f"best config ({name}, by final {which} accuracy) beats the runner-up",
                {key: last[key][which] for key in ok},
                {k[1:]: v for k, v in lost.items() if k[0] == name})
    run.plot(f"curves_{name}", "curves", xlabel="epoch",
             title=f"{name}: {len(s['hidden']) + 1}-layer net, {s['rule']}, "
                   f"{s['num_train']} images, {s['epochs']} epochs",
             panels=_panels({f"lr {lr:g}, ws {ws:g}": runs[name, lr, ws] for lr, ws in ok},
                            logy=True))
    return rows


def _best_claim(run, claim, scores, lost):
    """'The best config beats the runner-up', paired by seed, the ties named; scores: {(lr, ws):
    per-seed accuracy} of the configs that finished; lost: {(lr, ws): {cell: divergence}}."""
    out = ("; left out, diverged: " + ", ".join(f"({lr:g}, {ws:g})" for lr, ws in lost)
           if lost else "")
    if len(scores) < 2:
        run.judge(claim, "comparison", None,
                  diverged=[n for cells in lost.values() for n in cells],
                  note="fewer than two configs finished: no pick" + out)
        return
    est = {k: verdict.from_seeds(v) for k, v in scores.items()}
    best, second = sorted(scores, key=lambda k: -est[k].value)[:2]
    tied = [f"({lr:g}, {ws:g})" for lr, ws in scores if (lr, ws) != best
            and est[lr, ws].high >= est[best].low]
    run.judge(claim, "comparison", verdict.from_pairs(scores[best], scores[second]),
              note=f"best lr {best[0]:g}, weight scale {best[1]:g}: {est[best].text(3)}; "
                   f"runner-up ({second[0]:g}, {second[1]:g}): {est[second].text(3)}; "
                   "intervals overlapping the best's: " + (", ".join(tied) or "none")
                   + ". A pick, not a verdict by argmax: 'not shown' means a tie" + out)
