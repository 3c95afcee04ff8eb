#!/usr/bin/env bash
# Build the policy-groups reference kernel (or fetch it from the cache).
#
# Usage: kernel/build.sh [--flavour guest|localmod|debian] [--modules FILE]... [--unpatched] [--patches DIR]
#                        [--allow-checkpatch-findings] [--jobs N] [--list-patches]
#
#   --flavour NAME               what to build (default guest):
#                                guest     tinyconfig + kernel/config/policy-guest.config: a bzImage for QEMU
#                                          guests booted with -kernel (no modules, no initramfs); the VM tests'
#                                localmod  Debian's own configuration for the release and architecture (package
#                                          linux-config-6.12), reduced by `make localmodconfig` to the modules of
#                                          the --modules lists, plus kernel/config/policy-package.config; built as
#                                          Debian packages (`make bindeb-pkg`: linux-image-*, linux-headers-*)
#                                debian    the same without the reduction: Debian's whole configuration
#   --modules FILE               with localmod: the modules the target hosts load, as `lsmod` prints them (or one
#                                name per line); several lists are joined (the union over the hosts). A line
#                                "# policygroups modules: host=H release=R architecture=A" (the policy_kernel
#                                role writes it, playbooks/kernel.yml) names the host's Debian release
#   --release NAME               package flavours: a Debian release (codename) the packages are for; the role
#                                refuses hosts of other releases. Default: the releases the --modules lists name,
#                                else this machine's
#   --unpatched                  same configuration, without kernel/patches/ (baseline for benchmarks;
#                                the series-only options of the fragment are then not required)
#   --patches DIR                apply DIR/*.patch instead of kernel/patches/ (to try a series in progress, or
#                                to build a prefix of it: options of the fragment's series section that no
#                                Kconfig of the patched tree defines are then not required)
#   --allow-checkpatch-findings  record checkpatch findings in checkpatch.log but do not fail on them
#                                (for work in progress; the result is cached under a different key)
#   --jobs N                     parallel make jobs (default: number of CPUs)
#   --list-patches               print the series (the patches applied, checked and keyed, in order) and exit
#
# The series is every *.patch of the directory in name order, except a cover letter (0000-*.patch, as
# git format-patch --cover-letter names it): it describes the series, it is no patch, so it is neither
# applied nor given to checkpatch, and it is not part of the cache key (editing it rebuilds nothing).
#
# Steps: install build dependencies (apt, only what is missing), unpack Debian's linux-source-6.12
# into .cache/kernel/src-<version>, check that every patch of the series applies (naming the first
# one that does not), run scripts/checkpatch.pl --strict on the series, configure from tinyconfig
# plus kernel/config/policy-guest.config (package flavours: Debian's configuration, reduced for localmod,
# plus kernel/config/policy-package.config), verify that every fragment line took effect, build
# bzImage with ccache (package flavours: `make bindeb-pkg`), and build the selftest
# tools/testing/selftests/cgroup/test_policy statically when the series contains it. The compile
# stage prints its progress (objects compiled, elapsed) every 30 s.
#
# The result is cached in .cache/kernel/<key>/ (bzImage, config, kernelrelease, test_policy,
# checkpatch.log, manifest; package flavours also *.deb) where <key> is the sha256 of the source
# package version, the series, the fragments, the flavour (with Debian's configuration version and
# the module list), this script and the compiler version. Stage timings go to stdout; the LAST
# stdout line is the result directory. Make output goes to .cache/kernel/logs/.
set -euo pipefail

SOURCE_PACKAGE=linux-source-6.12
SOURCE_TARBALL=/usr/src/linux-source-6.12.tar.xz
ARCH=x86_64
export ARCH

die() { printf 'kernel/build.sh: error: %s\n' "$*" >&2; exit 1; }
modules_file=
progress_pid=
cleanup() {
    [[ -z $progress_pid ]] || kill "$progress_pid" 2>/dev/null || true
    [[ -z $modules_file ]] || rm -f "$modules_file"
}
trap cleanup EXIT
note() { printf 'kernel/build.sh: %s\n' "$*" >&2; }

unpatched=0
flavour=guest
module_lists=()
releases=()
patch_dir=
own_series=0
allow_findings=0
list_only=0
jobs=$(nproc)
while (($#)); do
    case $1 in
        --unpatched) unpatched=1 ;;
        --flavour) shift; flavour=${1:?--flavour needs a name} ;;
        --release) shift; releases+=("${1:?--release needs a codename}") ;;
        --modules) shift; module_lists+=("$(realpath -e "${1:?--modules needs a file}")") || die "no such file: $1" ;;
        --patches) shift; patch_dir=$(cd "${1:?--patches needs a directory}" && pwd); own_series=1 ;;
        --allow-checkpatch-findings) allow_findings=1 ;;
        --jobs) shift; jobs=${1:?--jobs needs a number} ;;
        --list-patches) list_only=1 ;;
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done

case $flavour in
    guest | debian) ((${#module_lists[@]} == 0)) || die "--modules is for --flavour localmod" ;;
    localmod) ((${#module_lists[@]})) || die "--flavour localmod needs --modules FILE (the hosts' lsmod)" ;;
    *) die "unknown flavour: $flavour (guest, localmod or debian)" ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
fragment=$here/config/policy-guest.config
[[ $flavour == guest ]] || fragment=$here/config/policy-package.config
CONFIG_PACKAGE=linux-config-6.12
DEBIAN_CONFIG=/usr/src/linux-config-6.12/config.amd64_none_amd64.xz
patch_dir=${patch_dir:-$here/patches}
cache=$repo/.cache/kernel

# The series: one array serves the cache key, the patch stage and checkpatch, so they cannot disagree.
patches=()
if ((!unpatched)); then
    shopt -s nullglob
    for p in "$patch_dir"/*.patch; do
        [[ $(basename "$p") == 0000-* ]] || patches+=("$p")
    done
    shopt -u nullglob
fi
if ((list_only)); then
    ((${#patches[@]} == 0)) || basename -a "${patches[@]}"
    exit 0
fi
mkdir -p "$cache/logs"

# ---------------------------------------------------------------------------------------------
# timing helpers
t_start=$(date +%s.%N)
t_stage=$t_start
stage_done() {
    local now
    now=$(date +%s.%N)
    printf 'stage %-12s %7.1f s\n' "$1" "$(echo "$now - $t_stage" | bc)"
    t_stage=$now
}

# ---------------------------------------------------------------------------------------------
# 1. build dependencies
deps=(build-essential bc bison flex libelf-dev libssl-dev dwarves cpio ccache kmod rsync xz-utils
      perl git python3 "$SOURCE_PACKAGE")
[[ $flavour == guest ]] || deps+=(dpkg-dev fakeroot debhelper "$CONFIG_PACKAGE")
# shellcheck source=scripts/lib/apt.sh
source "$repo/scripts/lib/apt.sh"
ensure_debs "${deps[@]}" || die "could not install the build dependencies ${deps[*]}"
[[ -r $SOURCE_TARBALL ]] || die "$SOURCE_TARBALL is missing although $SOURCE_PACKAGE is installed"
src_version=$(dpkg-query -W -f='${Version}' "$SOURCE_PACKAGE")
config_version=
if [[ $flavour != guest ]]; then
    [[ -r $DEBIAN_CONFIG ]] || die "$DEBIAN_CONFIG is missing although $CONFIG_PACKAGE is installed"
    config_version=$(dpkg-query -W -f='${Version}' "$CONFIG_PACKAGE")
fi
if [[ $flavour == localmod ]]; then
    # the union of the lists, one module per line, sorted: lsmod's header and other columns dropped
    modules_file=$(mktemp)
    awk '$1 != "Module" && $1 ~ /^[A-Za-z0-9_-]+$/ { print $1 }' "${module_lists[@]}" | sort -u >"$modules_file"
    [[ -s $modules_file ]] || die "the --modules lists name no module"
    if ((${#releases[@]} == 0)); then
        mapfile -t releases < <(sed -n 's/^# policygroups modules:.* release=\([a-z0-9]*\).*/\1/p' \
            "${module_lists[@]}" | sort -u)
    fi
fi
if [[ $flavour != guest ]] && ((${#releases[@]} == 0)); then
    releases=("$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")")
fi
stage_done deps

# ---------------------------------------------------------------------------------------------
# 2. cache key
variant=series
((unpatched)) && variant=stock
key=$(
    {
        printf 'source %s\nvariant %s\nfindings-allowed %s\n' "$src_version" "$variant" "$allow_findings"
        if [[ $flavour != guest ]]; then
            printf 'flavour %s\nconfig %s\nreleases %s\n' "$flavour" "$config_version" "${releases[*]}"
            [[ -z $modules_file ]] || { printf 'modules\n'; cat "$modules_file"; }
        fi
        gcc --version | head -n1
        for p in "${patches[@]}"; do printf 'patch %s\n' "$(basename "$p")"; cat "$p"; done
        printf 'fragment\n'; cat "$fragment"
        printf 'script\n'; cat "${BASH_SOURCE[0]}"
    } | sha256sum | cut -c1-16
)
result=$cache/$key
if [[ -f $result/manifest ]]; then
    stage_done cache-hit
    printf '%s\n' "$result"
    exit 0
fi

# One build at a time per checkout: trees and object directories are shared.
exec 9>"$cache/.build.lock"
if ! flock -n 9; then
    note "another kernel build is running; waiting for it"
    flock 9
fi
if [[ -f $result/manifest ]]; then
    stage_done cache-hit
    printf '%s\n' "$result"
    exit 0
fi
log=$cache/logs/build-$key.log
: >"$log"
note "building $variant kernel ($SOURCE_PACKAGE $src_version, ${#patches[@]} patches); log: ${log#"$repo"/}"
run() { # run a command with its output in the build log; show the log tail on failure
    if ! "$@" >>"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "failed: $* (full log: ${log#"$repo"/})"
    fi
}

# ---------------------------------------------------------------------------------------------
# 3. source trees: a pristine one, and a copy carrying the series
pristine=$cache/src-$src_version
if [[ ! -f $pristine/.unpacked ]]; then
    rm -rf "$pristine" "$pristine.tmp"
    mkdir -p "$pristine.tmp"
    tar -C "$pristine.tmp" --strip-components=1 -xf "$SOURCE_TARBALL"
    touch "$pristine.tmp/.unpacked"
    mv "$pristine.tmp" "$pristine"
fi
stage_done unpack

# Keep git from treating the enclosing project checkout as the kernel's repository.
export GIT_CEILING_DIRECTORIES=$cache

if ((unpatched)); then
    tree=$pristine
else
    tree=$cache/src-$src_version-series
    touched=$tree/.series-files # paths the applied series changed, one per line
    if [[ ! -f $tree/.unpacked ]]; then
        rm -rf "$tree"
        cp -a "$pristine" "$tree"
        : >"$touched"
    elif [[ ! -f $touched ]]; then
        # State unknown (interrupted run): compare the whole tree with the pristine one. Without -t,
        # a file whose content differs is rewritten with a fresh mtime, so make rebuilds its users.
        rsync -r -l --checksum --delete "$pristine/" "$tree/"
        : >"$touched"
    fi
    # Undo the previous series: restore what it changed (with a fresh mtime), delete what it added.
    while IFS= read -r f; do
        if [[ -e $pristine/$f ]]; then
            mkdir -p "$(dirname "$tree/$f")"
            cp "$pristine/$f" "$tree/$f"
        else
            rm -f "$tree/$f"
        fi
    done <"$touched"
    mv "$touched" "$touched.undo" # any failure below forces the full comparison next time
    rm -f "$touched.new"
    applied=
    for p in "${patches[@]}"; do
        name=$(basename "$p")
        if ! git -C "$tree" apply --check "$p" 2>"$cache/logs/apply.err"; then
            cat "$cache/logs/apply.err" >&2
            die "patch $name does not apply to $SOURCE_PACKAGE $src_version (after ${applied:-no patches})"
        fi
        git -C "$tree" apply --numstat "$p" | cut -f3- >>"$touched.new"
        git -C "$tree" apply "$p"
        applied="${applied:+$applied, }$name"
    done
    touch "$touched.new"
    sort -u "$touched.new" >"$touched"
    rm -f "$touched.new" "$touched.undo"
fi
stage_done patch

# ---------------------------------------------------------------------------------------------
# 4. checkpatch --strict on the series
checkpatch_log=$cache/logs/checkpatch-$key.log
if ((${#patches[@]})); then
    findings=0
    (cd "$tree" && scripts/checkpatch.pl --strict --color=never --summary-file --showfile \
        "${patches[@]}") >"$checkpatch_log" 2>&1 || findings=1
    if ((findings)); then
        grep -E '(ERROR|WARNING|CHECK):|total:' "$checkpatch_log" >&2 || true
        if ((allow_findings)); then
            note "checkpatch --strict has findings (allowed by --allow-checkpatch-findings)"
        else
            die "checkpatch --strict reports errors, warnings or checks (see ${checkpatch_log#"$repo"/})"
        fi
    fi
else
    printf 'no patches: nothing to check\n' >"$checkpatch_log"
fi
stage_done checkpatch

# ---------------------------------------------------------------------------------------------
# 5. configure: tinyconfig (package flavours: Debian's configuration, reduced to the hosts' modules for
#    localmod) + fragment, then verify every line took effect
obj=$cache/obj-$variant
[[ $flavour == guest ]] || obj=$cache/obj-$variant-$flavour
mkdir -p "$obj"
# ccache's depend mode: a miss costs the compile alone. In its default modes a miss also runs the preprocessor
# (to key the result), which for kernel sources is a large part of a compile: the mm/ and kernel/ objects of the
# guest configuration (255) took 91 s on a cold cache against 63 s without ccache and 64-69 s in depend mode, and
# a build from nothing (CI) is all misses. Hits stay as cheap (the same objects again: 3.8 s, every one a hit): it
# keys on the compiler's own dependency list (kbuild's -Wp,-MMD), as direct mode keys on the included files.
export CCACHE_DIR=$repo/.cache/ccache CCACHE_BASEDIR=$cache CCACHE_MAXSIZE=5G CCACHE_COMPRESS=1 CCACHE_DEPEND=1
export KBUILD_BUILD_USER=policygroups KBUILD_BUILD_HOST=build KBUILD_BUILD_TIMESTAMP="$src_version"
localversion=-policy
((unpatched)) && localversion=-stock
[[ $flavour == guest ]] || localversion=$localversion-$flavour
mk=(make -C "$tree" O="$obj" -j"$jobs" CC="ccache gcc" HOSTCC="ccache gcc" LOCALVERSION="$localversion")

# Options after the "series" marker exist only with the series applied.
active_fragment=$cache/logs/fragment-$variant.config
if ((${#patches[@]})); then
    grep -v '^# --- series' "$fragment" >"$active_fragment"
else
    sed '/^# --- series/,$d' "$fragment" >"$active_fragment"
fi
cp "$obj/.config" "$obj/.config.prev" 2>/dev/null || true
case $flavour in
    guest) run "${mk[@]}" tinyconfig ;;
    *)
        xz -dc "$DEBIAN_CONFIG" >"$obj/.config"
        run "${mk[@]}" olddefconfig
        if [[ $flavour == localmod ]]; then
            # streamline_config.pl keeps the options of the listed modules (and what they need) and turns
            # every other module off; new questions of the following oldconfig take their defaults
            { yes '' || true; } | run "${mk[@]}" LSMOD="$modules_file" localmodconfig
        fi
        ;;
esac
run "$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$active_fragment"
run "${mk[@]}" olddefconfig
# Keep the previous file (and its mtime) when nothing changed, so make does not re-run syncconfig.
if [[ -f $obj/.config.prev ]] && cmp -s "$obj/.config" "$obj/.config.prev"; then
    mv "$obj/.config.prev" "$obj/.config"
fi
rm -f "$obj/.config.prev"

# With --patches (a series in progress, or a prefix of kernel/patches/), an option of the fragment's
# series section that no Kconfig of the patched tree defines belongs to a later patch: not required.
series_opts=" $(sed -n '/^# --- series/,$p' "$fragment" | grep -oE '^(# )?CONFIG_[A-Za-z0-9_]+' | sed 's/^# //' | paste -sd' ') "
dropped=()
while IFS= read -r line; do
    opt=${line#\# }; opt=${opt%%[= ]*}
    if ((own_series)) && [[ $series_opts == *" $opt "* ]] &&
        ! grep -rqsx --include='Kconfig*' "config ${opt#CONFIG_}" "$tree"; then
        note "$opt: no Kconfig of this series defines it (a later patch does): not required"
        continue
    fi
    case $line in
        CONFIG_*=*) grep -qxF -- "$line" "$obj/.config" || dropped+=("$line") ;;
        '# CONFIG_'*' is not set') grep -q "^$opt=" "$obj/.config" && dropped+=("$line") ;;
    esac
done <"$active_fragment"
if ((${#dropped[@]})); then
    for d in "${dropped[@]}"; do
        opt=${d#\# }; opt=${opt%%[= ]*}
        note "fragment line did not take effect: '$d' (now: $(grep -E "^(# )?${opt}[= ]" "$obj/.config" || echo 'absent: unknown symbol or unmet dependency'))"
    done
    die "${#dropped[@]} fragment option(s) did not take effect"
fi
stage_done configure

# ---------------------------------------------------------------------------------------------
# 6. kernel image (package flavours: the Debian packages), with its progress every 30 s
progress() {  # progress LOG: objects compiled so far (the make log's CC lines) and the time elapsed
    local t0=$SECONDS n
    while sleep 30; do
        n=$(grep -c '^ *CC ' "$1" 2>/dev/null || true)
        printf 'compile: %s objects compiled, %d min %02d s\n' "${n:-0}" $(((SECONDS - t0) / 60)) $(((SECONDS - t0) % 60))
    done
}
progress "$log" &
progress_pid=$!
if [[ $flavour == guest ]]; then
    run "${mk[@]}" bzImage
else
    # packages are written next to the object directory; a previous build's are removed first
    rm -f "$cache"/linux-*.deb "$cache"/linux-*.buildinfo "$cache"/linux-*.changes
    run "${mk[@]}" KDEB_PKGVERSION="${src_version}+policy.${key:0:8}" bindeb-pkg
fi
kill "$progress_pid" 2>/dev/null || true
wait "$progress_pid" 2>/dev/null || true
progress_pid=
release=$(make -s -C "$tree" O="$obj" LOCALVERSION="$localversion" kernelrelease)
stage_done compile

# ---------------------------------------------------------------------------------------------
# 7. selftest (when the series carries it)
selftest_src=tools/testing/selftests/cgroup/test_policy.c
selftest_out=$obj/selftests
if [[ -f $tree/$selftest_src ]]; then
    run "${mk[@]}" headers
    mkdir -p "$selftest_out"
    rm -f "$selftest_out/test_policy"
    run make -C "$tree/tools/testing/selftests/cgroup" OUTPUT="$selftest_out" \
        USERCFLAGS="-isystem $obj/usr/include" USERLDFLAGS=-static "$selftest_out/test_policy"
    stage_done selftest
fi

# ---------------------------------------------------------------------------------------------
# 8. publish the result atomically
staging=$cache/.staging-$key
rm -rf "$staging"
mkdir -p "$staging"
cp "$obj/arch/x86/boot/bzImage" "$staging/bzImage"
cp "$obj/.config" "$staging/config"
if [[ $flavour != guest ]]; then
    mv "$cache"/linux-*.deb "$staging/"
    rm -f "$cache"/linux-*.buildinfo "$cache"/linux-*.changes
    [[ -z $modules_file ]] || install -m 0644 "$modules_file" "$staging/modules"
fi
cp "$checkpatch_log" "$staging/checkpatch.log"
printf '%s\n' "$release" >"$staging/kernelrelease"
[[ -f $selftest_out/test_policy && -f $tree/$selftest_src ]] && cp "$selftest_out/test_policy" "$staging/"
{
    printf 'source_package=%s\nsource_version=%s\nvariant=%s\nkernelrelease=%s\n' \
        "$SOURCE_PACKAGE" "$src_version" "$variant" "$release"
    printf 'flavour=%s\narchitecture=%s\n' "$flavour" "$(dpkg --print-architecture)"
    # the linker's build id of vmlinux, which the running kernel lists in /sys/kernel/notes: every build of one
    # source version has the same release, so the policy_kernel role tells a new build from the running one by it
    printf 'build_id=%s\n' "$(readelf -n "$obj/vmlinux" | sed -n 's/^ *Build ID: *//p' | head -n 1)"
    if [[ $flavour != guest ]]; then
        printf 'config_package=%s\nconfig_version=%s\n' "$CONFIG_PACKAGE" "$config_version"
        printf 'debian_releases=%s\npackage_version=%s\n' "${releases[*]}" "${src_version}+policy.${key:0:8}"
        printf 'packages=%s\n' "$(cd "$staging" && printf '%s\n' *.deb | paste -sd' ')"
    fi
    printf 'patches=%s\n' "$( ((${#patches[@]})) && basename -a "${patches[@]}" | paste -sd' ')"
    printf 'build_seconds=%.0f\n' "$(echo "$(date +%s.%N) - $t_start" | bc)"
    (cd "$staging" && for f in bzImage test_policy *.deb; do [[ ! -f $f ]] || sha256sum "$f"; done)
} >"$staging/manifest.tmp"
mv "$staging/manifest.tmp" "$staging/manifest"
rm -rf "$result"
mv "$staging" "$result"
stage_done publish
printf 'stage %-12s %7.1f s\n' total "$(echo "$(date +%s.%N) - $t_start" | bc)"
printf '%s\n' "$result"
