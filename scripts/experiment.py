"""Run an experiment (schemas/experiment.schema.json) in guests booting the reference kernel and write its report.

    scripts/experiment.py [EXPERIMENT.yml] [--quick] [--out DIR] [--fresh] [--report-only]
    make experiment [EXPERIMENT=experiments/swap-tier.yml] [QUICK=1]

Everything is checked before a guest starts: the experiment file against its schema (errors name the path, e.g.
arms[2].fleet), each arm's fleet document against the collection's schema and rules. Then every repetition runs
every arm in turn, each run in a freshly started guest (vm/up.sh; a saved booted state makes that seconds):
playbooks/experiment.yml lays out the cgroups with the arm's files, applies its fleet document with the
policy_groups role, runs the workloads while experiments/sampler.py samples, and fetches the samples. Progress:
one line per run (run n of N, arm, repetition, elapsed, estimated time left).

An interrupted run resumes: runs whose samples are in OUT/raw/ are not repeated, as long as the experiment, its
fleet documents, the kernel and the mode are the same (else --fresh starts over). The report (experiments/report.py)
goes to OUT/report.md with plots and the samples as CSV. OUT defaults to .cache/experiments/NAME[-quick].
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "schemas" / "experiment.schema.json"
DEFAULT_EXPERIMENT = REPO / "experiments" / "swap-tier.yml"
GUEST_DEFAULTS = {"memory_mb": 1024, "cpus": 2, "zram_mb": 256}
PHASE_DEFAULTS = {"warmup_s": 10, "pressure_s": 40, "interval_s": 1}

sys.path.insert(0, str(REPO / "experiments"))
import report as report_module  # noqa: E402  (experiments/report.py)


class ExperimentError(Exception):
    """The experiment cannot run as written; the message says where and why."""


def json_path(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the document)"


def validate(doc: Any, source: Path) -> list[str]:
    """Every error of the experiment file: the schema's, then the rules a schema cannot express."""
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = [f"{json_path(e.absolute_path)}: {e.message}"
              for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]
    if errors:
        return errors
    for key in ("workloads", "arms"):
        seen: dict[str, int] = {}
        for i, item in enumerate(doc[key]):
            if item["name"] in seen:
                errors.append(f"{key}[{i}].name: {item['name']!r} is also {key}[{seen[item['name']]}]'s name")
            seen.setdefault(item["name"], i)
    cgroups = {w["cgroup"]: i for i, w in enumerate(doc["workloads"])}
    if len(cgroups) != len(doc["workloads"]):
        errors.append("workloads: each workload needs a cgroup of its own (its memory is read from it)")
    for i, arm in enumerate(doc["arms"]):
        if arm.get("fleet") and not (source.parent / arm["fleet"]).is_file():
            errors.append(f"arms[{i}].fleet: no such file next to the experiment: {arm['fleet']}")
    return errors


def validate_fleet(path: Path, where: str) -> list[str]:
    """The fleet document's errors by the collection's own validation (schema and rules), prefixed with where."""
    collections = REPO / ".cache" / "collections"
    if str(collections) not in sys.path:
        sys.path.insert(0, str(collections))
    from ansible_collections.policygroups.core.plugins.module_utils._fleet._validate import (  # noqa: PLC0415
        validate_fleet as collection_validate,
    )

    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        return [f"{where}: {path.name} is not YAML: {exc}"]
    if not isinstance(doc, dict) or set(doc) - {"policy_groups", "policy_swap_tiers"}:
        return [f"{where}: {path.name} must hold policy_groups and policy_swap_tiers only"]
    return [f"{where} ({path.name}): {error}" for error in collection_validate(doc)]


def load(path: Path, quick: bool) -> dict[str, Any]:
    """The experiment as it runs: validated, defaults filled in, --quick applied, fleet documents read."""
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ExperimentError(f"{path}: {exc}") from exc
    errors = validate(doc, path)
    for i, arm in enumerate(doc.get("arms", []) if not errors else []):
        if arm.get("fleet"):
            errors += validate_fleet(path.parent / arm["fleet"], f"arms[{i}].fleet")
    if errors:
        raise ExperimentError(f"{path}: {len(errors)} error(s), nothing was started:\n  " + "\n  ".join(errors))
    guest = {**GUEST_DEFAULTS, **doc.get("guest", {})}
    phases = {**PHASE_DEFAULTS, **doc.get("phases", {})}
    repetitions = doc.get("repetitions", 3)
    if quick:
        q = doc.get("quick", {})
        repetitions = q.get("repetitions", 1)
        phases.update({k: q[k] for k in ("warmup_s", "pressure_s") if k in q})
    fleets = {arm["name"]: (path.parent / arm["fleet"]).read_text() for arm in doc["arms"] if arm.get("fleet")}
    return {"experiment": doc, "guest": guest, "phases": phases, "repetitions": repetitions, "quick": quick,
            "fleets": fleets, "source": path.read_text(), "file": os.path.relpath(path, REPO) if path.is_relative_to(REPO) else path.name}


def spec(meta: dict[str, Any], arm: dict[str, Any]) -> dict[str, Any]:
    """The sampler's specification for one arm: every arm's cgroups with this arm's files written after them."""
    exp, phases = meta["experiment"], meta["phases"]
    cgroups: dict[str, dict[str, str]] = {p: {k: str(v) for k, v in f.items()} for p, f in exp.get("cgroups", {}).items()}
    for w in exp["workloads"]:
        cgroups.setdefault(w["cgroup"], {})
    for path, files in arm.get("cgroup_files", {}).items():
        cgroups.setdefault(path, {}).update({k: str(v) for k, v in files.items()})
    return {
        "cgroups": cgroups,
        "workloads": [{"name": w["name"], "program": w["program"], "memory_mb": w["memory_mb"], "cgroup": w["cgroup"],
                       "start_s": phases["warmup_s"] if w.get("start") == "pressure" else 0}
                      for w in exp["workloads"]],
        "duration_s": phases["warmup_s"] + phases["pressure_s"],
        "interval_s": phases["interval_s"],
    }


def fingerprint(meta: dict[str, Any]) -> str:
    keep = {k: meta[k] for k in ("experiment", "guest", "phases", "quick", "fleets", "kernel")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def sh(*args: str | Path, capture: bool = False, log: Path | None = None) -> str:
    """Run a command of the project; its output to the log file (or captured); fails with the log's tail."""
    if log is None:
        done = subprocess.run([str(a) for a in args], check=False, text=True,
                              stdout=subprocess.PIPE if capture else None)
        if done.returncode:
            raise ExperimentError(f"{Path(str(args[0])).name} exited {done.returncode}")
        return done.stdout or ""
    with log.open("a") as handle:
        done = subprocess.run([str(a) for a in args], check=False, text=True, stdout=handle, stderr=subprocess.STDOUT)
    if done.returncode:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        raise ExperimentError(f"{Path(str(args[0])).name} exited {done.returncode} (log: {log}):\n{tail}")
    return ""


def ansible_env() -> dict[str, str]:
    """The environment the tests use for Ansible against guests (scripts/lib/steps.sh)."""
    return {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".cache" / "collections"), "ANSIBLE_HOST_KEY_CHECKING": "false",
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent", "ANSIBLE_TIMEOUT": "30", "ANSIBLE_PIPELINING": "true",
        "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=no "
                            "-o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o LogLevel=ERROR "
                            "-o ServerAliveInterval=5 -o ServerAliveCountMax=6",
    }


def one_run(meta: dict[str, Any], arm: dict[str, Any], rep: int, out: Path, kdir: Path, memload: Path) -> None:
    """Boot a guest, run the arm once, keep its samples as raw/ARM-REP.csv (written whole or not at all)."""
    guest_name = f"exp-{meta['experiment']['name']}"[:31]
    guest = meta["guest"]
    log = out / "logs" / f"{arm['name']}-{rep}.log"
    log.unlink(missing_ok=True)
    up: list[str | Path] = ["vm/up.sh", guest_name, kdir / "bzImage", "--mem", str(guest["memory_mb"]),
                            "--smp", str(guest["cpus"]), "--append", f"test_swap.zram={guest['zram_mb']}M"]
    if guest.get("slow_swap_iops"):
        up += ["--slow-swap-iops", str(guest["slow_swap_iops"])]
    part = out / "raw" / f".{arm['name']}-{rep}.csv.part"
    try:
        sh(*up, log=log)
        port = (REPO / ".cache" / "vm" / "guests" / guest_name / "port").read_text().strip()
        inventory = out / "logs" / "inventory.ini"
        inventory.write_text(f"{guest_name} ansible_host=127.0.0.1 ansible_port={port} ansible_user=root "
                             f"ansible_ssh_private_key_file={REPO / '.cache' / 'vm' / 'id_ed25519'}\n")
        run_vars = out / "logs" / "run-vars.json"
        fleet = yaml.safe_load(meta["fleets"][arm["name"]]) if arm.get("fleet") else None
        run_vars.write_text(json.dumps({"experiment_spec": spec(meta, arm), "experiment_fleet": fleet,
                                        "experiment_memload": str(memload), "experiment_samples": str(part),
                                        "experiment_kernel_log": str(out / "logs" / f"{arm['name']}-{rep}.dmesg")}))
        with log.open("a") as handle:
            done = subprocess.run(["ansible-playbook", "-i", str(inventory), "playbooks/experiment.yml",
                                   "-e", f"@{run_vars}"], cwd=REPO, env=ansible_env(), check=False,
                                  stdout=handle, stderr=subprocess.STDOUT, text=True, timeout=3600)
        if done.returncode:
            failed = [line for line in log.read_text().splitlines() if line.startswith(("fatal:", "failed:"))]
            raise ExperimentError(f"playbooks/experiment.yml failed for arm {arm['name']}, repetition {rep} "
                                  f"(log: {log}):\n  " + "\n  ".join(failed[-5:]))
        part.rename(out / "raw" / f"{arm['name']}-{rep}.csv")
    finally:
        subprocess.run([str(REPO / "vm" / "down.sh"), guest_name], check=False, capture_output=True)
        part.unlink(missing_ok=True)


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", nargs="?", type=Path, default=DEFAULT_EXPERIMENT)
    parser.add_argument("--quick", action="store_true", help="the experiment's quick settings: a smoke test of the loop")
    parser.add_argument("--out", type=Path, help="report directory (default .cache/experiments/NAME[-quick])")
    parser.add_argument("--fresh", action="store_true", help="discard the samples of an earlier run of it")
    parser.add_argument("--report-only", action="store_true", help="re-make the report from the samples there")
    parser.add_argument("--check", action="store_true", help="validate the experiment and its fleet documents only")
    args = parser.parse_args(argv)
    os.chdir(REPO)
    try:
        meta = load(args.experiment.resolve(), args.quick)
        name = meta["experiment"]["name"]
        if args.check:
            print(f"experiment: {args.experiment} is valid: {len(meta['experiment']['arms'])} arms, "
                  f"{len(meta['experiment']['workloads'])} workloads")
            return 0
        out = (args.out or REPO / ".cache" / "experiments" / (name + ("-quick" if args.quick else ""))).resolve()
        if args.report_only:
            print(report_module.report(out))
            return 0
        return run(meta, out, args.fresh)
    except ExperimentError as exc:
        print(f"experiment: {exc}", file=sys.stderr)
        return 1


def write_run_json(out: Path, meta: dict[str, Any], timings: list[dict[str, Any]]) -> None:
    """The settings and each run's time; the experiment file's text goes to experiment.yml instead."""
    (out / "run.json").write_text(json.dumps({**{k: v for k, v in meta.items() if k != "source"}, "runs": timings},
                                             indent=2))


def run(meta: dict[str, Any], out: Path, fresh: bool) -> int:
    t0 = time.monotonic()
    print(f"experiment {meta['experiment']['name']}: building or fetching the reference kernel", file=sys.stderr)
    kdir = Path(sh("kernel/build.sh", capture=True).strip().splitlines()[-1])
    meta["kernel"] = kdir.name
    meta["accel"] = (REPO / ".cache" / "vm" / "accel").read_text().split()[-1] \
        if (REPO / ".cache" / "vm" / "accel").exists() else "QEMU"
    key = fingerprint(meta)
    previous = out / "run.json"
    if fresh and out.exists():
        shutil.rmtree(out)
    if previous.exists() and json.loads(previous.read_text()).get("fingerprint") != key:
        raise ExperimentError(f"{out} holds samples of another setup (experiment, fleet documents, kernel or "
                              "mode changed); run with --fresh to start over, or --out elsewhere")
    for sub in ("raw", "logs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    memload = out / "logs" / "memload"
    sh("gcc", "-static", "-O2", "-Wall", "-Wextra", "-o", memload, REPO / "experiments" / "workloads" / "memload.c")
    meta["fingerprint"] = key
    timings: list[dict[str, Any]] = json.loads(previous.read_text()).get("runs", []) if previous.exists() else []
    arms = meta["experiment"]["arms"]
    plan = [(rep, arm) for rep in range(1, meta["repetitions"] + 1) for arm in arms]
    todo = [(rep, arm) for rep, arm in plan if not (out / "raw" / f"{arm['name']}-{rep}.csv").exists()]
    if len(todo) < len(plan):
        print(f"experiment: resuming, {len(plan) - len(todo)} of {len(plan)} runs already done in {out}",
              file=sys.stderr)
    done_now: list[float] = []
    for n, (rep, arm) in enumerate(todo, 1):
        elapsed = time.monotonic() - t0
        left = f", about {clock(statistics.mean(done_now) * (len(todo) - n + 1))} left" if done_now else ""
        print(f"[{len(plan) - len(todo) + n}/{len(plan)}] arm {arm['name']}, repetition {rep} "
              f"({clock(elapsed)} elapsed{left})", file=sys.stderr, flush=True)
        t = time.monotonic()
        one_run(meta, arm, rep, out, kdir, memload)
        done_now.append(time.monotonic() - t)
        timings.append({"arm": arm["name"], "repetition": rep, "seconds": round(done_now[-1], 1)})
        write_run_json(out, meta, timings)
    write_run_json(out, meta, timings)
    (out / "experiment.yml").write_text(meta["source"])  # as written, comments and all
    for arm_name, text in meta["fleets"].items():
        (out / f"fleet-{arm_name}.yml").write_text(text)
    text = report_module.report(out)
    print(text)
    print(f"experiment: {len(todo)} run(s) in {clock(time.monotonic() - t0)}; report: {out / 'report.md'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
