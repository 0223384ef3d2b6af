"""Where a PyTorch study trains: the `device` setting (auto, cpu, cuda, cuda:N, mps).

    choose_device("auto")   # cuda when a CUDA device is present, else cpu
    choose_device("cuda:1") # DeviceError (one line, with the fix) where there is no such GPU

`auto` picks CUDA when PyTorch sees a CUDA device, else the CPU. It never picks Apple's MPS:
MPS has no float64 and gives other numbers than the CPU, so a Mac user gets it only by asking
(`device=mps`). Under torchrun (`distributed.world_size() > 1`), `auto` and `cuda` mean the GPU
of the process's local rank (cuda:LOCAL_RANK), and `cuda:N` is refused: every process would
share that one GPU.
"""

from __future__ import annotations

import os
import re

import torch

WORDS = "auto, cpu, cuda, cuda:N or mps"
_SYNTAX = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


class DeviceError(ValueError):
    """A device that is not a device word, or that this machine does not have: the message is
    one line naming the problem and the fix."""


def _local_rank() -> int | None:
    """The process's local rank under torchrun with more than one process, else None."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return int(os.environ.get("LOCAL_RANK", "0"))
    return None


def _auto(word: str) -> str:
    """The device word `auto` stands for here (cuda when PyTorch sees a GPU, else cpu)."""
    if word != "auto":
        return word
    return "cuda" if torch.cuda.is_available() else "cpu"


def device_problem(word) -> str | None:
    """None when `word` names a device this process can train on; else the problem and the
    fix, in one line (the config rule of the `device` setting)."""
    if not isinstance(word, str) or not _SYNTAX.fullmatch(word):
        return f"a device is one of {WORDS}"
    word = _auto(word)
    fix = "; use --set device=cpu (or auto)"
    if word.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            return f"no CUDA device on this machine (PyTorch {torch.__version__} sees none){fix}"
        index = int(word[5:]) if ":" in word else None
        local = _local_rank()
        if index is not None and local is not None:
            return ("cuda:N under torchrun would put every process on one GPU; use "
                    "--set device=cuda (each process takes the GPU of its local rank)")
        wanted = index if index is not None else (local or 0)
        if wanted >= count:
            return f"no GPU cuda:{wanted} on this machine (it has {count}){fix}"
    if word == "mps" and not torch.backends.mps.is_available():
        return f"no MPS device (Apple GPU) on this machine{fix}"
    return None


def choose_device(word: str | None = "auto") -> torch.device:
    """The torch.device for a `device` setting (None, as in a run made before the setting
    existed, is 'auto'). Raises DeviceError (one line) for a word that names no device or a
    device this machine lacks."""
    word = word or "auto"
    problem = device_problem(word)
    if problem:
        raise DeviceError(f"device {word}: {problem}")
    word = _auto(word)
    if word == "cuda":
        return torch.device("cuda", _local_rank() or 0)
    return torch.device(word)


def describe() -> dict:
    """What this machine offers PyTorch, for env.json: {'auto': the device auto picks,
    'cuda': [GPU names], 'mps': available or not, 'processes': torchrun's WORLD_SIZE (1
    outside torchrun)}."""
    cuda = ([torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            if torch.cuda.is_available() else [])
    return {"auto": str(choose_device("auto")), "cuda": cuda,
            "mps": bool(torch.backends.mps.is_available()),
            "processes": int(os.environ.get("WORLD_SIZE", "1"))}


def to_device(data: dict, device: torch.device) -> dict:
    """The tensors of `data` on `device`, moved once (the same tensors when they are there
    already, so on the CPU nothing is copied)."""
    return {k: v.to(device) for k, v in data.items()}


def on_cpu(transform, device: torch.device):
    """A batch transform run on the CPU for a batch on `device`: the augmentations draw their
    random numbers from the CPU generator and build CPU tensors, so an augmented batch gets the
    same random draws on every device (None stays None; on the CPU it is the transform)."""
    if transform is None or device.type == "cpu":
        return transform
    return lambda xb: transform(xb.cpu()).to(device)
