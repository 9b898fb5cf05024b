"""Issue #10 items 3 and 5: no value crosses a line of a job script, numbers are bounded,
and a constraint is a feature expression that cannot override the site's limits."""

from __future__ import annotations

import pytest
from jobspawner.contract.resources import ResourceError, normalise
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.facade.templates import TemplateError, render
from security.spawnkit import make_spawner

#: Every character that ends a line for some reader of a script, and NUL.
TERMINATORS = ["\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\0"]
NAME_FIELDS = ["queue", "account", "qos", "reservation", "cluster", "scheduler_server",
               "gpu_type", "constraint"]  # fmt: skip


@pytest.mark.parametrize("field", NAME_FIELDS)
@pytest.mark.parametrize("end", TERMINATORS)
def test_a_trailing_line_terminator_is_refused(field, end):
    with pytest.raises(ResourceError) as e:
        normalise({field: f"gpu{end}"}, label="{}")
    assert str(e.value).startswith(f"{field}: ") and "not a valid" in str(e.value)


@pytest.mark.parametrize("field", ["memory", "disk", "runtime", "cpus", "nodes", "gpus"])
def test_numbers_with_a_trailing_newline_are_refused(field):
    with pytest.raises(ResourceError) as e:
        normalise({field: "4\n"}, label="{}")
    assert e.value.field == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("runtime", "9" * 400), ("runtime", "9" * 5000), ("runtime", 1e308), ("runtime", 10**400),
        ("runtime", float("inf")), ("runtime", float("nan")), ("runtime", "99999999-00:00:00"),
        ("runtime", "400d"), ("memory", "9" * 400 + "G"), ("memory", "1e400"),
        ("memory", 10**400), ("memory", float("inf")), ("memory", 1e300), ("memory", "2048P"),
        ("disk", "9" * 400), ("cpus", "9" * 400), ("cpus", 10**400), ("nodes", "9" * 5000),
        ("gpus", "9" * 30),
    ],
)  # fmt: skip
def test_oversized_numbers_are_a_clear_field_error(field, value):
    with pytest.raises(ResourceError) as e:
        normalise({field: value}, label="{}")
    assert e.value.field == field
    assert str(e.value).startswith(f"{field}: ") and len(str(e.value)) < 300


@pytest.mark.parametrize("field", ["queue", "account", "qos", "gpu_type", "constraint"])
@pytest.mark.parametrize("value", [True, ["gpu"], {"a": 1}, 1.5])
def test_names_are_text(field, value):
    with pytest.raises(ResourceError):
        normalise({field: value})


@pytest.mark.parametrize("field", ["qos", "reservation", "gpu_type"])
def test_tokens_that_land_in_resource_lists_take_no_separators(field):
    for value in ["a100,h_rt=720:00:00", "normal,walltime=720:00:00", "a100:8", "x=y"]:
        with pytest.raises(ResourceError):
            normalise({field: value})


@pytest.mark.parametrize("end", TERMINATORS)
@pytest.mark.parametrize(
    "template", ["{{ v | quote }}", "{{ [v] | quote }}", "{{ v | directive }}",
                 "{{ {'X': v} | exports }}"],
)  # fmt: skip
def test_filters_refuse_line_terminators_whatever_the_caller_checked(template, end):
    with pytest.raises(TemplateError) as e:
        render(template, {"v": f"gpu{end}#$ -l h_rt=999:00:00"})
    assert "gpu" in str(e.value) and "line break" in str(e.value)


def test_exports_refuse_non_ascii_names():
    with pytest.raises(TemplateError):
        render("{{ env | exports }}", {"env": {"É": "x"}})


# --- user options through the spawner ---------------------------------------------------------


def test_form_lists_and_plain_values_are_both_accepted(tmp_path):
    spawner = make_spawner(tmp_path, "slurm", user_options_allowed=["runtime", "memory", "queue"])
    spawner.apply_user_options(spawner, {"runtime": ["2h"], "memory": "8G", "queue": ["gpu"]})
    out = spawner.resources()
    assert (out["runtime_s"], out["memory_mb"], out["queue"]) == (7200, 8192, "gpu")


@pytest.mark.parametrize("value", [[], ["2h", "3h"], {"h": 2}, [["2h"]], True])
def test_other_shapes_are_refused_naming_the_field(tmp_path, value):
    spawner = make_spawner(tmp_path, user_options_allowed=["runtime"])
    with pytest.raises(SpawnException) as e:
        spawner.apply_user_options(spawner, {"runtime": value})
    assert e.value.status_code == 400 and e.value.log_message.startswith("runtime: ")


def test_a_queue_with_a_newline_is_refused_before_anything_is_rendered(tmp_path):
    spawner = make_spawner(tmp_path, "sge", user_options_allowed=["queue"])
    with pytest.raises(SpawnException) as e:
        spawner.apply_user_options(spawner, {"queue": ["all.q\n"]})
    assert e.value.status_code == 400 and e.value.log_message.startswith("Queue: ")


# --- constraints: each backend's grammar ------------------------------------------------------

ATTACKS = {
    "condor": ["x)||(true", "x) || (true", "HasGPU)||(true", "(x", "x))||((true", "Memory",
               "true", "x||true)&&(y"],
    "sge": ["h_rt=720:00:00,h_vmem=512G", "bigmem,h_rt=720:00:00", "h_vmem", "s_rt",
            "mem_free", "bigmem=TRUE", "bigmem,,ssd", "gpu"],
    "torque": ["bigmem:walltime=720:00:00", "bigmem,mem=512gb", "ppn", "bigmem+2:ppn=64",
               "bigmem#excl", "walltime"],
    "moab": ["bigmem:walltime=720:00:00", "bigmem,mem=512gb", "bigmem:qos=high", "gpus"],
    "pbspro": ["bigmem:mem=512gb", "ncpus"],
    "lsf": ["x]rusage[mem=512000", "x]span[hosts=1", "x] rusage[mem=1]", "avx512)", "mem>4",
            "rusage", "x]order[r15s", "a&&"],
    "slurm": ["skylake&", "(ib", "ib)", "a=b", "[a|b", "a,b"],
}  # fmt: skip
GOOD = {
    "condor": ["HasAVX2", "HasAVX2&&!IsLaptop", "(a||b)&&c"],
    "sge": ["bigmem", "bigmem,ssd"],
    "torque": ["bigmem", "bigmem:ib"],
    "moab": ["bigmem:ib"],
    "pbspro": ["bigmem"],
    "lsf": ["avx512", "avx512&&!bigmem", "(a||b)&&c"],
    "slurm": ["skylake&ib", "intel|amd", "[rack1|rack2]", "knl*2&(a|b)"],
}


@pytest.mark.parametrize(
    ("backend", "attack"), [(b, a) for b, attacks in ATTACKS.items() for a in attacks]
)
def test_a_constraint_that_is_not_a_feature_expression_is_refused(tmp_path, backend, attack):
    """Through the user options (400, field named) and again before submission."""
    spawner = make_spawner(tmp_path, backend, user_options_allowed=["constraint"],
                           req_runtime="01:00:00", req_memory="4G")  # fmt: skip
    with pytest.raises(SpawnException) as e:
        spawner.apply_user_options(spawner, {"constraint": [attack]})
    assert e.value.status_code == 400
    assert e.value.log_message.startswith("Constraint: ")  # the field's label
    spawner.choices.resources = {"constraint": attack}  # a site's own apply_user_options
    with pytest.raises(SpawnException) as e:
        spawner.build_spec()
    assert e.value.status_code == 400 and "constraint: " in e.value.log_message


@pytest.mark.parametrize(("backend", "good"), [(b, g) for b, goods in GOOD.items() for g in goods])
def test_feature_expressions_are_accepted(tmp_path, backend, good):
    spawner = make_spawner(tmp_path, backend, user_options_allowed=["constraint"])
    spawner.apply_user_options(spawner, {"constraint": good})
    spec = spawner.build_spec()
    assert spec.variables["constraint"] == good
    assert spawner.render(spec)


def test_a_site_constraint_is_checked_too_and_names_the_trait(tmp_path):
    spawner = make_spawner(tmp_path, "sge", req_constraint="h_rt=720:00:00")
    with pytest.raises(SpawnException) as e:
        spawner.build_spec()
    assert "req_constraint: " in e.value.log_message


def test_condor_requirements_keep_the_sites_part(tmp_path):
    from jobspawner_condor.hooks import render_description

    spawner = make_spawner(tmp_path, "condor", user_options_allowed=["constraint"],
                           backend_options={"requirements": 'OpSys == "LINUX"'})  # fmt: skip
    spawner.apply_user_options(spawner, {"constraint": "(HasAVX2||HasAVX512)&&!IsSlow"})
    text = render_description(spawner.build_spec())
    assert 'requirements = (OpSys == "LINUX") && ((HasAVX2||HasAVX512)&&!IsSlow)\n' in text


def test_sge_features_are_requested_as_boolean_complexes(tmp_path):
    spawner = make_spawner(tmp_path, "sge", user_options_allowed=["constraint"],
                           req_runtime="01:00:00")  # fmt: skip
    spawner.apply_user_options(spawner, {"constraint": "bigmem,ssd"})
    script = spawner.render(spawner.build_spec())
    assert "#$ -l bigmem=TRUE,ssd=TRUE\n" in script and "#$ -l h_rt=01:00:00\n" in script
