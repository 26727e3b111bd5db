"""Best-of-n policies: a Policy row whose metadata names its base policy, a reward-model folder and n.
Sampling one is `python -m training sample --best-of-n N` over the base model; every other policy samples its own
model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labeling.models import Policy

BEST_OF_N = "best_of_n"


@dataclass(frozen=True)
class BestOfN:
    base: Policy
    """The policy whose model samples the n candidates (never itself best-of-n)."""
    reward_model_dir: Path
    n: int

    def arguments(self) -> list[str]:
        """The options of `python -m training sample|evaluate` that select this policy over its base's model."""
        return ["--best-of-n", str(self.n), "--ranking-model", str(self.reward_model_dir)]

    def figures(self, *, kl_analytic: float, kl_measured: float | None) -> dict[str, float | None]:
        """What an evaluation reports of this policy in place of a per-token KL."""
        return {
            "best_of_n": self.n,
            "best_of_n_base": self.base.id,
            "kl_analytic": kl_analytic,
            "kl_measured": kl_measured,
        }


def policy_best_of_n(policy: Policy) -> BestOfN | None:
    """The best-of-n description of `policy`, or None for a policy that samples its own model."""
    meta = policy.metadata or {}
    if meta.get("optimizer") != BEST_OF_N:
        return None
    base = Policy.objects.get(id=meta["base_policy"])
    return BestOfN(base=base, reward_model_dir=Path(meta["reward_model_dir"]), n=int(meta["n"]))


def policy_model(policy: Policy) -> Policy:
    """The policy whose weights `policy` samples: its base for best-of-n, else itself."""
    best = policy_best_of_n(policy)
    return best.base if best is not None else policy
