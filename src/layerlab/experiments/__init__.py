"""Experiments: every study as `layerlab run NAME`, its run folder, sweeps and reports."""
