"""Data parallelism for the PPO loop through accelerate / torch.distributed: one process per device.

Launched with `accelerate launch` (or torchrun) every process runs the same loop on its share of
each batch; with a plain `python -m training ppo` the world is one process and every helper here is
the identity.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")
SEED_STRIDE = 1_000_003
"""Ranks seed with seed + rank * SEED_STRIDE, so rank 0 of any run reproduces the one-process stream."""


@dataclass(frozen=True)
class ProcessGroup:
    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def seed(self, seed: int) -> int:
        return seed + self.rank * SEED_STRIDE

    def shard(self, items: Sequence[T]) -> list[T]:
        """This rank's contiguous share of a global batch; the length must divide evenly."""
        if len(items) % self.world:
            raise ValueError(f"a batch of {len(items)} does not split evenly over {self.world} processes")
        size = len(items) // self.world
        return list(items[self.rank * size : (self.rank + 1) * size])

    def all_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Element-wise sum over processes (a new tensor; the input is left alone)."""
        out = tensor.detach().clone()
        if self.distributed:
            dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    def mean_floats(self, values: dict[str, float], *, summed: Iterable[str] = ()) -> dict[str, float]:
        """Statistics gathered over processes: means of per-rank values (equal shares), sums for `summed`."""
        if not self.distributed:
            return dict(values)
        keys = sorted(values)
        totals = self.all_sum(torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self.device))
        summed = set(summed)
        return {
            k: float(t) if k in summed else float(t) / self.world for k, t in zip(keys, totals.tolist(), strict=True)
        }

    def gradients_average(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """DDP's gradient averaging: one all-reduce over the flattened gradients of every trainable tensor."""
        if not self.distributed:
            return
        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1).to(torch.float32) for g in grads])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Run the body on the main process first (e.g. building a cached model), then on the others."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()


def launched_rank() -> int:
    """This process's global rank as torchrun / accelerate launch set it (0 when not launched)."""
    import os

    return int(os.environ.get("RANK", "0"))


def process_group(device: str | None = None) -> ProcessGroup:
    """This process's rank, the world size and its device, from accelerate's launch environment.

    `device="cpu"` forces CPU (gloo); None takes each rank's GPU when there is one.
    """
    from accelerate import PartialState

    # Without CUDA only cpu=True joins a launched group (gloo); otherwise every rank would think it is alone.
    state = PartialState(cpu=device == "cpu" or not torch.cuda.is_available())
    chosen = torch.device(device) if device and device != "cpu" and state.num_processes == 1 else state.device
    if chosen.type == "cpu":
        chosen = torch.device("cpu")
    return ProcessGroup(rank=state.process_index, world=state.num_processes, device=chosen)


def masked_whiten_global(
    values: torch.Tensor, mask: torch.Tensor, group: ProcessGroup, *, shift_mean: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """masked_whiten over the whole batch across processes (unbiased variance, as the one-process version)."""
    from training.ppo.math import masked_whiten

    if not group.distributed:
        return masked_whiten(values, mask, shift_mean=shift_mean, eps=eps)
    mask_f = mask.to(torch.float64)
    v = values.to(torch.float64)
    sums = group.all_sum(torch.stack([(v * mask_f).sum(), (v * v * mask_f).sum(), mask_f.sum()]))
    total, squares, count = sums.unbind()
    if count < 2:
        raise ValueError("masked_whiten_global: an unbiased variance needs at least two masked elements")
    mean = total / count
    variance = (squares / count - mean**2) * count / (count - 1)
    whitened = (v - mean) * torch.rsqrt(variance + eps)
    if not shift_mean:
        whitened = whitened + mean
    return (whitened * mask_f).to(values.dtype)
