"""Training of the dual-branch VAE: seeded, checkpointed every epoch, resumable.

Batches hold ``batch_size`` scenarios of ONE subject, so the anatomy's cloud hierarchy,
interpolation weights (computed once per subject) and Encoder_PC pass are shared by the
batch. Adam with weight decay and a step decay of the learning rate, as paper 004; the
best epoch is the one of lowest validation loss. ``docs/inverse/model.md`` gives the
settings per profile and how they depart from the paper's.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..core import names
from ..core.store import atomic_path
from .data import Samples
from .losses import LossWeights, inference_loss
from .model import DualBranchVAE, ModelConfig

CHECKPOINT = "checkpoint.pt"
#: loss terms recorded per epoch and split
TERMS = ("total", "seg", "ce", "dice", "vae", "pc", "qrs", "kl", "compact", "size", "spa")


@dataclass(frozen=True)
class TrainingSettings:
    """Optimisation settings. Defaults are the paper's: Adam, learning rate 1e-4, weight
    decay 1e-3, batch 4, the rate halved every 6800 iterations (50 epochs of its 544
    training samples), 300 epochs."""

    epochs: int = 300
    batch_size: int = 4
    lr: float = 1e-4
    weight_decay: float = 1e-3
    decay: float = 0.5
    decay_every: int = 50
    seed: int = 0
    threads: int = 0
    weights: LossWeights = field(default_factory=LossWeights)

    def __post_init__(self):
        for name in ("epochs", "batch_size", "decay_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"TrainingSettings.{name} = {v!r}: must be a positive integer")
        if not (self.lr > 0 and self.weight_decay >= 0 and 0 < self.decay <= 1):
            raise ValueError(f"need lr > 0, weight_decay >= 0, 0 < decay <= 1 (got {self.lr}, "
                             f"{self.weight_decay}, {self.decay})")
        if isinstance(self.weights, dict):
            object.__setattr__(self, "weights", LossWeights(**self.weights))

    def to_dict(self) -> dict:
        """Plain data, for ``settings.json``."""
        return json.loads(json.dumps(asdict(self)))

    @property
    def final_lr(self) -> float:
        """The learning rate of the last epoch, after its step decays."""
        return self.lr * self.decay ** ((self.epochs - 1) // self.decay_every)


def device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_threads(threads: int = 0) -> int:
    """Torch's intra-op threads: ``threads``, or (0) one. The network's operations are
    small: on the project's 2-core machines one standard epoch takes 12 s on one thread
    and 31 s on two, so parallel work goes to separate trainings instead. Returns the
    count."""
    n = int(threads) if threads else 1
    torch.set_num_threads(n)
    return n


class SubjectCache:
    """Per-subject tensors on a device: features and the model's :meth:`geometry`
    (anatomy only), computed on first use and kept."""

    def __init__(self, model: DualBranchVAE, samples: Samples, dev: torch.device):
        self.model, self.samples, self.device, self._geo = model, samples, dev, {}

    def geometry(self, row: int) -> dict:
        """The geometry of subject ``row`` of the samples."""
        if row not in self._geo:
            f = torch.from_numpy(np.array(self.samples.features[row:row + 1])).to(self.device)
            self._geo[row] = self.model.geometry(f)
        return self._geo[row]

    def batch(self, row: int, scenarios) -> dict:
        """Loss inputs for scenarios (indices) of subject ``row``."""
        s, idx = self.samples, np.asarray(scenarios)
        g = self.geometry(row)
        b = len(idx)
        n_coarse = self.model.config.n_coarse_out
        return {"features": g["features"].expand(b, -1, -1),
                "target_coarse": g["features"][:, :n_coarse].expand(b, -1, -1),
                "qrs": torch.from_numpy(s.qrs[row, idx]).to(self.device),
                "labels": torch.from_numpy(s.labels[row, idx]).to(self.device)}


def epoch_batches(rows, n_scenarios: int, batch_size: int, seed: int, epoch: int) -> list:
    """The epoch's batches ``(row, scenario indices)``: each subject's scenarios shuffled
    and cut into batches of ``batch_size`` (the last may be smaller), the batches shuffled;
    a function of ``(seed, epoch)`` only, so a resumed run draws the same."""
    rng = np.random.default_rng([int(seed), int(epoch)])
    out = []
    for row in rows:
        perm = rng.permutation(n_scenarios)
        out += [(int(row), perm[i:i + batch_size]) for i in range(0, n_scenarios, batch_size)]
    return [out[i] for i in rng.permutation(len(out))]


@torch.no_grad()
def evaluate_loss(model: DualBranchVAE, cache: SubjectCache, rows, weights: LossWeights,
                  batch_size: int = 4) -> dict:
    """Mean loss terms over every scenario of subjects ``rows`` at the latent means, and
    the mean scar Dice of the arg-max labels (``scar_dice``)."""
    model.eval()
    sums, count, dice = {}, 0, []
    n = cache.samples.labels.shape[1]
    for row in rows:
        anatomy = model.encode_anatomy(cache.geometry(row))
        for i in range(0, n, batch_size):
            idx = np.arange(i, min(n, i + batch_size))
            batch = cache.batch(row, idx)
            out = model(cache.geometry(row), batch["qrs"], sample=False, anatomy=anatomy)
            terms = inference_loss(out, batch, weights)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(idx)
            count += len(idx)
            pred, true = out["logits"].argmax(-1), batch["labels"]
            inter = ((pred == 2) & (true == 2)).sum(1).double()
            size = (pred == 2).sum(1).double() + (true == 2).sum(1).double()
            dice += (2 * inter / size.clamp_min(1)).tolist()
    out = {k: v / max(count, 1) for k, v in sums.items()}
    out["scar_dice"] = float(np.mean(dice)) if dice else float("nan")
    return out


def _save(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def train(samples: Samples, split: dict, config: ModelConfig, settings: TrainingSettings,
          out_dir, *, init=None, progress: bool = True, log=None) -> dict:
    """Train a :class:`DualBranchVAE` on the ``split["train"]`` subjects of ``samples``,
    choosing the best epoch on ``split["validation"]``; resumable.

    ``out_dir`` receives ``checkpoint.pt`` after every epoch (model, optimiser, scheduler,
    random state, history, best weights): a rerun with the same settings continues after
    the last finished epoch (more ``epochs`` extend a finished run); with other settings
    it stops with an error naming the folder. ``init``: a folder of a trained model
    (``weights.pt``) to start from instead of the seeded initialisation (fine-tuning; its
    QRS standardisation is kept). Returns ``{"model": the best model (eval mode), "history": list of rows,
    "best_epoch", "seconds"}``.
    """
    from ..core.config import progress_bar

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    set_threads(settings.threads)
    dev = device()
    plan = {k: v for k, v in settings.to_dict().items() if k not in ("epochs", "threads")}
    key = json.dumps({"model": config.to_dict(), "training": plan,
                      "split": {k: list(split[k]) for k in ("train", "validation")},
                      "samples": [samples.origin, list(samples.scenarios)],
                      "init": str(init or "")}, sort_keys=True)
    torch.manual_seed(settings.seed)
    model = DualBranchVAE(config).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, settings.decay_every, settings.decay)
    state = {"epoch": 0, "history": [], "best_epoch": 0, "best_value": float("inf"),
             "best_state": None, "seconds": 0.0}
    ckpt = out_dir / CHECKPOINT
    if ckpt.exists():
        saved = torch.load(ckpt, map_location=dev, weights_only=True)
        if saved["key"] != key:
            raise ValueError(f"{out_dir}: holds a training with other settings, data or split; "
                             "use another run_name or remove the folder to start again")
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        sched.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["rng"])
        state = {k: saved[k] for k in state}
    cache = SubjectCache(model, samples, dev)
    train_rows = samples.rows(split["train"])
    if init is not None and state["epoch"] == 0:
        model.load_state_dict(torch.load(Path(init) / names.WEIGHTS, map_location=dev,
                                         weights_only=True))
    elif state["epoch"] == 0:
        train_qrs = samples.qrs[train_rows].reshape(-1, *samples.qrs.shape[2:])
        model.set_qrs_statistics(torch.from_numpy(train_qrs).to(dev))
    val_rows = samples.rows(split["validation"])
    n_scen = samples.labels.shape[1]
    epochs = range(state["epoch"] + 1, settings.epochs + 1)
    for epoch in progress_bar(epochs, total=len(epochs), desc="training", enabled=progress):
        t0 = time.perf_counter()
        model.train()
        sums, count = {}, 0
        for row, idx in epoch_batches(train_rows, n_scen, settings.batch_size, settings.seed,
                                      epoch):
            batch = cache.batch(row, idx)
            out = model(cache.geometry(row), batch["qrs"])
            terms = inference_loss(out, batch, settings.weights)
            opt.zero_grad(set_to_none=True)
            terms["total"].backward()
            opt.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(idx)
            count += len(idx)
        sched.step()
        val = evaluate_loss(model, cache, val_rows, settings.weights, settings.batch_size)
        seconds = time.perf_counter() - t0
        state["seconds"] += seconds
        lr = opt.param_groups[0]["lr"]
        state["history"].append({"epoch": epoch, "split": "train", "seconds": seconds, "lr": lr,
                                 **{k: sums.get(k, float("nan")) / count for k in TERMS}})
        state["history"].append({"epoch": epoch, "split": "validation", "seconds": seconds,
                                 "lr": lr, **{k: val.get(k, float("nan")) for k in TERMS},
                                 "scar_dice": val["scar_dice"]})
        if val["total"] < state["best_value"]:
            state.update(best_epoch=epoch, best_value=val["total"],
                         best_state={k: v.detach().clone() for k, v in model.state_dict().items()})
        state["epoch"] = epoch
        _save({"key": key, "model": model.state_dict(), "optimizer": opt.state_dict(),
               "scheduler": sched.state_dict(), "rng": torch.get_rng_state(), **state}, ckpt)
        if log is not None:
            log(epoch, state["history"][-2], state["history"][-1])
    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    model.eval()
    return {"model": model, "history": state["history"], "best_epoch": state["best_epoch"],
            "seconds": state["seconds"]}
