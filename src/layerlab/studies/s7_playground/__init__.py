"""S7 playground studies on the 2-D toy sets, with the scratch engine: `playground-init`
(init.py), `dying-relu` (dying.py), `or-xor` (or_xor.py); the net, its training and what is
measured in measure.py. Every training run draws its decision boundary: the net's
P(+1) - P(-1) over the plane, with the points, as the playground does.

The readings of the study are written into each report: an "iteration" is one pass over the
training set in minibatches of 10 (with the playground's learning rate 0.03 and random init,
uniform in [-0.5, 0.5] with biases 0.1); the output is a two-class softmax (the engine's loss),
not the playground's tanh unit with squared error; the circle set has no noise.
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
