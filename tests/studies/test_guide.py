"""docs/write_a_study.md shows its example study in full: that copy is the registered module."""

import re
from pathlib import Path

from layerlab.lab import registry
from layerlab.studies import STUDY_MODULES, quickstart

ROOT = Path(__file__).resolve().parents[2]


def test_the_guide_shows_the_registered_example_study_in_full():
    guide = (ROOT / "docs" / "write_a_study.md").read_text()
    shown = re.search(r"```python\n(.*?)```", guide, re.S).group(1)
    source = Path(quickstart.__file__).read_text()
    assert shown == source
    assert len(source.splitlines()) <= 120
    assert "layerlab.studies.quickstart" in STUDY_MODULES
    assert registry.get("quickstart").fn is quickstart.quickstart
