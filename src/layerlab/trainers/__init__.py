"""Training one grid cell: the scratch engine's Solver (`solver_cell`) and PyTorch
(`torch_cell`, `torch_fit`), checkpointed and resumable, streaming metrics into the run folder."""
