"""A few steps of LeNet-5 through `fit` on fixed random images: run alone, or under torchrun
(data-parallel, gloo on the CPU). Both ways train on the same global batches; the writing
process saves the final weights and history to OUT.

    python tests/scaling/ddp_lenet.py OUT [BATCH]
    torchrun --standalone --nproc-per-node 2 tests/scaling/ddp_lenet.py OUT [BATCH]
"""

import atexit
import sys

import torch

from layerlab.pytorch import LeNet5, distributed, fit, set_seed

ROWS = 41  # 41 = 16 + 16 + 9: the last global batch splits 5 + 4 over two processes


def report_exit() -> None:
    """Runs after `distributed.teardown` (exit handlers run last registered first)."""
    if distributed.world_size() > 1:
        print(f"process group left at exit: {not torch.distributed.is_initialized()}")


def main(out: str, batch_size: int) -> None:
    torch.set_num_threads(1)
    atexit.register(report_exit)
    distributed.setup(torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    X = torch.randn(ROWS + 20, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (ROWS + 20,), generator=g)
    data = {"X_train": X[:ROWS], "y_train": y[:ROWS], "X_val": X[ROWS:], "y_val": y[ROWS:]}
    set_seed(0)
    model = LeNet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = fit(model, data, opt, epochs=2, batch_size=batch_size, seed=0)
    if distributed.is_writer():
        torch.save({"weights": model.state_dict(), "history": history,
                    "processes": distributed.processes()}, out)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 16)
