#!/usr/bin/env bash
# Drift audit with an exit status that says what was found:
#   0  every host is in sync
#   2  at least one host drifted (runtime or persisted state differs from the fleet document)
#   1  an error: a host failed or was unreachable, or the audit itself did not complete
# (an error outranks drift: the audit is incomplete, but drifted hosts are still listed in the report).
#
# Usage: playbooks/drift.sh [ansible-playbook options...]     e.g. -i examples/inventory --limit web
# The report goes to $POLICY_GROUPS_REPORT_DIR (default ./drift-report): drift.json, drift.md, drift.xml.
# ansible-playbook's own exit status is not used to classify: a drifted host is no failure to Ansible, and
# failed hosts are recorded in the report; only a report that is missing or older than this run means error.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
report_dir=${POLICY_GROUPS_REPORT_DIR:-$PWD/drift-report}
report=$report_dir/drift.json
ansible_playbook=${ANSIBLE_PLAYBOOK:-ansible-playbook}
python=${PYTHON:-python3}

mkdir -p "$report_dir" || exit 1
rm -f "$report"
"$ansible_playbook" "$here/drift.yml" --check -e "policy_groups_report_dir=$report_dir" "$@"
rc=$?

if [[ ! -s "$report" ]]; then
    echo "drift.sh: no report at $report (ansible-playbook exited $rc): error" >&2
    exit 1
fi
code=$("$python" -c '
import json, sys
try:
    summary = json.load(open(sys.argv[1]))["summary"]
    code = int(summary["exit_code"])
    assert code in (0, 1, 2)
except Exception as exc:
    print(f"drift.sh: unreadable report {sys.argv[1]}: {exc}", file=sys.stderr)
    code = 1
print(code)
' "$report")
echo "drift.sh: report in $report_dir (drift.json, drift.md, drift.xml); exit status $code" >&2
exit "$code"
