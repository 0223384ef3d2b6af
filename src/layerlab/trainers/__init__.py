"""Training one grid cell, one trainer per engine: the scratch engine's Solver
(`solver_cell.train_solver`) and PyTorch (`torch_cell.train_cell`, configured by a `Recipe`,
weights saved for `layerlab eval`), checkpointed and resumable, streaming metrics into the run
folder."""
