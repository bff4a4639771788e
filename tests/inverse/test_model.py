"""The dual-branch VAE: shapes, both latents used, gradient to every parameter,
shared anatomy pass, and a seeded, resumable training."""

import numpy as np
import pytest
import torch

from mi_lib.inverse.data import Samples
from mi_lib.inverse.decoders import DecoderPC, grid_for
from mi_lib.inverse.encoders import Level
from mi_lib.inverse.losses import LossWeights, inference_loss
from mi_lib.inverse.model import DualBranchVAE, ModelConfig
from mi_lib.inverse.training import TrainingSettings, epoch_batches, train

SMALL = ModelConfig(n_points=128, qrs_length=32, latent=4,
                    levels=(Level(32, 0.3, 8), Level(8, 0.6, 8), Level(0, 0.0, 0)),
                    pc_widths=((8, 16), (16, 16), (16, 32)), qrs_channels=8, qrs_hidden=8,
                    n_coarse_out=32, n_dense_out=128, pc_decoder_widths=(32,), fold_width=16,
                    inf_widths=((32,), (16,), (16,)))


def _cloud(n=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    f = torch.rand(1, n, 7, generator=g)
    f[..., 6] = (f[..., 6] > 0.7).float()
    return f


def test_shapes_and_config_round_trip():
    model = DualBranchVAE(SMALL)
    geo = model.geometry(_cloud())
    out = model(geo, torch.randn(3, 8, 32))
    assert out["logits"].shape == (3, 128, 3) and out["qrs"].shape == (3, 8, 32)
    assert out["coarse"].shape == (3, 32, 7) and out["dense"].shape == (3, 128, 7)
    assert out["z"].shape == (3, 8)
    assert ModelConfig.from_dict(SMALL.to_dict()) == SMALL
    with pytest.raises(ValueError, match="square"):
        grid_for(32, 96)
    with pytest.raises(ValueError, match="unknown"):
        ModelConfig.from_dict({"n_point": 3})


def test_folding_decoder_places_each_patch_around_its_coarse_point():
    torch.manual_seed(0)
    dec = DecoderPC(latent=4, n_coarse=5, grid=2, features=3, widths=(8,), fold_width=8)
    for p in dec.fold.parameters():
        torch.nn.init.zeros_(p)  # no offsets: every dense point sits on its coarse point
    coarse, dense = dec(torch.randn(2, 4))
    assert torch.equal(dense.reshape(2, 5, 4, 3), coarse.unsqueeze(2).expand(-1, -1, 4, -1))


def test_both_latents_reach_the_infarct_logits():
    torch.manual_seed(1)
    model = DualBranchVAE(SMALL)
    geo = model.geometry(_cloud())
    qrs = torch.randn(2, 8, 32)
    out = model(geo, qrs, sample=False)
    z = out["z"].detach().requires_grad_()
    mu, logvar, skips = model.encode_anatomy(geo)
    logits = model.decoder_inf(geo["features"].expand(2, -1, -1),
                               [s.expand(2, -1, -1) for s in skips],
                               [None if w is None else tuple(t.expand(2, *t.shape[1:]) for t in w)
                                for w in geo["weights"]], z)
    g, = torch.autograd.grad(logits.square().sum(), z)
    lat = SMALL.latent
    assert g[:, :lat].abs().sum() > 0 and g[:, lat:].abs().sum() > 0
    # and the QRS changes the prediction on the same anatomy
    other = model(geo, torch.randn(2, 8, 32), sample=False)
    assert not torch.allclose(out["logits"], other["logits"])


def test_gradient_reaches_every_parameter_and_shared_anatomy_pass_is_exact():
    torch.manual_seed(2)
    model = DualBranchVAE(SMALL)
    f = _cloud()
    geo = model.geometry(f)
    labels = torch.zeros(2, 128, dtype=torch.long)
    labels[:, :10] = 2
    batch = {"features": f.expand(2, -1, -1), "target_coarse": f[:, :32].expand(2, -1, -1),
             "qrs": torch.randn(2, 8, 32), "labels": labels}
    out = model(geo, batch["qrs"])
    inference_loss(out, batch, LossWeights())["total"].backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert dead == []
    # the anatomy's pass computed once gives the same outputs as a per-call pass
    a = model(geo, batch["qrs"], sample=False)
    b = model(geo, batch["qrs"], sample=False, anatomy=model.encode_anatomy(geo))
    assert torch.equal(a["logits"], b["logits"])
    # and a batch of two samples equals two batches of one
    one = model(geo, batch["qrs"][1:], sample=False)
    assert torch.allclose(a["logits"][1:], one["logits"], atol=1e-6)


def test_qrs_only_model_has_no_anatomy_latent():
    model = DualBranchVAE(ModelConfig(**{**SMALL.__dict__, "branches": "qrs_only"}))
    out = model(model.geometry(_cloud()), torch.randn(2, 8, 32))
    assert model.decoder_pc is None and "coarse" not in out and "mu_pc" not in out
    assert out["z"].shape == (2, SMALL.latent)


def _samples(n_subjects=3, n_scen=4, seed=0):
    rng = np.random.default_rng(seed)
    feats = rng.random((n_subjects, 128, 7)).astype(np.float32)
    labels = np.zeros((n_subjects, n_scen, 128), np.int64)
    for c in range(n_scen):
        labels[:, c, 10 * c:10 * c + 8] = 2
    qrs = rng.standard_normal((n_subjects, n_scen, 8, 32)).astype(np.float32)
    names = [f"h_{i:03d}" for i in range(n_subjects)]
    return Samples(names, ["h"] * n_subjects, [f"s{c}" for c in range(n_scen)], feats,
                   feats[..., :3], np.ones((n_subjects, 128), np.int8), qrs, labels, "test")


def test_epoch_batches_group_by_subject_and_depend_on_seed_and_epoch_only():
    a = epoch_batches([0, 1, 2], 6, 4, seed=3, epoch=2)
    b = epoch_batches([0, 1, 2], 6, 4, seed=3, epoch=2)
    assert [(r, list(i)) for r, i in a] == [(r, list(i)) for r, i in b]
    assert sorted((r, int(j)) for r, idx in a for j in idx) == [(r, j) for r in range(3)
                                                                 for j in range(6)]
    c = epoch_batches([0, 1, 2], 6, 4, seed=3, epoch=3)
    assert [(r, list(i)) for r, i in a] != [(r, list(i)) for r, i in c]


def test_training_is_seeded_resumable_and_refuses_other_settings(tmp_path):
    s = _samples()
    split = {"train": ["h_000", "h_001"], "validation": ["h_002"], "test": []}
    full = train(s, split, SMALL, TrainingSettings(epochs=3, seed=5, threads=1), tmp_path / "a",
                 progress=False)
    train(s, split, SMALL, TrainingSettings(epochs=2, seed=5, threads=1), tmp_path / "b",
          progress=False)
    resumed = train(s, split, SMALL, TrainingSettings(epochs=3, seed=5, threads=1),
                    tmp_path / "b", progress=False)
    assert [h["total"] for h in resumed["history"]] == [h["total"] for h in full["history"]]
    for k, v in full["model"].state_dict().items():
        assert torch.equal(v, resumed["model"].state_dict()[k]), k
    assert full["best_epoch"] == int(np.argmin([h["total"] for h in full["history"]
                                                if h["split"] == "validation"])) + 1
    with pytest.raises(ValueError, match="other settings"):
        train(s, split, SMALL, TrainingSettings(epochs=3, seed=6, threads=1), tmp_path / "b",
              progress=False)
