"""The policy_groups role reinstalls its boot-time restore when the installed file is not the one it would
install (deleted, truncated, edited): the installed file itself is compared, not a stamp written beside it.
With a fact cache, a host whose files the cached facts say are current is sent their digests, not their bytes;
one whose files changed behind the cache costs a second module run, which sends them. Runs the role on a
simulated host tree (ansible_connection: local, host_root)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

PLAY = sim.ROLE_PLAY
RESTORE = sim.RESTORE_PYZ


def converge(tmp_path: Path, runs: int | None = None, sent: list[str] | None = None) -> dict[str, bool]:
    """Run the role (facts cached between runs, as an operator's configuration keeps them); which persisted files
    its converge task wrote (what -> changed). ``runs``: the module runs it must have taken; ``sent``: the files
    whose bytes its last module run must have been sent (the others went as digests)."""
    env = sim.json_results_env(ANSIBLE_CACHE_PLUGIN="ansible.builtin.jsonfile",
                               ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "facts"))
    run = sim.ansible_playbook(tmp_path, "-i", str(tmp_path / "inv.json"), "play.yml", "-v", env=env)
    assert run.returncode == 0, run.stdout[-3000:]
    [result] = sim.task_results(run.stdout, "in one module run", "h1")
    if runs is not None:
        assert result["module_runs"] == runs
    if sent is not None:
        assert result["persist_sent"] == sent
    return {f["what"]: f["changed"] for f in result["persist_result"]["files"]}


def test_a_deleted_or_altered_restore_is_reinstalled(tmp_path: Path) -> None:
    root = tmp_path / "host"
    document = sim.fleet_document({"name": "latency", "thp": "never"})
    sim.simulated_host(root, converged_to=document)  # a plain tree cannot act as a kernel across processes
    sim.write_inventory(tmp_path / "inv.json", {"h1": sim.local_host(root)}, document)
    (tmp_path / "play.yml").write_text(PLAY)
    # no facts cached: a probing run, then one that is sent every file
    assert converge(tmp_path, runs=2, sent=["restore", "policy", "unit"]) == {"restore": True, "policy": True,
                                                                              "unit": True}
    installed = (root / RESTORE).read_bytes()
    assert installed[:2] == b"PK"
    # converged, and the cached facts say so: one run, digests only
    assert converge(tmp_path, runs=1, sent=[]) == {"restore": False, "policy": False, "unit": False}
    (root / RESTORE).write_bytes(installed[: len(installed) // 2])
    # changed behind the cache: the first run finds the digest wrong and changes nothing; the second is sent it
    assert converge(tmp_path, runs=2, sent=["restore"]) == {"restore": True, "policy": False, "unit": False}
    assert (root / RESTORE).read_bytes() == installed
    (root / RESTORE).unlink()
    assert converge(tmp_path, runs=2, sent=["restore"])["restore"] is True
    assert (root / RESTORE).read_bytes() == installed
    assert converge(tmp_path, runs=1, sent=[]) == {"restore": False, "policy": False, "unit": False}
    policy = root / "etc/policygroups/policy.json"
    policy.chmod(0o666)  # a persisted policy others can write would be applied as root at the next boot
    assert converge(tmp_path) == {"restore": False, "policy": True, "unit": False}
    assert oct(policy.stat().st_mode & 0o777) == "0o644" and converge(tmp_path)["policy"] is False
    (root / RESTORE).unlink()
    (root / RESTORE).symlink_to(root / "etc" / "elsewhere.pyz")  # a link planted where the restore goes
    run = sim.ansible_playbook(tmp_path, "-i", str(tmp_path / "inv.json"), "play.yml")
    assert run.returncode != 0 and "is a symbolic link" in run.stdout
    assert not (root / "etc" / "elsewhere.pyz").exists(), "the role wrote through a symbolic link"
