"""The shape and parameter calculator against PyTorch and the scratch models."""

import numpy as np
import pytest
import torch
from torch import nn

from layerlab import references as ref
from layerlab.theory.convert import from_scratch, from_torch
from layerlab.theory.shapes import (
    BatchNorm,
    Conv2d,
    Flatten,
    GroupNorm,
    LayerNorm,
    Linear,
    Pool2d,
    Same,
    same_padding,
    summarize,
)
from layerlab.theory.spec import STUDY_MODELS, parse_layer, parse_layers, parse_shape


def tf_same_conv(c_in, c_out, k, s, size):
    """TensorFlow's SAME conv as PyTorch modules: explicit (asymmetric) zero padding."""
    top, bottom = same_padding(size[0], k, s)
    left, right = same_padding(size[1], k, s)
    return [nn.ZeroPad2d((left, right, top, bottom)), nn.Conv2d(c_in, c_out, k, s)]


# (name, input shape, our specs, the equivalent PyTorch layers)
CASES = [
    ("s4 mlp", (10,), [Linear(50), Same("relu"), Linear(3)],
     lambda: [nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 3)]),
    ("s4 conv same stride 2", (3, 200, 300),
     [Conv2d(100, 3, 2, "same"), Conv2d(200, 3, 2, "same"), Conv2d(400, 3, 2, "same")],
     lambda: [*tf_same_conv(3, 100, 3, 2, (200, 300)), *tf_same_conv(100, 200, 3, 2, (100, 150)),
              *tf_same_conv(200, 400, 3, 2, (50, 75))]),
    ("s8 conv", (3, 32, 32), [Conv2d(8, 5)], lambda: [nn.Conv2d(3, 8, 5)]),
    ("stride 2 pad 1", (3, 31, 31), [Conv2d(25, 3, 2, 1)],
     lambda: [nn.Conv2d(3, 25, 3, 2, 1)]),
    ("dilation", (4, 17, 19), [Conv2d(6, 3, 1, 2, 2), Same("tanh")],
     lambda: [nn.Conv2d(4, 6, 3, 1, 2, dilation=2), nn.Tanh()]),
    ("same stride 1, even kernel", (2, 9, 10), [Conv2d(5, 4, 1, "same")],
     lambda: [nn.Conv2d(2, 5, 4, padding="same")]),
    ("same, dilation", (2, 12, 12), [Conv2d(3, 3, 1, "same", 3)],
     lambda: [nn.Conv2d(2, 3, 3, padding="same", dilation=3)]),
    ("non-square", (3, 20, 16), [Conv2d(7, (3, 5), (2, 1), (1, 2))],
     lambda: [nn.Conv2d(3, 7, (3, 5), (2, 1), (1, 2))]),
    ("no bias, bn, overlapping pool that drops a row", (3, 16, 16),
     [Conv2d(8, 3, 1, 1, bias=False), BatchNorm(), Same("relu"), Pool2d("max", 3, 2)],
     lambda: [nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
              nn.MaxPool2d(3, 2)]),
    ("avg pool with padding", (4, 10, 10), [Pool2d("avg", 3, 2, 1)],
     lambda: [nn.AvgPool2d(3, 2, 1)]),
    ("group norm and layer norm", (8, 6, 6), [Conv2d(8, 3, 1, 1), GroupNorm(4), LayerNorm()],
     lambda: [nn.Conv2d(8, 8, 3, 1, 1), nn.GroupNorm(4, 8), nn.LayerNorm([8, 6, 6])]),
    ("flatten, linear, bn1d, dropout", (6, 5, 5),
     [Flatten(), Linear(30), BatchNorm(), Same("dropout"), Linear(4, bias=False)],
     lambda: [nn.Flatten(), nn.Linear(150, 30), nn.BatchNorm1d(30), nn.Dropout(0.5),
              nn.Linear(30, 4, bias=False)]),
    ("words: conv-pool-fc", (1, 28, 28),
     parse_layers(["conv:6,k=5,p=2", "relu", "maxpool:2", "conv:16,k=5", "avgpool:2",
                   "flatten", "fc:120", "ln", "fc:10"]),
     lambda: [nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
              nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.LayerNorm(120),
              nn.Linear(120, 10)]),
]


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
@pytest.mark.parametrize("name,shape,specs,layers", CASES, ids=[c[0] for c in CASES])
def test_counts_and_shapes_agree_with_pytorch(name, shape, specs, layers):
    torch.manual_seed(0)
    model = nn.Sequential(*layers()).eval()
    ours = summarize(specs, shape)
    assert ours.total == sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        out = model(torch.zeros(2, *shape))
    assert ours.output == tuple(out.shape[1:])
    # reading the PyTorch model gives the same table
    again = summarize(*reversed(from_torch(model, shape)))
    assert again.total == ours.total and again.output == ours.output


def test_the_layerlab_pytorch_models():
    from layerlab.pytorch.models import BudgetMLP, LeNet5, SmallCNN

    for model in (LeNet5(batchnorm=True, dropout=0.5), LeNet5(pool="max"),
                  SmallCNN(channels=((8, 8), 16), fc=(32, 16)), BudgetMLP([50, 50], 0.2)):
        shape, specs = from_torch(model)
        summary = summarize(specs, shape)
        assert summary.total == sum(p.numel() for p in model.parameters())
        with torch.no_grad():
            assert summary.output == tuple(model.eval()(torch.zeros(1, *shape)).shape[1:])


def test_the_scratch_models():
    from layerlab.scratch.conv_models import DeepConvNet, LeNet5, ThreeLayerConvNet
    from layerlab.scratch.models import FullyConnectedNet

    models = [FullyConnectedNet([20, 10], input_dim=12, num_classes=3,
                                normalization="batchnorm", dropout=0.3, seed=0),
              FullyConnectedNet([7], input_dim=5, normalization="layernorm", seed=0),
              ThreeLayerConvNet((3, 16, 16), num_filters=4, filter_size=4, hidden_dim=9),
              DeepConvNet((3, 8, 8), (4, 4), (0,), batchnorm=True),
              LeNet5(batchnorm=True, dropout=0.5)]
    for model in models:
        shape, specs = from_scratch(model)
        summary = summarize(specs, shape)
        assert summary.total == sum(v.size for v in model.params.values())
        scores = model.loss(np.zeros((2, *shape)))
        assert summary.output == scores.shape[1:]
        # every parameter array has the shape the calculator says, in order
        ours = [s for row in summary.rows for s in row.params.values()]
        assert ours == [v.shape for v in model.params.values()]


def test_the_three_quoted_figures():
    def study(name):
        shape, words, _ = STUDY_MODELS[name]
        return summarize(parse_layers(words), parse_shape(shape))

    mlp = study("s4-mlp")
    shapes = [s for row in mlp.rows for s in row.params.values()]
    assert shapes == [ref.S4_MLP_SHAPES[k] for k in ("W_h", "b_h", "W_o", "b_o")]
    assert (mlp.input, mlp.output) == (ref.S4_MLP_SHAPES["X"][1:], ref.S4_MLP_SHAPES["Y"][1:])
    conv = study("s4-conv")
    assert tuple(r.count for r in conv.rows) == ref.S4_CONV_LAYER_PARAMS
    assert conv.total == ref.S4_CONV_TOTAL_PARAMS == 903_400
    s8 = study("s8-conv")
    C, H, W = s8.output
    assert s8.total == ref.S8_CONV_PARAMS == 608 and (H, W, C) == ref.S8_CONV_OUTPUT_HWC


def test_same_padding_gives_ceil_of_size_over_stride():
    for size in range(1, 30):
        for k in (1, 2, 3, 5):
            for s in (1, 2, 3):
                top, bottom = same_padding(size, k, s)
                assert 0 <= bottom - top <= 1
                out = summarize([Conv2d(1, k, s, "same")], (1, size, size)).output
                assert out[1] == -(-size // s)


def test_bad_words_and_shapes_name_the_fix():
    with pytest.raises(ValueError, match="unknown option 'q'.*conv:8,k=5"):
        parse_layer("conv:8,q=5")
    with pytest.raises(ValueError, match="unknown layer 'convolution:8'"):
        parse_layer("convolution:8")
    with pytest.raises(ValueError, match="say how many outputs"):
        parse_layer("fc")
    with pytest.raises(ValueError, match="CxHxW"):
        parse_shape("32x32")
    with pytest.raises(ValueError, match=r"layer 2 \(conv 3 3x3\).*image input"):
        summarize([Linear(4), Conv2d(3)], (10,))
    with pytest.raises(ValueError, match="does not fit"):
        summarize([Conv2d(3, 7)], (1, 5, 5))
    with pytest.raises(ValueError, match="groups must divide"):
        summarize([GroupNorm(3)], (4, 2, 2))


def test_a_wrong_input_shape_for_a_pytorch_model_is_named():
    from layerlab.pytorch.models import LeNet5

    with pytest.raises(ValueError, match="'fc1' .*expects in_features 400 but receives 576"):
        from_torch(LeNet5(), (1, 32, 32))
    with pytest.raises(ValueError, match="does not know module"):
        from_torch(nn.Sequential(nn.Conv1d(1, 2, 3)), (1, 8, 8))
