"""The real CLI in a fresh interpreter in which `import torch` fails as it does when PyTorch is
not installed (ModuleNotFoundError naming 'torch'): `python -c WITHOUT_TORCH ARGS...`."""

WITHOUT_TORCH = """
import sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTorch())
from layerlab.cli import main
sys.exit(main(sys.argv[1:]))
"""
