"""Questions answered by calculation or by tiny networks, with code that checks itself.

shapes (output shapes and parameter counts by formula), spec (layer words of the command
line), convert (specs of scratch and PyTorch models), pooling (by hand), feasibility (exact
Fourier-Motzkin), logic (OR/XOR networks and linear separability), batchnorm (the S4 backward
formulas), cli (`layerlab summary`, `layerlab pool`). See docs/theory.md.
"""
