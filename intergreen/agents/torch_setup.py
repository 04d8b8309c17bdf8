"""Torch settings for the agents' processes."""

from __future__ import annotations


def configure_torch() -> None:
    """One torch thread per process (the parallelism is across SUMO processes and runs: on
    2 cores torch's own threads slow small-network updates many times over), and no argument
    validation in torch.distributions (SB3 builds a Categorical on every prediction and
    minibatch; validating its logits costs ~20% of a small policy's forward pass and checks
    nothing a finite network output could break)."""
    import torch

    torch.set_num_threads(1)
    torch.distributions.Distribution.set_default_validate_args(False)
