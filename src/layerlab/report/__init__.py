"""Reports of runs: verdicts against reference figures, plots, Markdown and HTML."""
