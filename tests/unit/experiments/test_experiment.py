"""scripts/experiment.py, experiments/report.py and experiments/sampler.py without a guest: the experiment file's
validation (every error named by its path, nothing started), the sampler's specification per arm, resuming, the
report from samples (table, ratios, findings, plots, one CSV) and the sampler's own checks.

The runs themselves (guests, the role, the workloads) are exercised by make experiment (docs/experiments.md).
"""
from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


experiment = _load("experiment_script", REPO / "scripts" / "experiment.py")
report = _load("experiment_report", REPO / "experiments" / "report.py")
sampler = _load("experiment_sampler", REPO / "experiments" / "sampler.py")

SHIPPED = REPO / "experiments" / "swap-tier.yml"


def _write(tmp_path: Path, doc: dict[str, Any], fleets: dict[str, Any] | None = None) -> Path:
    for name, fleet in (fleets or {}).items():
        (tmp_path / name).write_text(yaml.safe_dump(fleet))
    path = tmp_path / "exp.yml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _minimal(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "t",
        "question": "does it help?",
        "workloads": [
            {"name": "svc", "program": "service", "memory_mb": 64, "cgroup": "/exp/svc"},
            {"name": "job", "program": "batch", "memory_mb": 128, "cgroup": "/exp/job", "start": "pressure"},
        ],
        "arms": [{"name": "plain"}, {"name": "groups", "fleet": "fleet.yml"}],
    }
    doc.update(changes)
    return doc


FLEET = {
    "policy_swap_tiers": [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}],
    "policy_groups": [{"name": "fg", "swap": {"tiers": ["fast"]}, "members": {"cgroups": ["/exp/svc"]}}],
}


def test_the_shipped_experiment_is_valid_in_both_modes() -> None:
    full = experiment.load(SHIPPED, quick=False)
    quick = experiment.load(SHIPPED, quick=True)
    assert full["repetitions"] == 3 and quick["repetitions"] == 1
    assert quick["phases"]["pressure_s"] < full["phases"]["pressure_s"]
    assert set(full["fleets"]) == {"policy-groups"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Upper"}, "name: 'Upper' does not match"),
        ({"arms": [{"name": "only"}]}, "arms: [{'name': 'only'}] is too short"),
        ({"workloads": [{"name": "w", "program": "sleep", "memory_mb": 1, "cgroup": "/x"}]},
         "workloads[0].program: 'sleep' is not one of"),
        ({"workloads": [{"name": "w", "program": "hold", "memory_mb": 1, "cgroup": "/x/../y"}]},
         "workloads[0].cgroup: '/x/../y' does not match"),
        ({"cgroups": {"/x": {"memory.max": "1M", "../escape": "1"}}}, "cgroups./x: '../escape' does not match"),
        ({"arms": [{"name": "a"}, {"name": "a"}]}, "arms[1].name: 'a' is also arms[0]'s name"),
        ({"arms": [{"name": "a"}, {"name": "b", "fleet": "missing.yml"}]},
         "arms[1].fleet: no such file next to the experiment: missing.yml"),
        ({"workloads": [{"name": "a", "program": "hold", "memory_mb": 1, "cgroup": "/x"},
                        {"name": "b", "program": "hold", "memory_mb": 1, "cgroup": "/x"}]},
         "each workload needs a cgroup of its own"),
    ],
)
def test_a_bad_experiment_names_the_path_and_starts_nothing(tmp_path: Path, changes: dict[str, Any],
                                                            message: str) -> None:
    path = _write(tmp_path, _minimal(**changes), {"fleet.yml": FLEET})
    with pytest.raises(experiment.ExperimentError) as caught:
        experiment.load(path, quick=False)
    assert "nothing was started" in str(caught.value)
    assert message in str(caught.value)


def test_a_bad_fleet_document_is_named_by_arm_and_rule(tmp_path: Path) -> None:
    fleet = {"policy_groups": [{"name": "fg", "swap": {"tiers": ["fast"]}}]}
    path = _write(tmp_path, _minimal(), {"fleet.yml": fleet})
    with pytest.raises(experiment.ExperimentError, match=r"arms\[1\]\.fleet \(fleet\.yml\): policy_groups\[0\] "
                                                         r"\(fg\)\.swap\.tiers\[0\]: tier 'fast' is not defined"):
        experiment.load(path, quick=False)


def test_a_fleet_document_with_other_keys_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _minimal(), {"fleet.yml": {**FLEET, "hosts": []}})
    with pytest.raises(experiment.ExperimentError, match="must hold policy_groups and policy_swap_tiers only"):
        experiment.load(path, quick=False)


def test_the_spec_merges_every_arms_cgroups_with_the_arms_files(tmp_path: Path) -> None:
    doc = _minimal(cgroups={"/exp": {"memory.max": "96M"}}, phases={"warmup_s": 7, "pressure_s": 11},
                   arms=[{"name": "plain", "cgroup_files": {"/exp": {"memory.swap.max": 0}}},
                         {"name": "groups", "fleet": "fleet.yml"}])
    meta = experiment.load(_write(tmp_path, doc, {"fleet.yml": FLEET}), quick=False)
    plain, groups = (experiment.spec(meta, arm) for arm in meta["experiment"]["arms"])
    assert plain["cgroups"] == {"/exp": {"memory.max": "96M", "memory.swap.max": "0"}, "/exp/svc": {}, "/exp/job": {}}
    assert groups["cgroups"]["/exp"] == {"memory.max": "96M"}
    assert [w["start_s"] for w in plain["workloads"]] == [0, 7]
    assert plain["duration_s"] == 18 and plain["interval_s"] == 1


def test_quick_takes_the_quick_settings_and_changes_the_fingerprint(tmp_path: Path) -> None:
    doc = _minimal(quick={"repetitions": 1, "pressure_s": 5}, repetitions=4)
    path = _write(tmp_path, doc, {"fleet.yml": FLEET})
    full, quick = experiment.load(path, quick=False), experiment.load(path, quick=True)
    assert (full["repetitions"], quick["repetitions"], quick["phases"]["pressure_s"]) == (4, 1, 5)
    full["kernel"] = quick["kernel"] = "k"
    assert experiment.fingerprint(full) != experiment.fingerprint(quick)
    again = experiment.load(path, quick=False)
    again["kernel"] = "k"
    assert experiment.fingerprint(again) == experiment.fingerprint(full)
    again["kernel"] = "other"
    assert experiment.fingerprint(again) != experiment.fingerprint(full)


def test_samples_of_another_setup_are_not_mixed_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    meta = experiment.load(_write(tmp_path, _minimal(), {"fleet.yml": FLEET}), quick=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"fingerprint": "not-this-one"}))
    monkeypatch.setattr(experiment, "sh", lambda *a, **k: "/cache/kernel/abc\n")
    booted: list[Any] = []
    monkeypatch.setattr(experiment, "one_run", lambda *a: booted.append(a))
    with pytest.raises(experiment.ExperimentError, match="holds samples of another setup"):
        experiment.run(meta, out, fresh=False)
    assert not booted


def _row(t: float, **values: float) -> dict[str, str]:
    return {"t_s": str(t), **{k: str(v) for k, v in values.items()}}


def _samples(out: Path, arm: str, rep: int, p99: float, killed: bool) -> None:
    rows = []
    for t in range(1, 9):
        under = t >= 4
        rows.append(_row(t, psi_some_avg10=5.0 if under else 0.0, psi_full_avg10=1.0, swapin_vdb_mb=0.5 * t, swapout_vdb_mb=2.0 * t,
                         swap_zram0_mb=8.0 * under, swap_vdb_mb=4.0 * under,
                         svc_rss_mb=60, svc_swap_mb=2.0 * under, svc_majflt=t * 3, svc_oom_kill=0, svc_alive=1,
                         svc_requests=900, svc_p50_us=100, svc_p99_us=p99 if under else 200,
                         job_rss_mb=100, job_swap_mb=20.0 * under, job_majflt=t, job_alive=0 if killed and t > 6 else 1,
                         job_oom_kill=1 if killed and t > 6 else 0, job_mb_per_s=50))
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    with (raw / f"{arm}-{rep}.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_the_report_compares_the_arms_and_writes_plots_and_one_csv(tmp_path: Path) -> None:
    meta = experiment.load(_write(tmp_path, _minimal(phases={"warmup_s": 4}), {"fleet.yml": FLEET}), quick=False)
    out = tmp_path / "out"
    for rep in (1, 2):
        _samples(out, "plain", rep, p99=4000.0 + rep, killed=True)
        _samples(out, "groups", rep, p99=1000.0 + rep, killed=False)
    (out / "run.json").write_text(json.dumps({**meta, "kernel": "abc123", "accel": "tcg"}))
    text = report.report(out)
    assert "# Experiment `t`" in text and "does it help?" in text and "build `abc123`" in text
    assert "| svc: p99 latency under pressure (median of seconds) (us) | 4002 (4001-4002) | 1002 (1001-1002) | " \
           "0.25x |" in text
    assert "- In arm `plain` the OOM killer hit `job` in 2 of 2 runs." in text
    # plain lost the job: it is compared on the service's metrics, not on the job's nor the host's
    assert "- Not compared below, as they lost a workload: `plain` (on that workload's metrics and on the host's)." \
        in text
    assert "- job: MB swept a second" not in text and "- memory pressure" not in text
    assert "- svc: p99 latency under pressure (median of seconds): best `groups` (1002 us); baseline `plain` 4002 " \
           "(0.25x of it)." in text
    assert "- svc: requests a second under pressure (median): the same in every arm (900)." in text
    assert "```yaml" in text and "policy_swap_tiers" in text  # the fleet document is in the report
    assert (out / "report.md").read_text() == text
    for plot in ("experiment.png", "experiment.svg"):
        assert (out / plot).stat().st_size > 1000
    with (out / "samples.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 * 8 and rows[0]["arm"] == "plain" and rows[-1]["repetition"] == "2"
    assert b"\r" not in (out / "samples.csv").read_bytes()  # plain line ends, as the repository keeps them


def test_overlapping_runs_are_called_within_the_spread(tmp_path: Path) -> None:
    meta = experiment.load(_write(tmp_path, _minimal(phases={"warmup_s": 4}), {"fleet.yml": FLEET}), quick=False)
    out = tmp_path / "out"
    _samples(out, "plain", 1, p99=1000.0, killed=False)
    _samples(out, "plain", 2, p99=3000.0, killed=False)
    _samples(out, "groups", 1, p99=1500.0, killed=False)
    _samples(out, "groups", 2, p99=1600.0, killed=False)
    (out / "run.json").write_text(json.dumps({**meta, "kernel": "k", "accel": "tcg"}))
    text = report.report(out)
    assert "best `groups` (1550 us); baseline `plain` 2000 (0.78x of it); the runs' ranges overlap" in text


@pytest.mark.parametrize("path", ["exp", "/exp/../etc", "/exp/./x", "/exp//x", "/exp/x y"])
def test_the_sampler_refuses_a_path_out_of_the_cgroup_tree(path: str) -> None:
    with pytest.raises(SystemExit, match="not a cgroup path"):
        sampler.cgroup_dir(path)


def test_the_sampler_refuses_a_symlink_on_the_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.setattr(sampler, "CGROUP_ROOT", tmp_path)
    assert sampler.cgroup_dir("/real") == tmp_path / "real"
    with pytest.raises(SystemExit, match="is a symlink"):
        sampler.cgroup_dir("/link/child")


def test_the_sampler_writes_cgroup_files_only(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text("")
    sampler.write_file(tmp_path, "memory.max", "64M")
    assert (tmp_path / "memory.max").read_text() == "64M"
    with pytest.raises(SystemExit, match="not a cgroup file"):
        sampler.write_file(tmp_path, "../memory.max", "1")
    (tmp_path / "target").write_text("")
    (tmp_path / "memory.high").symlink_to(tmp_path / "target")
    with pytest.raises(OSError):
        sampler.write_file(tmp_path, "memory.high", "1")
    assert (tmp_path / "target").read_text() == ""


def test_the_sampler_reads_a_workloads_last_complete_report(tmp_path: Path) -> None:
    out = tmp_path / "svc.out"
    out.write_text("t=1 requests=10 p50_us=90 p99_us=400\nt=2 requests=12 p50_us=95 p99_us=410\nt=3 req")
    assert sampler.last_report(out) == {"requests": "12", "p50_us": "95", "p99_us": "410"}
    assert sampler.last_report(tmp_path / "missing") == {}
    assert sampler.read_int(tmp_path / "missing") is None
    stat = tmp_path / "memory.stat"
    stat.write_text("anon 4096\npgmajfault 7\n")
    assert sampler.read_int(stat, "pgmajfault") == 7 and sampler.read_int(stat, "absent") is None


def test_an_arm_whose_name_begins_another_keeps_its_own_runs(tmp_path: Path) -> None:
    # arms "cgroups" and "cgroups-swap": the first must not take the second's raw/cgroups-swap-1.csv
    _samples(tmp_path, "plain", 1, p99=4000.0, killed=True)
    _samples(tmp_path, "plain-swap", 1, p99=2000.0, killed=False)
    _samples(tmp_path, "plain-swap", 2, p99=2000.0, killed=False)
    runs = report.load(tmp_path, ["plain", "plain-swap"])
    assert [len(runs["plain"]), len(runs["plain-swap"])] == [1, 2]
    assert runs["plain"][0][-1]["svc_p99_us"] == 4000.0


def test_the_report_gives_swap_in_and_out_per_device(tmp_path: Path) -> None:
    meta = experiment.load(_write(tmp_path, _minimal(phases={"warmup_s": 4}), {"fleet.yml": FLEET}), quick=False)
    out = tmp_path / "out"
    _samples(out, "plain", 1, p99=4000.0, killed=False)
    _samples(out, "groups", 1, p99=1000.0, killed=False)
    (out / "run.json").write_text(json.dumps({**meta, "kernel": "abc123", "accel": "tcg"}))
    text = report.report(out)
    # the samples grow 2 MB out and 0.5 MB in a second; pressure from t=4 to t=8, the last sample before it t=3
    assert "| swapped out to vdb under pressure (MB) | 10.0 | 10.0 |" in text
    assert "| swapped in from vdb under pressure (MB) | 2.50 | 2.50 |" in text


def test_a_run_keeps_the_files_as_written_and_resumes_what_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _write(tmp_path, _minimal(phases={"warmup_s": 4}, repetitions=2), {"fleet.yml": FLEET})
    source.write_text("# how we run it\n" + source.read_text())
    out = tmp_path / "out"
    monkeypatch.setattr(experiment, "sh", lambda *a, **k: "/cache/kernel/abc\n")
    booted: list[tuple[str, int]] = []

    def fake_run(meta: dict[str, Any], arm: dict[str, Any], rep: int, out: Path, *_: Any) -> None:
        booted.append((arm["name"], rep))
        _samples(out, arm["name"], rep, p99=1000.0, killed=False)

    monkeypatch.setattr(experiment, "one_run", fake_run)
    assert experiment.run(experiment.load(source, quick=False), out, fresh=False) == 0
    assert booted == [("plain", 1), ("groups", 1), ("plain", 2), ("groups", 2)]  # arms alternate per repetition
    assert (out / "experiment.yml").read_text() == source.read_text()  # comments and all
    run_json = (out / "run.json").read_text()
    assert "source" not in json.loads(run_json) and str(tmp_path) not in run_json
    assert [r["arm"] for r in json.loads(run_json)["runs"]] == ["plain", "groups", "plain", "groups"]
    (out / "raw" / "groups-2.csv").unlink()
    booted.clear()
    assert experiment.run(experiment.load(source, quick=False), out, fresh=False) == 0
    assert booted == [("groups", 2)]


def test_the_sampler_checks_a_path_whole_before_it_makes_any_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cgroup.subtree_control").write_text("memory\n")
    monkeypatch.setattr(sampler, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(sampler, "mount_policy", lambda: False)
    with pytest.raises(SystemExit, match="not a cgroup path"):
        sampler.prepare({"cgroups": {"/exp/../escape": {}}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cgroup.subtree_control"]
