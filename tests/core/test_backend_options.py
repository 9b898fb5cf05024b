"""Declared, typed backend options: checked at hub start and at spawn, typed in templates."""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace
from typing import Any

import pytest
from jobspawner import Option
from jobspawner.contract.backend_options import Declarations, OptionError
from jobspawner.facade.backend import BackendError, installed_backends, load_backend
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.spawner import JobSpawner
from jobspawner.web.hub_start import check_backend_at_start
from jupyterhub.objects import Hub
from traitlets.config import Config


def test_option_converts_and_refuses() -> None:
    flag = Option("use_srun", bool, False)
    assert [flag.convert(v) for v in (True, "false", "No", "1", 0)] == [
        True,
        False,
        False,
        True,
        False,
    ]
    with pytest.raises(OptionError, match="true or false"):
        flag.convert("maybe")
    assert Option("n", int, 3).convert("12") == 12
    with pytest.raises(OptionError, match="whole number"):
        Option("n", int, 3).convert(True)
    with pytest.raises(OptionError, match="one of 'gres', 'gpus'"):
        Option("g", str, "gres", choices=("gres", "gpus")).convert("gpu")
    assert Option("u", list, None, many=True).convert("alice") == ["alice"]
    with pytest.raises(OptionError, match="a list"):
        Option("a", list).convert("--x")


def test_declarations_name_the_backend_key_and_allowed_keys() -> None:
    decl = Declarations("slurm", [Option("use_srun", bool, False), Option("sbatch", str)])
    assert decl.check({"use_srun": "false"}) == {"use_srun": False}
    with pytest.raises(OptionError) as e:
        decl.check({"use_sruns": True})
    text = str(e.value)
    assert '"use_sruns"' in text and '"slurm"' in text and "Allowed keys: sbatch, use_srun" in text
    assert 'Did you mean "use_srun"?' in text


@pytest.mark.parametrize("name", sorted(installed_backends()))
def test_every_shipped_backend_declares_its_options(name: str) -> None:
    backend = load_backend(name)
    assert backend.declares_options()
    names = set(backend.option_declarations().options)
    assert "detail_refresh" in names  # the core's own, for every backend
    with pytest.raises(BackendError, match=f'"{name}" backend does not know'):
        backend.checked_options({"no_such_option": 1})


def test_slurm_use_srun_false_string_leaves_srun_out(tmp_path: Any) -> None:
    """The bug the declarations fix: ``"false"`` was true in the template."""
    backend = load_backend("slurm")

    def script(value: Any) -> str:
        spawner = make_spawner(tmp_path, backend="slurm", backend_options={"use_srun": value})
        spec = spawner.build_spec()
        return backend.render_script(spec, backend.script_template(spec) or "")

    assert "srun --ntasks=1" not in script("false")
    assert "srun --ntasks=1" in script("true")
    assert "srun --ntasks=1" in script(True)
    with pytest.raises(SpawnException, match="use_srun"):
        script("sometimes")


def make_spawner(tmp_path: Any, **config: Any) -> JobSpawner:
    user = SimpleNamespace(name=os.environ.get("USER_UNDER_TEST", "root"), url="/user/root/",
                           escaped_name="root", id=1)  # fmt: skip
    return JobSpawner(
        user=user,
        hub=Hub(ip="127.0.0.1", port=8081, base_url="/hub/"),
        api_token="secret-token",
        oauth_client_id="jupyterhub-user-root",
        log_dir=str(tmp_path / "logs"),
        workdir=str(tmp_path),
        allow_root_jobs=True,
        **config,
    )


class FakeApp:
    def __init__(self, **jobspawner: Any) -> None:
        self.spawner_class = JobSpawner
        self.config = Config({"JobSpawner": {"allow_root_jobs": True, **jobspawner}})
        self.log = logging.getLogger("fake-hub")
        self.exited: int | None = None

    def exit(self, code: int) -> None:
        self.exited = code


def test_hub_start_stops_on_unknown_key_or_wrong_type(caplog: Any) -> None:
    app = FakeApp(backend="slurm", backend_options={"use_srun": "false", "squeue": "/x"})
    check_backend_at_start(app)
    assert app.exited is None
    app = FakeApp(backend="slurm", backend_options={"sbacth": "/opt/slurm/bin/sbatch"})
    with caplog.at_level(logging.CRITICAL):
        check_backend_at_start(app)
    assert app.exited == 1
    assert '"sbacth"' in caplog.text and '"slurm"' in caplog.text and "Allowed keys:" in caplog.text
    app = FakeApp(backend="sge", backend_options={"pending_reasons": "perhaps"})
    check_backend_at_start(app)
    assert app.exited == 1 and "pending_reasons" in caplog.text


def test_one_yes_no_parser_serves_declared_options_and_flag(monkeypatch):
    """``flag`` (undeclared options) and a declared ``bool`` option read yes/no words with
    the same function, so they cannot drift apart."""
    from jobspawner.contract import backend_options, options

    words = ["true", " Yes ", "ON", "1", "false", "no", " Off", "0", "", True, False, 1, 0]
    declared = backend_options.Option("x", bool, False)
    for word in words:
        assert options.flag({"x": word}, "x", True) is declared.convert(word), repr(word)
    monkeypatch.setattr(backend_options, "parse_bool", lambda value: value == "no")  # inverted
    assert options.flag({"x": "no"}, "x", False) is True
