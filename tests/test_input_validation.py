"""Every command refuses a user's mistake with one line naming the problem (exit 2), and the
library refuses invalid values instead of computing with them."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerlab.lab import config as configs
from layerlab.lab import registry
from layerlab.lab.config import ConfigError
from layerlab.scratch import layers, optim
from layerlab.scratch.models import FullyConnectedNet, TwoLayerNet

QUICK = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])

BAD_SETTINGS = ["epochs=-1", "batch_size=0", "val=-5", "hidden_dims=[-5]", "learning_rates=[]",
                "normalization=foo", "dataset=nosuch", "epochs=True", "val=0", "seed=-1"]


# 1. --set: the framework's checks -------------------------------------------------------------

@pytest.mark.parametrize("setting", BAD_SETTINGS)
def test_bad_settings_are_refused_naming_the_setting(setting):
    with pytest.raises(ConfigError, match=setting.partition("=")[0]):
        configs.resolve(registry.get("quickstart"), [setting])


@pytest.mark.parametrize("setting", ["epochs=3", "hidden_dims=[]", "hidden_dims=[20, 10]",
                                     "learning_rates=[1, 0.01]", "normalization=layernorm",
                                     "dataset=builtin", "val=1", "weight_scale=xavier"])
def test_good_settings_pass(setting):
    config = configs.resolve(registry.get("quickstart"), [setting])
    key = setting.partition("=")[0]
    assert type(config[key]) is type(dataclasses.asdict(registry.get("quickstart").config())[key])


def test_every_experiment_passes_its_own_checks():
    for exp in registry.all_experiments().values():
        configs.resolve(exp)
        configs.resolve(exp, quick=True)


def _settings_without_a_rule(exp):
    return [key for key, value in dataclasses.asdict(exp.config()).items()
            if configs.rule_for(exp, key) is None
            and not isinstance(value, bool)]  # a bool's type check is all it needs


def test_every_setting_of_every_experiment_has_a_rule():
    missing = {name: _settings_without_a_rule(exp)
               for name, exp in registry.all_experiments().items()}
    assert {name: keys for name, keys in missing.items() if keys} == {}


# a value each rule must refuse, for settings whose rule comes from its name's last word
REFUSED = [("lenet-fashion", "activation=gelu"), ("lenet-fashion", "pool=median"),
           ("pytorch-apis", "lr_fc=-1"), ("mnist-cnn", "channels=[[32, 0]]"),
           ("dying-relu", "noise=2.0"), ("open-model", "schedule=cosine"),
           ("spatial-batchnorm", "momentum=1.5"), ("spatial-batchnorm", "train_shape=[2, 0]"),
           ("gurmukhi-reg", "l1=-0.001"), ("open-model", "weight_decay=-1.0"),
           ("batchnorm", "scale_low=0"), ("vanishing-gradients", "activations=[swish]"),
           ("lenet-fashion-best", "fast_label_smoothing=1.0"), ("mnist-mlp", "shift=-2"),
           # rules a study declares for its own settings
           ("vanishing-gradients", "settings=['plain', 'nosuch']"),
           ("update-rules", "rules=[['sgd', -1.0]]"), ("update-rules", "rules=[['sgdd', 0.01]]"),
           ("conv-speed", "conv_cases=[['x', [0, 3, 9, 9], [4, 3, 3, 3], 1, 1]]"),
           ("lenet-fashion", "variants=['baselin']"), ("playground-init", "inits=['xavier']"),
           ("mnist-mlp", "candidates=[[100, [[0]]]]"), ("layer-checks", "groups=['nosuch']"),
           ("lr-weight-scale", "configs=[[0.001]]"),
           ("conv-nets", "deep_variants=[['x', 1, 1e-3]]")]


@pytest.mark.parametrize("name, setting", REFUSED)
def test_a_setting_checked_by_its_name_refuses_a_bad_value(name, setting):
    with pytest.raises(ConfigError, match=setting.partition("=")[0]):
        configs.resolve(registry.get(name), [setting])


SETTINGS = [(name, key) for name, exp in sorted(registry.all_experiments().items())
            for key in dataclasses.asdict(exp.config())]
LITERALS = st.one_of(st.integers(-10, 10).map(str), st.floats(-2, 2).map(repr),
                     st.sampled_from(["[]", "[0]", "[-1, 2]", "[[0, 1]]", "()", "''", "x",
                                      "None", "true", "[1.5]", "1e400", "nan"]))


@QUICK
@given(setting=st.sampled_from(SETTINGS), text=LITERALS)
def test_any_value_of_any_setting_is_taken_or_refused_with_a_config_error(setting, text):
    """No value given to --set gets past the checks into an error of another kind."""
    name, key = setting
    try:
        configs.resolve(registry.get(name), [f"{key}={text}"])
    except ConfigError:
        pass


def test_bool_is_not_an_int_nor_a_float():
    exp = registry.get("quickstart")
    for setting in ("epochs=True", "epochs=false", "learning_rates=[True]", "hidden_dims=[1.5]"):
        with pytest.raises(ConfigError):
            configs.resolve(exp, [setting])


def _toy(config_cls):
    return registry.Experiment("toy", "-", "toy", "1 s", config_cls)


def test_a_config_declares_its_own_rules():
    @dataclasses.dataclass
    class ByMetadata:
        momentum: float = dataclasses.field(
            default=0.9, metadata={"check": lambda v: None if 0 <= v < 1 else "must be in [0, 1)"})

    with pytest.raises(ConfigError, match="momentum=1.5: must be in"):
        configs.resolve(_toy(ByMetadata), ["momentum=1.5"])
    assert configs.resolve(_toy(ByMetadata), ["momentum=0"])["momentum"] == 0.0

    @dataclasses.dataclass
    class ByTable:
        checks = {"width": lambda v: None if v % 2 == 0 else "must be even"}
        width: int = 4

    with pytest.raises(ConfigError, match="width=3: must be even"):
        configs.resolve(_toy(ByTable), ["width=3"])


def test_a_config_dataclass_refusing_its_values_is_a_config_error():
    @dataclasses.dataclass
    class Validating:
        low: int = 1
        high: int = 2

        def __post_init__(self):
            if self.low > self.high:
                raise ValueError("low must not exceed high")

    with pytest.raises(ConfigError, match="low must not exceed high"):
        configs.resolve(_toy(Validating), ["low=5"])


SCALARS = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.booleans(),
                    st.text(max_size=8), st.none())


@QUICK
@given(default=st.one_of(SCALARS, st.tuples(st.integers(0, 9), st.integers(0, 9)),
                         st.just(()), st.tuples(st.floats(0, 1))),
       text=st.one_of(st.text(max_size=40), st.from_regex(r"[\[\(]?[-\d\., eE]*[\]\)]?"),
                      st.sampled_from(["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
                                       "1j", "{1, 2}", "b'x'", "1e999", "nan", "[nan]", "None",
                                       "'x'", "[1, 'a']", "(1,)", "[True]", "\x00", "9" * 5000])))
def test_set_parser_gives_the_default_type_or_a_config_error(default, text):
    try:
        value = configs._parse(text, default, "key")
    except ConfigError:
        return
    if default is None:
        return
    assert type(value) is type(default)
    if isinstance(default, tuple) and default:
        assert all(type(v) is type(default[0]) for v in value)


# 2. --threads ---------------------------------------------------------------------------------

def test_threads_refuses_negative_and_absurd_counts():
    from layerlab.lab.cli import check_threads

    for n in (-1, 100000):
        with pytest.raises(ConfigError, match="--threads"):
            check_threads(n)
    check_threads(0)
    check_threads(1)


# 3. update rules refuse unknown keys ----------------------------------------------------------

@pytest.mark.parametrize("rule", sorted(optim.UPDATE_RULES))
def test_update_rules_refuse_unknown_keys(rule):
    update = optim.UPDATE_RULES[rule]
    with pytest.raises(ValueError, match="learnig_rate.*learning_rate"):
        update(np.ones(3), np.ones(3), {"learnig_rate": 0.1})
    w, config = update(np.ones(3), np.ones(3), {"learning_rate": 0.1})
    update(w, np.ones(3), config)  # the rule's own state keys are known


# 4. activations compute in floating point -----------------------------------------------------

def test_activations_of_integer_arrays_are_correct():
    x = np.array([-2, 0, 1, 3])
    out, _ = layers.Sigmoid.forward(x)
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-x.astype(float))))
    out, _ = layers.LeakyReLU.forward(x)
    np.testing.assert_allclose(out, [-0.02, 0, 1, 3])
    for layer in layers.ACTIVATIONS.values():
        out, cache = layer.forward(x)
        assert out.dtype == np.float64
        assert layer.backward(np.ones(4), cache).dtype == np.float64


def test_activations_keep_float32():
    x = np.array([-1.0, 2.0], dtype=np.float32)
    for layer in layers.ACTIVATIONS.values():
        assert layer.forward(x)[0].dtype == np.float32


DTYPES = st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.bool_,
                          np.float16, np.float32, np.float64])


@QUICK
@given(dtype=DTYPES, shape=st.lists(st.integers(0, 4), min_size=0, max_size=3),
       data=st.data())
def test_activations_give_finite_floats_for_finite_input(dtype, shape, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    elif dtype is np.bool_:
        x = rng.integers(0, 2, size=shape).astype(bool)
    else:
        big = float(np.finfo(dtype).max)
        x = (rng.uniform(-1, 1, size=shape) * data.draw(st.sampled_from([1, 1e3, big]))
             ).astype(dtype)
    for name, layer in layers.ACTIVATIONS.items():
        out, cache = layer.forward(x)
        assert np.issubdtype(out.dtype, np.floating), name
        assert out.shape == x.shape and np.isfinite(out).all(), name


# 5. FullyConnectedNet refuses impossible shapes and unknown words -----------------------------

@pytest.mark.parametrize("kwargs, argument", [
    ({"hidden_dims": [0]}, "hidden_dims"), ({"hidden_dims": [-5]}, "hidden_dims"),
    ({"hidden_dims": [2.5]}, "hidden_dims"), ({"hidden_dims": [10], "num_classes": 1},
                                              "num_classes"),
    ({"hidden_dims": [10], "input_dim": 0}, "input_dim"),
    ({"hidden_dims": [10], "input_dim": -3}, "input_dim"),
    ({"hidden_dims": [10], "normalization": "foo"}, "normalization"),
    ({"hidden_dims": [10], "weight_scale": "foo"}, "weight_scale"),
    ({"hidden_dims": [10], "weight_scale": -1.0}, "weight_scale"),
    ({"hidden_dims": [10], "dropout": 1.0}, "dropout"),
    ({"hidden_dims": [10], "init": "nosuch"}, "init"),
])
def test_fully_connected_net_refuses_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        FullyConnectedNet(**kwargs)


def test_fully_connected_net_still_takes_good_arguments():
    FullyConnectedNet([], input_dim=4, num_classes=2)
    FullyConnectedNet((5, 3), input_dim=4, num_classes=2, weight_scale="kaiming",
                      normalization="layernorm", dropout=0.5)
    FullyConnectedNet([np.int64(5)], input_dim=np.int64(4), num_classes=2, weight_scale=0.0)
    with pytest.raises(ValueError, match="hidden_dim"):
        TwoLayerNet(hidden_dim=0)


# 8. the real command line: exit 2, one line, no traceback -------------------------------------

def _layerlab(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


BAD_COMMANDS = [
    *[["run", "quickstart", "--set", s] for s in BAD_SETTINGS],
    ["run", "quickstart", "--threads", "-1"], ["run", "quickstart", "--threads", "100000"],
    ["summary", "--input", "3x32x32", "conv:-8,k=5"], ["summary", "--input", "10", "fc:-5"],
    ["summary", "--input", "10", "dropout:1.5"], ["summary", "--input", "3x8x8", "gn:0"],
    ["pool", "1 nan; 3 4"], ["pool", "--stride", "0", "1 2; 3 4"],
    ["pool", "--size", "0", "1 2; 3 4"],
]


@pytest.mark.parametrize("args", BAD_COMMANDS, ids=" ".join)
def test_bad_commands_fail_with_one_line(args, tmp_path):
    result = _layerlab(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "runs").exists()  # refused before a run folder is made
