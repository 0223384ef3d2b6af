"""S7 playground studies on the 2-D toy sets, with the scratch engine: `playground-init`
(init.py), `dying-relu` (dying.py), `or-xor` (or_xor.py); the net, its training and what is
measured in measure.py. An "iteration" is one pass over the training set in minibatches; the
output is a two-class softmax (the engine's loss), not the playground's tanh unit with squared
error."""

from layerlab.studies.s7_playground import dying, init, or_xor  # noqa: F401 (registers them)
