import pytest

from artalk_service.server import cli


def test_retarget_dir_must_be_a_folder(tmp_path):
    with pytest.raises(SystemExit, match="--retarget-dir .*nope is not a folder"):
        cli.main(["serve", "--retarget-dir", str(tmp_path / "nope")])


def test_retarget_dir_reaches_the_server(tmp_path, monkeypatch):
    seen = {}

    async def fake_serve(model, config, retarget_dir=None):
        seen.update(model=model, retarget_dir=retarget_dir)

    monkeypatch.setattr(cli, "load_model", lambda *args, **kwargs: "model")
    monkeypatch.setattr(cli, "serve_forever", fake_serve)
    assert cli.main(["serve", "--retarget-dir", str(tmp_path)]) == 0
    assert seen == {"model": "model", "retarget_dir": tmp_path}
