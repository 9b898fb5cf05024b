"""Which environment variables are secrets: they go to the job's private secrets file, never
into the job script nor the output of ``jobspawner render`` / ``jobspawner check --script``
(issue #19, item 9).
"""

from __future__ import annotations

import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jobspawner.contract.jobspec import JobSpec, is_secret

#: Secrets the heuristic before issue #19 missed, and ones it always caught.
SECRET = [
    "DB_PASS",
    "GITHUB_PAT",
    "MY_APIKEY",
    "X_AUTH",
    "TLS_KEY_PEM",
    "MYSQL_PWD",
    "SSH_PASSPHRASE",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "PGPASSWORD",
    "db_pass",
    "GitHubToken",
    "DEPLOY_KEYS",
    "JUPYTERHUB_API_TOKEN",
    "JPY_API_TOKEN",
    "MY_SECRET",
    "DB_PASSWORD",
    "AWS_KEY",
]
#: Ordinary names: the word is part of a longer word, or no word says secret.
ORDINARY = [
    "PATH",
    "HOME",
    "PWD",
    "OLDPWD",
    "KEYBOARD_LAYOUT",
    "PASSAGE_DIR",
    "GIT_AUTHOR_NAME",
    "PATCH_LEVEL",
    "TOKENIZERS_PARALLELISM",
    "LANG",
    "LC_ALL",
    "JUPYTERHUB_API_URL",
    "JUPYTERHUB_USER",
    "JUPYTERHUB_OAUTH_CALLBACK_URL",
    "JUPYTERHUB_OAUTH_SCOPES",
    "JUPYTERHUB_OAUTH_ACCESS_SCOPES",
    "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES",
    "JUPYTERHUB_SSL_KEYFILE",
    "JUPYTERHUB_SERVICE_PREFIX",
]

#: The heuristic before issue #19: every name it caught must still be caught.
OLD_SECRET_ENV = re.compile(r".*(TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|_KEY)S?", re.IGNORECASE)
NAMES = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1)
WORD = st.sampled_from(["TOKEN", "SECRET", "PASSWORD", "PASS", "PAT", "AUTH", "KEY", "APIKEY"])


@pytest.mark.parametrize("name", SECRET)
def test_secret_names_are_secrets(name):
    assert is_secret(name)


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_names_are_not(name):
    assert not is_secret(name)


@pytest.mark.parametrize(
    ("name", "patterns", "secret"),
    [
        ("SITE_LICENSE", ["SITE_LICENSE"], True),
        ("MYSITE_LDAP_BIND", ["MYSITE_*"], True),
        ("mysite_ldap_bind", ["MYSITE_*"], False),  # case as written: names are
        ("OTHER_LICENSE", ["SITE_*"], False),
        ("HOME", ["H?ME"], True),
    ],
)
def test_secret_env_names_and_patterns(name, patterns, secret):
    assert is_secret(name, patterns) is secret


@given(NAMES)
def test_every_name_the_old_heuristic_caught_is_still_caught(name):
    if OLD_SECRET_ENV.fullmatch(name):
        assert is_secret(name)


OTHER_WORDS = st.lists(st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True), max_size=3)


@given(OTHER_WORDS, WORD, OTHER_WORDS)
def test_a_secret_word_between_separators_is_a_secret(before, word, after):
    name = "_".join([*before, word, *after])
    assert is_secret(name), name


def _spec(tmp_path: Path, env: dict[str, str], secret_env: list[str]) -> JobSpec:
    return JobSpec.create(
        username="alice",
        job_name="jupyter-alice",
        output_file=str(tmp_path / "logs" / "jupyter-alice.log"),
        workdir=str(tmp_path),
        command=["jobspawner-singleuser"],
        env=env,
        secret_env=secret_env,
    )


def test_jupyterhubs_own_variables_keep_their_places(tmp_path):
    """Of the environment JupyterHub gives a server, only the tokens are secrets."""
    from .test_spawner_unit import make_spawner

    env = make_spawner(tmp_path).get_env()
    assert {name for name in env if is_secret(name)} == {"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"}


def test_secrets_go_to_the_secrets_file_and_ordinary_names_to_the_script(tmp_path):
    env = {name: f"value-of-{name}" for name in [*SECRET, *ORDINARY, "SITE_LICENSE"]}
    spec = _spec(tmp_path, env, ["SITE_*"])
    assert set(spec.secrets) == {*SECRET, "SITE_LICENSE"}
    assert set(ORDINARY) <= set(spec.env)
    assert not set(spec.secrets) & set(spec.env)


CONFIG = """
c.JupyterHub.spawner_class = "jobspawner"
c.JobSpawner.backend = "local"
c.JobSpawner.allow_root_jobs = True
c.JobSpawner.log_dir = {log_dir!r}
c.JobSpawner.secret_env = ["SITE_*"]
c.Spawner.environment = {environment!r}
"""


@pytest.mark.parametrize("command", [["render"], ["check", "--script"]])
def test_render_and_check_show_no_secret_and_every_ordinary_value(tmp_path, command):
    environment = {
        **{name: f"s3cr3t-{i}" for i, name in enumerate(["DB_PASS", "GITHUB_PAT", "MY_APIKEY"])},
        **{name: f"s3cr3t-x{i}" for i, name in enumerate(["X_AUTH", "TLS_KEY_PEM"])},
        "SITE_LDAP_BIND": "s3cr3t-site",
        "KEYBOARD_LAYOUT": "plain-dvorak",
        "PASSAGE_DIR": "plain-passages",
    }
    config = tmp_path / "jupyterhub_config.py"
    config.write_text(CONFIG.format(log_dir=str(tmp_path / "logs"), environment=environment))
    out = subprocess.run(
        [sys.executable, "-m", "jobspawner.cli", *command, "-f", str(config), "--user", "root"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "plain-dvorak" in out and "plain-passages" in out, out
    assert "s3cr3t" not in out, out
