#!/bin/sh
# Stand-ins for the team's services (examples/team), run in a guest as root: the guests have no nginx or
# PostgreSQL, so units of those names run a sleeping process (the collection binds units by name; what runs inside
# does not matter to it). The nightly jobs are oneshots started by timers that do not fire during the test; when
# started, each writes what the kernel shows for it (OOM score, cgroups, THP fields) to /run/team/<unit>.out.
#
#   stand-ins.sh web|db      the services and timers of that host class are started
set -eu
d=/etc/systemd/system
printf '[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n' >$d/nginx.service
printf '[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n' >$d/postgresql@.service
printf '[Service]\nType=oneshot\nExecStart=/usr/local/bin/team-job-evidence backup.service\n' >$d/backup.service
printf '[Timer]\nOnCalendar=*-01-01 02:00\n[Install]\nWantedBy=timers.target\n' >$d/backup.timer
printf '[Service]\nType=oneshot\nExecStart=/usr/local/bin/team-job-evidence report@%%i.service\n' >$d/report@.service
printf '[Timer]\nOnCalendar=*-01-01 03:00\n[Install]\nWantedBy=timers.target\n' >$d/report@1.timer
cat >/usr/local/bin/team-job-evidence <<'SH'
#!/bin/sh
# team-job-evidence UNIT: what the kernel shows for this process, as the job runs.
mkdir -p /run/team
{ echo "oom_score_adj $(cat /proc/self/oom_score_adj)"
  sed 's/^/cgroup /' /proc/self/cgroup
  grep '^THP_' /proc/self/status || true
} >"/run/team/$1.out"
SH
chmod 755 /usr/local/bin/team-job-evidence
systemctl daemon-reload
case "$1" in
    web) systemctl enable --now nginx.service ;;
    db) systemctl enable --now postgresql@16-main.service backup.timer report@1.timer ;;
    *) echo "usage: $0 web|db" >&2; exit 2 ;;
esac
