"""c.JobSpawner.host_map: batchspawner's state_exechost_exp as configuration."""

from __future__ import annotations

import pytest
from jobspawner.cli import main
from jobspawner.facade.hub_compat import SpawnException
from jobspawner.lifecycle.start_failures import routable_scheduler_host
from jobspawner.spawner import JobSpawner
from jobspawner.transport.host_map import HostMap, HostMapError


def test_first_full_match_wins_and_groups_expand():
    rules = HostMap.parse({r"(node\d+)": r"\1.ib.example.org", r"cn-(?P<n>\d+)": r"10.2.0.\g<n>"})
    assert rules.apply("node12") == "node12.ib.example.org"
    assert rules.apply("cn-7") == "10.2.0.7"
    assert rules.apply("node12.other") == "node12.other"  # whole name only
    assert rules.apply("login1") == "login1"


@pytest.mark.parametrize(
    ("mapping", "why"),
    [({"(node": "x"}, "not a regular expression"), ({"node": r"\1.x"}, "invalid"),
     ({"(a)": r"\g<nope>"}, "invalid"), ({"a": ""}, "non-empty")],
)  # fmt: skip
def test_bad_entries_are_refused_naming_them(mapping, why):
    with pytest.raises(HostMapError, match=why) as e:
        HostMap.parse(mapping)
    assert "c.JobSpawner.host_map[" in str(e.value)


def test_scheduler_host_is_mapped_then_routing_checked():
    spawner = JobSpawner(host_map={r"(node\d+)": r"\1.ib", r"evil": "169.254.169.254"})
    settings = spawner.session_settings()
    assert routable_scheduler_host(settings, "7", "node3") == "node3.ib"
    with pytest.raises(SpawnException, match="Cannot route"):
        routable_scheduler_host(settings, "7", "evil")  # a mapped host passes the same checks


def test_check_reports_a_bad_host_map(tmp_path, capsys):
    path = tmp_path / "c.py"
    path.write_text(
        "c = get_config()\nc.JupyterHub.spawner_class = 'jobspawner'\n"
        "c.JobSpawner.allow_root_jobs = True\nc.JobSpawner.host_map = {'(x': 'y'}\n"
    )
    assert main(["check", "-f", str(path)]) == 1
    assert "c.JobSpawner.host_map: c.JobSpawner.host_map['(x']" in capsys.readouterr().out
