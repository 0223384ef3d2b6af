"""Data-parallel training under torchrun: PyTorch's DistributedDataParallel inside `fit`.

    torchrun --nproc-per-node 2 -m layerlab run lenet-fashion --quick

torchrun starts N processes and gives each RANK, LOCAL_RANK and WORLD_SIZE. `setup(device)`
(called by `train_cell`) joins them into one process group: gloo on the CPU, NCCL on GPUs.
Then `fit` trains through `data_parallel(model)`:

- every process draws the same order of global batches (`Batches`, one seed) and trains on its
  shard of each, rows rank, rank + N, rank + 2N, ... (`ShardedBatches`): the batch size is the
  GLOBAL batch, each process takes batch / N of it;
- DistributedDataParallel averages the gradients over the processes; each shard's loss is
  weighted by its share of the global batch, so the update is the single-process update on the
  same global batch (to float rounding), even for a last batch that does not split evenly;
- the step loss and the epoch's training accuracy are summed over the processes, so every
  process sees the global figures (and stops at the same step if the run diverges);
- the evaluation after each epoch runs once, on rank 0, and its figures are sent to the others.

torch's own DistributedSampler is not used: it pads the data with repeated examples to split it
evenly and draws its own order, so a run would not equal single-process training.
Batchnorm layers keep per-process batch statistics (DDP's default; SyncBatchNorm needs GPUs).
Outside torchrun (or with one process) `data_parallel` returns `OneProcess`, which changes
nothing: `fit` runs exactly as before.
"""

from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def world_size() -> int:
    """The number of processes torchrun started (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank under torchrun (0 outside torchrun: the one that writes)."""
    return int(os.environ.get("RANK", "0"))


def active() -> bool:
    """True when torch.distributed runs more than one process (the process group is set up)."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def processes() -> int:
    """The processes training together: torch.distributed's world size, else 1."""
    return dist.get_world_size() if active() else 1


def is_writer() -> bool:
    """True for the process that writes the run folder: rank 0, or the only process."""
    return not active() or dist.get_rank() == 0


def setup(device: torch.device) -> bool:
    """Join torchrun's process group once per process (gloo on the CPU, NCCL for CUDA), from
    the environment torchrun sets; True when training is data-parallel."""
    if world_size() > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(teardown)
    return active()


def teardown() -> None:
    """Leave the process group, if this process joined one. Registered at exit by `setup`: a
    process that exits with its group still up can die of SIGABRT while the interpreter shuts
    down (gloo's worker threads still hold tensors), failing a run that finished."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def share(value):
    """Rank 0's `value` on every process (a picklable object); the value itself outside
    torch.distributed. Every process must call it at the same point."""
    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class ShardedBatches:
    """This process's shard of every global batch of `batches` (a `Batches`): the global
    batches come in the same order in every process (one generator, one seed), and process
    `rank` of `world` takes rows rank, rank + world, ... of each. Only the shard is gathered.
    `generator` is the global order's, so fit's checkpoint code sees what it expects."""

    def __init__(self, batches, rank: int, world: int):
        self.batches, self.rank, self.world = batches, rank, world
        self.generator = batches.generator

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        b = self.batches
        n = len(b.y)
        # the same order and cuts as Batches.__iter__, then this process's rows of each cut
        order = torch.randperm(n, generator=b.generator) if b.shuffle else torch.arange(n)
        for i in range(len(b)):
            idx = order[i * b.batch_size:(i + 1) * b.batch_size][self.rank::self.world]
            yield b.X[idx], b.y[idx]


class OneProcess:
    """`fit` in one process: every hook leaves things as they are."""

    world = 1

    def __init__(self, model):
        self.net = model

    def seed(self, seed: int) -> int:
        return seed

    def shard(self, batches):
        return batches

    def loss(self, loss_fn):
        return loss_fn

    def total(self, count: int) -> int:
        return count

    def once(self, fn):
        return fn()


class DataParallel(OneProcess):
    """`fit` under torch.distributed: `net` is the model wrapped in DistributedDataParallel
    (which makes every process start from rank 0's weights), and the hooks shard the batches,
    weight the loss, sum counts and run the evaluation once (module doc)."""

    def __init__(self, model):
        super().__init__(model)
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        device = next(model.parameters()).device
        self.net = DistributedDataParallel(
            model, device_ids=[device] if device.type == "cuda" else None)

    def seed(self, seed: int) -> int:
        # dropout masks and augmentations: rank 0 draws what one process would, the others
        # their own streams (one stream everywhere would give every shard the same masks)
        return seed + self.rank * 2 ** 32

    def shard(self, batches):
        return ShardedBatches(batches, self.rank, self.world)

    def loss(self, loss_fn):
        """loss_fn on a shard, as a loss whose value is the global batch's mean loss and whose
        gradient, once DDP has averaged it over the processes, is the global batch's."""
        def shard_loss(logits, yb):
            n = len(yb)
            local = loss_fn(logits, yb) if n else logits.sum() * 0.0  # an empty shard
            both = torch.stack([local.detach() * n, torch.tensor(float(n), device=local.device)])
            dist.all_reduce(both)
            global_sum, global_n = both.unbind()
            # DDP divides the summed gradients by world: weight this shard by its share
            weighted = local * (self.world * n / global_n)
            # the value of the global mean, the gradient of the weighted shard loss
            return weighted + (global_sum / global_n - weighted).detach()
        return shard_loss

    def total(self, count: int) -> int:
        t = torch.tensor(count, dtype=torch.int64,
                         device=next(self.net.parameters()).device)
        dist.all_reduce(t)
        return int(t)

    def once(self, fn):
        return share(fn() if self.rank == 0 else None)


def data_parallel(model, checkpoint_path=None) -> OneProcess:
    """DataParallel(model) when torch.distributed runs more than one process, else
    OneProcess(model). fit's per-epoch checkpoint is refused there: the processes could not
    resume it together (ValueError)."""
    if not active():
        return OneProcess(model)
    if checkpoint_path is not None:
        raise ValueError("fit under torch.distributed keeps no checkpoint (checkpoint_path "
                         "must be None): the processes could not resume it together")
    return DataParallel(model)


def private_folder() -> str:
    """A temporary folder for the run of a process other than rank 0 under torchrun: it trains
    its shards of every cell but writes nothing the user sees; removed when it exits."""
    import atexit
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix=f"layerlab-rank{rank()}-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return os.path.join(path, "run")
