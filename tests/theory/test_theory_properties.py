"""Properties of `layerlab summary` and `layerlab pool` over random input: an answer that makes
sense, or a ValueError that says what is wrong; never another exception."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerlab.theory import shapes
from layerlab.theory.pooling import engine_pool, format_matrix, parse_matrix, pool_by_hand
from layerlab.theory.spec import parse_layer, parse_layers

QUICK = settings(max_examples=200, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("word, rule", [
    ("conv:-8,k=5", "filter count"), ("conv:0", "filter count"), ("conv:8x8", "filter count"),
    ("fc:-5", "width"), ("fc:0", "width"), ("fc:5x5", "width"), ("gn:0", "groups"),
    ("dropout:1.5", "drop probability"), ("dropout:-0.1", "drop probability"),
    ("dropout:abc", "drop probability"), ("dropout:nan", "drop probability"),
    ("maxpool:2,p=-1", "p"), ("maxpool:2,p=1x2", "p"), ("conv:8,p=-1", "p"),
])
def test_layer_words_with_impossible_values_are_refused(word, rule):
    with pytest.raises(ValueError, match=rf"layer '{word}'.*{rule}"):
        parse_layer(word)


def test_specs_refuse_impossible_values_themselves():
    for make in (lambda: shapes.Linear(-5), lambda: shapes.Conv2d(0, 3),
                 lambda: shapes.GroupNorm(0), lambda: shapes.Pool2d("max", 2, None, -1)):
        with pytest.raises(ValueError):
            make()


SIZES = st.one_of(st.integers(-3, 12).map(str),
                  st.tuples(st.integers(-1, 6), st.integers(-1, 6)).map(lambda p: f"{p[0]}x{p[1]}"),
                  st.sampled_from(["same", "valid", "", "x", "1.5", "nan"]))
WORDS = st.one_of(
    st.builds(lambda n: f"fc:{n}", SIZES),
    st.builds(lambda n, k, s, p, d: f"conv:{n},k={k},s={s},p={p},d={d}",
              SIZES, SIZES, SIZES, SIZES, SIZES),
    st.builds(lambda kind, k, s, p: f"{kind}:{k},s={s},p={p}",
              st.sampled_from(["maxpool", "avgpool"]), SIZES, SIZES, SIZES),
    st.builds(lambda g: f"gn:{g}", SIZES),
    st.builds(lambda p: f"dropout:{p}", st.one_of(st.floats(allow_nan=True).map(str), SIZES)),
    st.sampled_from(["bn", "ln", "flatten", "relu", "softmax", "dropout", "bogus:1", "fc"]),
)
INPUTS = st.one_of(st.tuples(st.integers(1, 40)),
                   st.tuples(st.integers(1, 8), st.integers(1, 40), st.integers(1, 40)))


@QUICK
@given(words=st.lists(WORDS, min_size=1, max_size=4), shape=INPUTS)
def test_summaries_of_random_specs_make_sense_or_say_why_not(words, shape):
    try:
        summary = shapes.summarize(parse_layers(words), shape)
    except ValueError as err:
        assert str(err).startswith(("layer ", "unknown layer")), err
        return
    assert summary.total >= 0
    for row in summary.rows:
        assert row.count >= 0 and row.shape and all(d >= 1 for d in row.shape), row
    summary.format()


def _text(rows):
    return "; ".join(" ".join(repr(float(v)) for v in row) for row in rows)


FINITE = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)


@QUICK
@given(data=st.data(), size=st.integers(1, 3), stride=st.integers(1, 3),
       positions=st.tuples(st.integers(1, 3), st.integers(1, 3)))
def test_pooling_by_hand_agrees_with_the_engine(data, size, stride, positions):
    H, W = ((n - 1) * stride + size for n in positions)
    rows = data.draw(st.lists(st.lists(FINITE, min_size=W, max_size=W), min_size=H, max_size=H))
    m = parse_matrix(_text(rows))
    for kind in ("max", "avg"):
        ours, engine = pool_by_hand(m, kind, size, stride), engine_pool(m, kind, size, stride)
        np.testing.assert_allclose(ours, engine, rtol=1e-12, atol=1e-300)
        format_matrix(ours)


@QUICK
@given(rows=st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1,
                              max_size=4), min_size=1, max_size=4))
def test_non_finite_or_ragged_matrices_are_refused(rows):
    text = _text(rows)
    finite = all(np.isfinite(v) for row in rows for v in row)
    if finite and len({len(r) for r in rows}) == 1:
        assert parse_matrix(text).shape == (len(rows), len(rows[0]))
        return
    with pytest.raises(ValueError, match="matrix"):
        parse_matrix(text)


@pytest.mark.parametrize("size, stride, rule", [(0, 2, "size"), (-1, 2, "size"),
                                                (2, 0, "stride"), (2, -2, "stride")])
def test_pooling_refuses_windows_and_strides_below_one(size, stride, rule):
    with pytest.raises(ValueError, match=rule):
        pool_by_hand(np.ones((4, 4)), "max", size, stride)
