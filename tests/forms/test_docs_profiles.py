"""The configuration examples of docs/profiles.md load, validate and render."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jobspawner.choices.profiles import parse_profiles
from jobspawner.choices.user_options import settable_names
from jobspawner.lifecycle.start_failures import mapped_host
from traitlets.config import Config

from forms.kit import make_spawner

DOC = Path(__file__).resolve().parents[2] / "docs" / "profiles.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def load(block: str) -> Config:
    c = Config()
    exec(compile(block, str(DOC), "exec"), {"c": c})
    return c


def test_the_migrated_profiles_spawner_example_renders_torque_scripts(tmp_path):
    c = load(blocks()[0]).JobSpawner
    spawner = make_spawner(tmp_path, **{k: v for k, v in c.items() if k != "http_timeout"})
    assert len(parse_profiles(c.profiles, settable_names(spawner))) == 5
    spawner.apply_user_options(spawner, {"profile": "mesabi128gb"})
    script = spawner.render(spawner.build_spec())
    assert "#PBS -q ram256g" in script and "walltime=04:00:00" in script
    assert spawner.exec_prefix[-1] == "mesabi.xyz.edu"
    # state_exechost_exp's renaming is host_map's, and the local and lab profiles drop it
    assert mapped_host(spawner.session_settings(), "cn0412") == "in-cn0412.mesabi.xyz.edu"
    for slug in ("local", "lab"):
        spawner.apply_user_options(spawner, {"profile": slug})
        assert mapped_host(spawner.session_settings(), "cn0412") == "cn0412"
    spawner.apply_user_options(spawner, {"profile": "local"})
    assert spawner.load().name == "local" and spawner.exec_prefix[0] == "runuser"


def test_the_kubespawner_style_example_validates_and_renders(tmp_path):
    c = load(blocks()[1]).JobSpawner
    spawner = make_spawner(tmp_path, groups=("gpu-users",), **dict(c.items()))
    spawner.apply_user_options(spawner, {"profile": "gpu", "gpu": "v100", "software": "r",
                                         "conda_env": "my-env"})  # fmt: skip
    spec = spawner.build_spec()
    assert spec.variables["gpu_type"] == "v100"
    assert spec.variables["choices"]["conda_env"] == "my-env"
    script = spawner.render(spec)
    assert "--gres=gpu:v100:1" in script and "module load R/4.4" in script
    with pytest.raises(Exception, match="CPU cores: '64' is more than the maximum, 32"):
        spawner.apply_user_options(spawner, {"profile": "cpu", "cpus": "64"})
    outsider = make_spawner(tmp_path, **dict(c.items()))
    with pytest.raises(Exception, match="Profile: 'gpu' is not a profile you can choose"):
        outsider.apply_user_options(outsider, {"profile": "gpu"})
