"""S7 playground studies on the 2-D toy sets, with the scratch engine: `playground-init`
(init.py), `dying-relu` (dying.py), `or-xor` (or_xor.py); the net, its training and what is
measured in measure.py. Every training run draws its decision boundary, P(+1) - P(-1) over the
plane. An "iteration" is one pass over the training set in minibatches; the output is a
two-class softmax (the engine's loss), not the playground's tanh unit with squared error.
"""

from layerlab.studies.s7_playground import dying, init, or_xor  # noqa: F401 (registers them)
from layerlab.studies.s7_playground.measure import (  # noqa: F401 (the package's API)
    best_line_error,
    chance_error,
    dead_units,
    decision_grid,
    distinct_units,
    playground_net,
    train,
    unit_spread,
)
