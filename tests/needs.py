"""`missing(reason)`: a test's requirement is absent: skip on a user's machine, fail under CI.

CI (`CI=true`, see .ci/run) is set up to have everything the tests can use (the staged real
datasets, Debian's Fashion-MNIST, a source checkout), so there a missing piece is a fault of the
set-up, not a reason to skip. `reason` names what is missing and the fix.
"""

import os

import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str):
    """Skip with `reason`, or fail with it under CI."""
    if under_ci():
        pytest.fail(f"CI must provide this (see .ci/run): {reason}")
    pytest.skip(reason)
