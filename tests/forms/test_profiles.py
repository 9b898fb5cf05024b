"""Profiles: choosing one, its options, bounds, overrides restored, state across a restart."""

from __future__ import annotations

import asyncio

import pytest
from jobspawner.choices.profiles import ProfileConfigError, from_profiles_spawner, parse_profiles
from jobspawner.choices.user_options import settable_names
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle.start_failures import mapped_host

from forms.kit import GPU, SMALL, STAFF, make_spawner


def apply(spawner, options):
    result = spawner.apply_user_options(spawner, options)
    if asyncio.iscoroutine(result):
        asyncio.run(result)


def refused(spawner, options) -> str:
    with pytest.raises(SpawnException) as e:
        apply(spawner, options)
    assert e.value.status_code == 400
    return e.value.log_message


def test_no_options_gives_the_default_profile(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[GPU, SMALL])
    apply(spawner, {})
    assert spawner.record.profile == "small"
    assert spawner.resources()["cpus"] == 2 and spawner.resources()["memory_mb"] == 4096


def test_a_profile_sets_its_overrides_and_its_choices(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[GPU, SMALL])
    apply(spawner, {"profile": ["gpu"], "gpu": ["a100"], "memory": ["32G"], "env": "torch-2"})
    r = spawner.resources()
    assert (r["queue"], r["gpu_type"], r["gpus"], r["memory_mb"]) == ("gpu", "a100", 1, 32768)
    assert spawner.backend_options == {"spool": "/tmp/gpu-spool"}
    spec = spawner.build_spec()
    assert spec.variables["profile"] == "gpu"
    assert spec.variables["choices"] == {"gpu": "a100", "env": "torch-2"}


def test_defaults_of_a_profile_apply_when_not_sent(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[GPU])
    apply(spawner, {"profile": "gpu"})
    r = spawner.resources()
    assert (r["gpu_type"], r["gpus"], r["memory_mb"], r["runtime_s"]) == ("v100", 2, 8192, 3600)


def test_overrides_are_undone_before_the_next_spawn(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[GPU, SMALL], req_queue="batch")
    apply(spawner, {"profile": "gpu", "gpu": "a100"})
    assert spawner.req_queue == "gpu" and spawner.req_gpu_type == "a100"
    apply(spawner, {"profile": "small"})
    assert spawner.req_queue == "batch" and spawner.req_gpu_type == ""
    assert spawner.backend_options.get("spool") != "/tmp/gpu-spool" and spawner.req_cpus == 2


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"profile": "huge"}, "Profile: 'huge' is not a profile you can choose (gpu, small)"),
        ({"profile": "gpu", "gpu": "h100"}, "GPU model: 'h100' is not one of the choices: a100"),
        ({"profile": "gpu", "memory": "128G"}, "Memory: '128G' is more than the maximum, 64G"),
        ({"profile": "gpu", "memory": "512M"}, "Memory: '512M' is less than the minimum, 1G"),
        ({"profile": "gpu", "runtime": "9h"}, "Run time: '9h' is more than the maximum, 8h"),
        ({"profile": "gpu", "cpus": "17"}, "CPUs: '17' is more than the maximum, 16"),
        ({"profile": "gpu", "threads": "2.5"}, "Threads: '2.5' is not a whole number"),
        ({"profile": "gpu", "threads": 65}, "Threads: 65 is more than the maximum, 64"),
        (
            {"profile": "gpu", "env": "Torch;rm"},
            "Conda environment: 'Torch;rm' is not allowed here (it must",
        ),
        (
            {"profile": "gpu", "env": "torch\n"},
            "Conda environment: the value is too long or has a line break",
        ),
        ({"profile": "gpu", "queue": "admin"}, "Option 'queue' cannot be chosen here"),
        ({"profile": "small", "gpu": "a100"}, "Option 'gpu' cannot be chosen here"),
        ({"profile": ["gpu", "small"]}, "profile: exactly one value is needed, not 2"),
        ({"profile": "gpu", "memory": {"a": 1}}, "memory: a dict is not a valid value"),
    ],
)
def test_refusals_name_the_field_and_the_limit(tmp_path, options, expected):
    spawner = make_spawner(tmp_path, profiles=[GPU, SMALL], req_queue="batch")
    assert refused(spawner, options).startswith(expected)
    # a refusal leaves nothing of the profile in place
    assert spawner.req_queue == "batch" and spawner.choices.resources == {}


def test_profiles_are_visible_per_group_and_user(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[SMALL, STAFF])
    assert refused(spawner, {"profile": "staff"}).startswith("Profile: 'staff' is not a profile")
    staff = make_spawner(tmp_path, groups=("staff",), profiles=[SMALL, STAFF])
    apply(staff, {"profile": "staff"})
    assert staff.record.profile == "staff"


def test_a_callable_profile_list_may_be_a_coroutine(tmp_path):
    async def profiles(spawner):
        await asyncio.sleep(0)
        return [SMALL, GPU] if spawner.user.name == "root" else [SMALL]

    spawner = make_spawner(tmp_path, profiles=profiles)
    apply(spawner, {"profile": "gpu", "gpu": "a100"})
    assert spawner.req_gpu_type == "a100"
    assert refused(spawner, {"profile": "gpu", "gpu": "x"}).startswith("GPU model: 'x' is not one")


def test_the_profile_and_its_backend_survive_a_restart(tmp_path):
    spawner = make_spawner(tmp_path, profiles=[GPU, SMALL])
    apply(spawner, {"profile": "gpu", "gpu": "a100"})
    spawner.job_id, spawner.job_output = "123", "/tmp/x.log"
    state = spawner.get_state()
    assert state["profile"] == "gpu" and state["options"]["gpu"] == "a100"
    assert state["job_settings"]["backend_options"] == {"spool": "/tmp/gpu-spool"}
    restarted = make_spawner(tmp_path, profiles=[GPU, SMALL])
    restarted.load_state(state)
    assert (
        restarted.backend_options == {"spool": "/tmp/gpu-spool"}
        and restarted.record.profile == "gpu"
    )
    # the restarted hub polls with the profile's settings: its own poller
    assert restarted.poller() is not make_spawner(tmp_path).poller()
    assert "123" in restarted.poller().watched


def test_a_profile_may_switch_backend_and_gets_its_own_poller(tmp_path):
    sge = {"slug": "sge", "overrides": {"backend": "sge", "req_runtime": "1h"}}
    spawner = make_spawner(tmp_path, profiles=[SMALL, sge])
    local_poller = spawner.poller()
    apply(spawner, {"profile": "sge"})
    assert spawner.load().name == "sge" and spawner.poller() is not local_poller
    script = spawner.render(spawner.build_spec())
    assert "#$ -l h_rt=01:00:00" in script


@pytest.mark.parametrize(
    ("profiles", "message"),
    [
        ([{"slug": "Bad Slug"}], "slug 'Bad Slug' must be"),
        ([{"slug": "a"}, {"slug": "a"}], "slug 'a' is used twice"),
        ([{"slug": "a", "overrides": {"no_such": 1}}], "'no_such' is not a JobSpawner setting"),
        ([{"slug": "a", "overrides": {"profiles": []}}], "'profiles' is not a JobSpawner"),
        ([{"slug": "a", "options": {"env": {}}}], "a free text option needs a regex"),
        ([{"slug": "a", "options": {"memory": {"max": "lots"}}}], "the bound 'lots' is not"),
        ([{"slug": "a", "options": {"queue": {"choices": {"a;b": "x"}}}}], "choice key 'a;b'"),
        ([{"slug": "a", "options": {"g": {"choices": {"x": "X"}, "default": "y"}}}], "default"),
        ([{"slug": "a", "colour": "red"}], "unknown key(s) colour"),
    ],
)
def test_configuration_errors_name_the_place(tmp_path, profiles, message):
    spawner = make_spawner(tmp_path)
    with pytest.raises(ProfileConfigError) as e:
        parse_profiles(profiles, settable_names(spawner))
    assert message in str(e.value)
    broken = make_spawner(tmp_path, profiles=profiles)
    with pytest.raises(SpawnException) as e2:
        apply(broken, {})
    assert e2.value.status_code == 500 and "ask an administrator" in e2.value.log_message


def test_batchspawner_profiles_spawner_entries_migrate(tmp_path):
    entries = [
        ("Local server", "local", "jupyterhub.spawner.LocalProcessSpawner", {"ip": "0.0.0.0"}),
        ("Mesabi - 2 cores, 4 GB, 8 hours", "mesabi2c4g12h", "batchspawner.TorqueSpawner",
         {"req_nprocs": "2", "req_queue": "mesabi", "req_runtime": "8:00:00", "req_memory": "4gb"}),
    ]  # fmt: skip
    profiles = from_profiles_spawner(entries)
    assert profiles[1]["overrides"] == {"backend": "torque", "req_cpus": 2, "req_queue": "mesabi",
                                        "req_runtime": "8:00:00", "req_memory": "4gb"}  # fmt: skip
    assert profiles[0]["default"] and profiles[0]["overrides"]["backend"] == "local"
    spawner = make_spawner(tmp_path, profiles=profiles)
    apply(spawner, {"profile": "mesabi2c4g12h"})
    script = spawner.render(spawner.build_spec())
    assert "#PBS -q mesabi" in script and "walltime=08:00:00" in script
    with pytest.raises(ProfileConfigError, match="req_host"):
        from_profiles_spawner([("x", "x", "batchspawner.SlurmSpawner", {"req_host": "h"})])
    # state_exechost_exp becomes host_map, as docs/profiles.md and jobspawner check say
    (lab,) = from_profiles_spawner(
        [("Lab", "lab", "batchspawner.TorqueSpawner", {"state_exechost_exp": r"in-\1.lab.org"})]
    )
    assert lab["overrides"]["host_map"] == {r"(.+)": r"in-\1.lab.org"}
    spawner = make_spawner(tmp_path, profiles=[lab])
    apply(spawner, {"profile": "lab"})
    assert mapped_host(spawner.session_settings(), "cn0412") == "in-cn0412.lab.org"


def test_a_bounded_profile_option_cannot_be_bypassed_by_the_plain_resource_key(tmp_path):
    """A profile option bound to a resource (``walltime`` sets ``runtime``, at most 1 h)
    holds even where ``user_options_allowed`` lists ``runtime``: the plain key is refused
    (400 naming it and the option to use), with or without the option next to it."""
    short = {
        "display_name": "Short", "slug": "short",
        "options": {"walltime": {"display_name": "Run time", "resource": "runtime",
                                 "max": "1h", "default": "30m"}},
    }  # fmt: skip
    spawner = make_spawner(tmp_path, backend="slurm", profiles=[short],
                           user_options_allowed=["runtime", "cpus"])  # fmt: skip
    for options in (
        {"profile": "short", "walltime": "30m", "runtime": "300h"},
        {"profile": "short", "runtime": "300h"},
    ):
        assert refused(spawner, options) == (
            "runtime: this profile sets it with its option 'walltime'; choose it there"
        )
    assert "more than the maximum, 1h" in refused(spawner, {"walltime": "300h"})
    apply(spawner, {"profile": "short", "walltime": "45m", "cpus": "2"})  # the rest still works
    assert spawner.resources()["runtime_s"] == 2700 and spawner.resources()["cpus"] == 2


def test_a_user_option_is_normalised_once_and_its_constraint_checked_once(tmp_path, monkeypatch):
    """From apply_user_options to the job script: each of the user's values goes through
    normalise once (her choice of a profile option too), and the backend checks her
    constraint once; the script gets what that one normalisation made."""
    from jobspawner import spawner_job
    from jobspawner.choices import profiles, user_options
    from jobspawner.contract import resources
    from jobspawner.facade import constraints

    calls: list[dict] = []
    checks: list[str] = []
    normalise, validate = resources.normalise, constraints.validate_constraint

    def counted_normalise(values, label="req_{}"):
        calls.append(dict(values))
        return normalise(values, label)

    def counted_validate(backend, field_name, value, options):
        checks.append(value)
        return validate(backend, field_name, value, options)

    for module in (resources, user_options, spawner_job, profiles):
        monkeypatch.setattr(module, "normalise", counted_normalise)
    for module in (user_options, spawner_job):
        monkeypatch.setattr(module, "validate_constraint", counted_validate)
    small = {**SMALL, "options": {**SMALL.get("options", {}),
                                  "walltime": {"resource": "runtime", "max": "8h"}}}  # fmt: skip
    job = make_spawner(tmp_path, backend="slurm", profiles=[small],
                       user_options_allowed=["memory", "constraint"])  # fmt: skip
    apply(job, {"memory": ["3G"], "constraint": ["bigmem"], "walltime": ["90m"]})
    spec = job.build_spec()
    assert (spec.variables["memory_mb"], spec.variables["runtime"]) == (3072, "01:30:00")
    assert spec.variables["constraint"] == "bigmem"
    for value in ("3G", "bigmem", "90m"):
        assert sum(value in c.values() for c in calls) == 1, (value, calls)
    assert checks.count("bigmem") == 1, checks
