"""Per-layer probes of training in both engines: `stats` (the statistics from arrays),
`store` (the run's probe files and their reader), `setting` (the run-level `probes` setting),
`scratch` (the scratch engine's models under the Solver) and `torch` (PyTorch modules under
`fit`). docs/probes.md describes the statistics and the file format."""
