"""The `probes` setting every experiment takes: "off" (the default) or "every:K".

    layerlab run NAME --set probes=every:10

It is a run-level setting: `layerlab.lab.config` accepts it for every experiment and keeps it
in config.json only when it is given; the cell trainers (`layerlab.trainers`) read it from the
run and probe their cells every K steps.
"""

from __future__ import annotations

OFF = "off"
FORMAT_HINT = "write probes=off or probes=every:K with K an int >= 1, like every:10"


def problem(value) -> str | None:
    """The text of what is wrong with a probes value, or None when it is fine."""
    if value == OFF:
        return None
    if isinstance(value, str) and value.startswith("every:"):
        k = value.removeprefix("every:")
        if k.isdigit() and int(k) >= 1:
            return None
    return f"not a probes value: {FORMAT_HINT}"


def every(value) -> int | None:
    """K of "every:K", None for "off"; ValueError (one line, the fix) for anything else."""
    wrong = problem(value)
    if wrong:
        raise ValueError(f"probes={value}: {wrong}")
    return None if value == OFF else int(value.removeprefix("every:"))


def run_every(run) -> int | None:
    """K of the run's probes setting (None: off, also for a run made without the setting)."""
    return every(run.config.get("probes", OFF))
