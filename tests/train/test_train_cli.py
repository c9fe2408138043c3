"""artalk-train on a tiny generated corpus: both stages, resumption, determinism, install."""

import json

import pytest
import torch

from artalk_service.data.corpus import generate
from artalk_service.data.sample import CorpusConfig
from artalk_service.model import ModelConfig, MotionModel
from artalk_service.train.cli import install, load_config, main
from artalk_service.train.config import TrainConfig
from artalk_service.train.ema import EMA


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("corpus"))
    generate(out, 0.005, 0.002, CorpusConfig(seed=3, shard_size=4), workers=1)
    return out


def records(run, stage, key):
    lines = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [r[key] for r in lines if r.get("stage") == stage and key in r]


def test_tiny_config_trains_both_stages_and_the_loss_falls(corpus, tmp_path):
    run = tmp_path / "run"
    main(["vq", "--config", "tiny", "--corpus", corpus, "--out", str(run), "--steps", "60", "--no-progress"])
    losses = records(run, "vq", "loss")
    assert losses[-1] < 0.8 * losses[0]
    assert (run / "autoencoder.pt").exists() and (run / "vq_state.pt").exists()
    main(["ar", "--config", "tiny", "--corpus", corpus, "--out", str(run), "--steps", "40", "--no-progress"])
    losses = records(run, "ar", "loss")
    assert losses[-1] < losses[0]
    assert records(run, "ar", "gen_mae_mouth")
    model = MotionModel.load(run / "model.safetensors")
    assert model.style_presets and model.model_id.startswith("artalk-arkit61-")
    target = install(run, load_config("tiny"), tmp_path / "assets" / "default.safetensors")
    card = json.loads((target.parent / "config.json").read_text())
    assert card["model_id"] == model.model_id
    assert ModelConfig.from_dict(card["model"]) == TrainConfig.tiny().model


def test_a_resumed_run_equals_an_uninterrupted_one(corpus, tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    main(["vq", "--config", "tiny", "--corpus", corpus, "--out", str(whole), "--no-progress"])
    main(["vq", "--config", "tiny", "--corpus", corpus, "--out", str(split), "--stop-after", "10", "--no-progress"])
    assert not (split / "autoencoder.pt").exists()
    main(["vq", "--config", "tiny", "--corpus", corpus, "--out", str(split), "--no-progress"])
    assert records(split, "vq", "resumed_from_step") == [10]
    a = torch.load(whole / "autoencoder.pt", weights_only=False)["net"]
    b = torch.load(split / "autoencoder.pt", weights_only=False)["net"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)


def test_config_files_override_the_base(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("base: tiny\ntransformer: {steps: 7}\nema_decay: 0.9\n")
    cfg = TrainConfig.from_file(path)
    assert cfg.transformer.steps == 7 and cfg.ema_decay == 0.9 and cfg.model == TrainConfig.tiny().model
    assert cfg.transformer.batch_size == TrainConfig.tiny().transformer.batch_size
    (tmp_path / "c.json").write_text(json.dumps({"nonsense": 1}))
    with pytest.raises(ValueError, match="nonsense"):
        TrainConfig.from_file(tmp_path / "c.json")
    assert load_config("default").autoencoder.steps > 1000


def test_ema_averages_and_swaps_back():
    lin = torch.nn.Linear(2, 2)
    ema = EMA({"lin": lin}, decay=0.5)
    before = lin.weight.detach().clone()
    with torch.no_grad():
        lin.weight.add_(1.0)
    for _ in range(50):
        ema.update()
    torch.testing.assert_close(ema.shadow["lin.weight"], before + 1.0, atol=1e-4, rtol=0)
    with torch.no_grad():
        lin.weight.zero_()
    with ema.applied():
        torch.testing.assert_close(lin.weight, before + 1.0, atol=1e-4, rtol=0)
    assert (lin.weight == 0).all()


def test_vq_from_reuses_a_saved_models_autoencoder(tmp_path):
    from artalk_service.train.stages import load_vq

    model = MotionModel.untrained(ModelConfig.tiny(), seed=4)
    model.save(tmp_path / "m.safetensors")
    main(["vq-from", "--model", str(tmp_path / "m.safetensors"), "--out", str(tmp_path / "run")])
    net = load_vq(TrainConfig.tiny(), tmp_path / "run", "cpu")
    want = model.net.state_dict()
    for k, v in net.state_dict().items():
        if k.startswith(("autoencoder.", "motion_")):
            torch.testing.assert_close(v, want[k], rtol=0, atol=0)


def test_the_lead_in_config_is_the_bundled_recipe_plus_lead_ins():
    from artalk_service.model import default_model_path

    bundled = json.loads((default_model_path().parent / "config.json").read_text())
    cfg = load_config("lead_in").to_dict()
    assert cfg["lead_in_share"] > 0
    cfg.pop("lead_in_share")
    assert json.loads(json.dumps(cfg)) == {k: v for k, v in bundled["train"].items() if k != "lead_in_share"}
