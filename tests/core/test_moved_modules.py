"""The modules' old flat names (before the layer folders) still import, as aliases."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from jobspawner.moved_modules import MOVED


def run(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter: nothing imported before, warnings shown."""
    return subprocess.run(
        [sys.executable, "-W", "always::DeprecationWarning", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_old_name_is_the_module_in_its_folder_with_a_warning():
    proc = run(
        """
        import jobspawner.profiles as old
        from jobspawner.user_options import apply_user_options
        import jobspawner.choices.profiles as new
        import jobspawner.choices.user_options as new_options
        assert old is new, (old, new)
        # the module keeps its own spec (Python sets the alias's on it while importing)
        assert new.__spec__.name == "jobspawner.choices.profiles", new.__spec__
        assert new.__spec__.origin.endswith("choices/profiles.py"), new.__spec__
        assert apply_user_options is new_options.apply_user_options
        from jobspawner import transport  # a folder now: the name is the package
        import jobspawner.transport.config as config
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
    assert "jobspawner.profiles is now jobspawner.choices.profiles" in proc.stderr
    assert "jobspawner.user_options is now jobspawner.choices.user_options" in proc.stderr


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_old_name_points_at_a_module_that_exists(old):
    import importlib.util

    assert importlib.util.find_spec(f"jobspawner.{MOVED[old]}") is not None, old


def test_a_name_that_never_existed_is_still_an_import_error():
    proc = run("import jobspawner.no_such_module")
    assert proc.returncode == 1
    assert "No module named 'jobspawner.no_such_module'" in proc.stderr


def test_the_site_facing_functions_are_public():
    import jobspawner
    from jobspawner.choices.profiles import from_profiles_spawner
    from jobspawner.choices.user_options import apply_user_options

    assert jobspawner.apply_user_options is apply_user_options
    assert jobspawner.from_profiles_spawner is from_profiles_spawner
