"""Models: parameter and hidden-unit counts by hand, the scratch twin, the budget checker."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from layerlab.pytorch import (  # noqa: E402
    S8_CNN_LAYERS,
    S8_MLP_LAYERS,
    BudgetMLP,
    LeNet5,
    SmallCNN,
    check_budget,
)
from layerlab.scratch.conv_models import LeNet5 as ScratchLeNet5  # noqa: E402


def test_lenet5_counts():
    # conv1 1->6, 5x5:      6*1*25 + 6    =    156   (pad 2 keeps 28x28, pool -> 14x14)
    # conv2 6->16, 5x5:    16*6*25 + 16   =  2,416   (14 -> 10, pool -> 5x5: 16*5*5 = 400)
    # fc1 400->120:       400*120 + 120   = 48,120
    # fc2 120->84:         120*84 + 84    = 10,164
    # fc3 84->10:           84*10 + 10    =    850
    # total                                 61,706
    model = LeNet5()
    assert model.count_params() == 61_706
    assert model.hidden_units() == 120 + 84
    # batchnorm adds gamma and beta per channel: 2*6 + 2*16 = 44
    assert LeNet5(batchnorm=True).count_params() == 61_706 + 44
    # three input channels: conv1 gains 6*2*25 = 300 weights
    assert LeNet5(in_channels=3).count_params() == 61_706 + 300
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_lenet5_dropout_placement():
    both = LeNet5(dropout=0.5)
    last = LeNet5(dropout=0.5, dropout_after=("fc2",))
    assert both.drop1 is not None and both.drop2 is not None
    assert last.drop1 is None and last.drop2 is not None
    assert last.config["dropout_after"] == ["fc2"]
    # dropout before fc3 only: in train mode, fc2's output changes with the mask, fc1's does not
    torch.manual_seed(0)
    x = torch.randn(4, 1, 28, 28)
    seen = {}
    last.fc2.register_forward_hook(lambda m, i, o: seen.setdefault("fc2_in", []).append(i[0]))
    last.train()
    last(x), last(x)
    assert torch.equal(*seen["fc2_in"])  # nothing dropped between fc1 and fc2
    assert not torch.equal(last(x), last(x))  # but the output layer sees a fresh mask
    with pytest.raises(ValueError, match="dropout_after"):
        LeNet5(dropout=0.5, dropout_after=("fc3",))


def test_budget_mlp_counts():
    # 784->64->32->10: 784*64+64 + 64*32+32 + 32*10+10 = 50,240 + 2,080 + 330 = 52,650
    model = BudgetMLP([64, 32], dropout=0.1)
    assert model.count_params() == 52_650
    assert model.hidden_units() == 96
    assert {type(m).__name__ for m in model} == {"Linear", "ReLU", "Dropout"}
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)  # images are flattened
    # no hidden layer: logistic regression, 784*10 + 10 parameters, no hidden units
    assert BudgetMLP([]).count_params() == 7_850 and BudgetMLP([]).hidden_units() == 0


def test_small_cnn_counts():
    # conv 1->8 3x3: 8*9+8 = 80; bn 16; conv 8->16: 16*8*9+16 = 1,168; bn 32
    # 28 -> pool 14 -> pool 7: flatten 16*7*7 = 784; fc 784->32: 25,120; 32->10: 330
    model = SmallCNN(channels=(8, 16), fc=(32,), dropout=0.5)
    assert model.count_params() == 80 + 16 + 1_168 + 32 + 25_120 + 330
    assert model.hidden_units() == 32
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    # two convs in the first stage: another 8->8 conv (584) and its batchnorm (16)
    deeper = SmallCNN(channels=((8, 8), 16), fc=(32,), dropout=0.5)
    assert deeper.count_params() == model.count_params() + 584 + 16


def test_lenet5_matches_the_scratch_twin():
    """Same weights, same inputs: the same scores, loss and gradients as the NumPy LeNet5."""
    for batchnorm in (False, True):
        scratch = ScratchLeNet5(batchnorm=batchnorm, dtype=np.float64, seed=0)
        model = LeNet5(batchnorm=batchnorm).double()
        model.load_scratch_params(scratch.params)
        X = np.random.default_rng(1).standard_normal((4, 1, 28, 28))
        y = np.array([0, 3, 9, 3])
        loss, grads = scratch.loss(X, y)  # train mode: batch statistics, as torch's train()
        model.train()
        out = nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
        out.backward()
        assert abs(out.item() - loss) < 1e-10
        assert np.abs(model.fc1.weight.grad.numpy().T - grads["W3"]).max() < 1e-10
        assert np.abs(model.conv1.weight.grad.numpy() - grads["W1"]).max() < 1e-10
        if not batchnorm:
            scores = scratch.loss(X)
            assert np.abs(model.eval()(torch.from_numpy(X)).detach().numpy()
                          - scores).max() < 1e-10


def test_budget_accepts_a_model_within_it():
    summary = check_budget(BudgetMLP([100, 100]), max_hidden=200, min_hidden_layers=2,
                           allowed_layers=S8_MLP_LAYERS)
    assert summary == {"params": 784 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10,
                       "hidden_units": 200, "hidden_layers": 2}


def test_budget_rejects_too_many_hidden_units():
    with pytest.raises(ValueError, match=r"101 hidden units \[60, 41\] exceed the limit of 100"):
        check_budget(BudgetMLP([60, 41]), max_hidden=100)


def test_budget_rejects_too_few_hidden_layers():
    with pytest.raises(ValueError, match="1 hidden layers, fewer than the required 3"):
        check_budget(BudgetMLP([500]), max_hidden=1000, min_hidden_layers=3)


def test_budget_rejects_a_disallowed_layer():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 50), nn.Tanh(), nn.Linear(50, 10))
    with pytest.raises(ValueError, match=r"layer '0' \(Flatten\) is not allowed"):
        check_budget(model, allowed_layers=S8_MLP_LAYERS)
    with pytest.raises(ValueError, match=r"layer '2' \(Tanh\) is not allowed"):
        check_budget(model, allowed_layers=S8_MLP_LAYERS + ("Flatten",))
    # a ReLU LeNet5 still breaks the CNN rules: AvgPool2d is not in S8's list
    with pytest.raises(ValueError, match=r"layer 'pool1' \(AvgPool2d\) is not allowed"):
        check_budget(LeNet5(activation="relu"), allowed_layers=S8_CNN_LAYERS)


def test_budget_rejects_too_many_parameters_and_missing_layers():
    big = SmallCNN(channels=(64, 128), fc=(256,))  # 128*7*7*256 alone is 1.6M
    with pytest.raises(ValueError, match=r"1,\d{3},\d{3} parameters exceed the limit of 999,999"):
        check_budget(big, allowed_layers=S8_CNN_LAYERS, max_params=999_999)
    with pytest.raises(ValueError, match="needs at least one BatchNorm2d layer and has none"):
        check_budget(SmallCNN(batchnorm=False), required_layers=("Dropout", "BatchNorm2d"))
    ok = check_budget(SmallCNN(), allowed_layers=S8_CNN_LAYERS, max_params=999_999,
                      required_layers=(nn.Dropout, nn.BatchNorm2d))
    assert ok["params"] == SmallCNN().count_params() < 1_000_000
