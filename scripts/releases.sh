#!/usr/bin/env bash
# Every Ceph release cephgw's users run, each with its own daemons, librados and Debian Python:
# the host's release runs natively, the others in Debian chroots built here (as root).
#
#   releases.sh list                    the releases, and how each runs on this host
#   releases.sh build RELEASE           build (or reuse) RELEASE's chroot
#   releases.sh run RELEASE CMD...      run CMD in a fresh copy of this tree inside it
#   releases.sh test RELEASE            the suite on RELEASE (natively on the host's own)
#   releases.sh test-all                the suite on every release, then a summary
#   releases.sh remove RELEASE|all      unmount and delete chroots
#   releases.sh record                  record the restful module's answers on Reef, for
#                                       the releases without it (tests/integration/recorded/)
#
# CEPHGW_RELEASES_FRESH=1 rebuilds every chroot instead of reusing one (CI sets it: a cached
# chroot is for local runs only). Chroots live in .releases/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

# release  Debian suite  Python  restful module shipped
RELEASES=(
    "pacific  bookworm 3.11 yes"
    "reef     trixie   3.13 yes"
    "tentacle sid      3.14 no"
)
# What a minimal Debian lacks that the project's own bootstrap needs to start.
CHROOT_BASE_PACKAGES=(make ca-certificates)
root_dir=$top/.releases

die() { echo "releases: $*" >&2; exit 1; }

field() {  # field RELEASE N: column N of RELEASE's row
    local row
    for row in "${RELEASES[@]}"; do
        read -r -a cols <<<"$row"
        if [ "${cols[0]}" = "$1" ]; then echo "${cols[$2]}"; return 0; fi
    done
    die "unknown release '$1' (known: $(release_names))"
}
release_names() { local r; for r in "${RELEASES[@]}"; do printf '%s ' "${r%% *}"; done; }

host_suite() {
    local v
    v=$(cat /etc/debian_version 2>/dev/null) || die "not a Debian machine (/etc/debian_version missing)"
    case "$v" in
        12.*|bookworm*) echo bookworm ;;
        13.*|trixie/sid) echo trixie ;;
        */sid|sid) echo sid ;;
        *) die "Debian $v: no release of this project runs on it natively" ;;
    esac
}
is_native() { [ "$(field "$1" 1)" = "$(host_suite)" ]; }

mirror() {
    # The mirror apt already uses here (deb822 sources first, then the one-line format).
    local uri=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

# -- mounts: the one dangerous part ---------------------------------------------------------

mounts_under() { findmnt -rn -o TARGET | awk -v d="$1" 'index($0, d "/") == 1 || $0 == d'; }

mount_chroot() {
    local dir=$1
    mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc"
    mountpoint -q "$dir/sys" || mount -t sysfs sys "$dir/sys"
    if ! mountpoint -q "$dir/dev"; then
        mount --rbind /dev "$dir/dev"
        # A slave copy: unmounting it later can never unmount anything of the host's /dev.
        mount --make-rslave "$dir/dev"
    fi
}

unmount_chroot() {
    local dir=$1 target
    # Without a mount table (no /proc, e.g. inside a chroot whose /proc is gone) every check
    # below would see nothing mounted, and remove_dir would go on to rm. The whole table is
    # asked for, not the mount of /: in a chroot used as the host (a Debian 13 host tried
    # from a Debian 12 one) / is no mount point, and `findmnt /` fails with /proc there.
    [ -r /proc/self/mountinfo ] && findmnt -rn -o TARGET >/dev/null 2>&1 \
        || die "cannot read the mount table (is /proc mounted?): not unmounting or removing $dir"
    # Deepest first, so nothing is left busy under a mount point being removed.
    for target in $(mounts_under "$dir" | sort -r); do
        umount -R "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true
    done
    if [ -n "$(mounts_under "$dir")" ]; then
        die "could not unmount everything under $dir: $(mounts_under "$dir" | tr '\n' ' ')"
    fi
}

remove_dir() {
    # Never rm through a mount: unmount first, check, and keep rm on this one file system.
    local dir=$1
    [ -e "$dir" ] || return 0
    unmount_chroot "$dir"
    [ -z "$(mounts_under "$dir")" ] || die "refusing to remove $dir: something is mounted in it"
    rm -rf --one-file-system "$dir"
}

# -- building -------------------------------------------------------------------------------

chroot_dir() { echo "$root_dir/$(field "$1" 1)"; }

in_chroot() {  # in_chroot DIR CMD...: CMD as root in DIR, with a clean environment
    local dir=$1; shift
    local env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
        LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive PIP_CERT=/etc/cephgw-host-ca.crt)
    local var
    # The host's pip settings (its index, timeouts) hold in the chroot too.
    for var in $(compgen -e | grep '^PIP_' | grep -v '^PIP_CERT$' || true); do
        env+=("$var=${!var}")
    done
    chroot "$dir" /usr/bin/env -i "${env[@]}" "$@"
}

build() {
    local release=$1 suite dir tmp
    suite=$(field "$release" 1)
    dir=$(chroot_dir "$release")
    if [ -f "$dir/.cephgw-chroot-ready" ] && [ "${CEPHGW_RELEASES_FRESH:-0}" != 1 ]; then
        echo "releases: reusing the $release chroot ($dir)" >&2
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || die "building a chroot needs root"
    remove_dir "$dir"
    tmp=$dir.building
    remove_dir "$tmp"
    mkdir -p "$root_dir"
    if ! command -v debootstrap >/dev/null; then
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends debootstrap >/dev/null
    fi
    local started=$SECONDS
    echo "releases: building the $release chroot (Debian $suite) in $dir" >&2
    # Ceph is installed afterwards: --include=ceph-mon fails on sid (systemd's pre-dependency order).
    if ! debootstrap --variant=minbase "$suite" "$tmp" "$(mirror)" >"$root_dir/$suite.debootstrap.log" 2>&1; then
        tail -n 5 "$root_dir/$suite.debootstrap.log" >&2
        unmount_chroot "$tmp"  # debootstrap leaves proc/sys mounted when it fails
        die "$release: debootstrap $suite failed (log: $root_dir/$suite.debootstrap.log)"
    fi
    # The mirror's Release files may be past Valid-Until; the host's apt ignores that too.
    cat >"$tmp/etc/apt/apt.conf.d/99cephgw-no-date-check" <<'EOF'
Acquire::Check-Valid-Until "false";
Acquire::Check-Date "false";
EOF
    # No systemd in a chroot: package scripts must not try to start services.
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod 755 "$tmp/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
    # pip reaches PyPI as the host does: the host's CA bundle and pip settings.
    cp /etc/ssl/certs/ca-certificates.crt "$tmp/etc/cephgw-host-ca.crt"
    [ -f /etc/pip.conf ] && cp /etc/pip.conf "$tmp/etc/pip.conf"
    [ -d /etc/xdg/pip ] && mkdir -p "$tmp/etc/xdg" && cp -r /etc/xdg/pip "$tmp/etc/xdg/"
    mount_chroot "$tmp"
    trap 'unmount_chroot "$tmp"' EXIT
    in_chroot "$tmp" apt-get update -q >/dev/null \
        || die "$release: apt-get update failed in the chroot"
    in_chroot "$tmp" apt-get install -y -q --no-install-recommends "${CHROOT_BASE_PACKAGES[@]}" >/dev/null \
        || die "$release: installing ${CHROOT_BASE_PACKAGES[*]} failed in the chroot"
    unmount_chroot "$tmp"
    trap - EXIT
    touch "$tmp/.cephgw-chroot-ready"
    mv "$tmp" "$dir"
    echo "releases: $release chroot built in $((SECONDS - started)) s" >&2
}

# The tree as git sees it (tracked and untracked, not ignored), copied into the chroot; the
# chroot's own venv and node_modules are kept between runs.
sync_tree() {
    local dir=$1 dest=$1/cephgw
    mkdir -p "$dest"
    find "$dest" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf --one-file-system {} +
    git ls-files -co --exclude-standard -z \
        | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
        | tar --null -T - -cf - | tar -C "$dest" -xf -
}

run() {
    local release=$1; shift
    local dir
    build "$release"
    dir=$(chroot_dir "$release")
    sync_tree "$dir"
    mount_chroot "$dir"
    trap 'unmount_chroot "$dir"' EXIT
    local rc=0
    in_chroot "$dir" /bin/bash -c 'cd /cephgw && "$@"' run "$@" || rc=$?
    unmount_chroot "$dir"
    trap - EXIT
    return "$rc"
}

# -- testing --------------------------------------------------------------------------------

test_release() {
    local release=$1
    if is_native "$release"; then
        echo "releases: $release on the host (Debian $(host_suite))" >&2
        make --no-print-directory test
    else
        echo "releases: $release in a Debian $(field "$release" 1) chroot" >&2
        run "$release" make --no-print-directory test-cluster
    fi
}

test_all() {
    local release rc started summary=() failed=0
    for release in $(release_names); do
        started=$SECONDS
        rc=0
        test_release "$release" 2>&1 | tee "$root_dir/$release.log" || rc=${PIPESTATUS[0]}
        local line
        line=$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$root_dir/$release.log" | tail -n 1 | tr -d '=' | xargs || true)
        if [ "$rc" -eq 0 ]; then
            summary+=("$release: ok in $((SECONDS - started)) s (${line:-no pytest summary})")
        else
            failed=1
            reason=${line:-$(grep -E '^releases: ' "$root_dir/$release.log" | tail -n 1)}
            summary+=("$release: FAILED (exit $rc) in $((SECONDS - started)) s: ${reason:-see $root_dir/$release.log}")
        fi
    done
    echo
    echo "releases: summary"
    printf '  %s\n' "${summary[@]}"
    return "$failed"
}

# The module's answers, recorded where the module still ships (Reef) into the host's tree.
RECORD_RELEASE=reef
RECORDED=tests/integration/recorded/$RECORD_RELEASE
record() {
    local recorder=(.venv/bin/python -m tests.integration.record_module --release "$RECORD_RELEASE")
    if is_native "$RECORD_RELEASE"; then
        make --no-print-directory setup-cluster && "${recorder[@]}"
        return
    fi
    run "$RECORD_RELEASE" bash -c 'make --no-print-directory setup-cluster && "$@"' record "${recorder[@]}"
    rm -rf "$RECORDED"
    mkdir -p "$(dirname "$RECORDED")"
    cp -r "$(chroot_dir "$RECORD_RELEASE")/cephgw/$RECORDED" "$RECORDED"
    echo "releases: recorded answers copied to $RECORDED" >&2
}

case "${1:-}" in
    list)
        for release in $(release_names); do
            how=chroot; is_native "$release" && how=native
            echo "$release: Debian $(field "$release" 1), Python $(field "$release" 2), module $(field "$release" 3), $how"
        done ;;
    build) build "${2:?release}" ;;
    run) r=${2:?release}; shift 2; run "$r" "$@" ;;
    test) test_release "${2:?release}" ;;
    test-all) mkdir -p "$root_dir"; test_all ;;
    record) record ;;
    remove)
        if [ "${2:?release or all}" = all ]; then
            for release in $(release_names); do remove_dir "$(chroot_dir "$release")"; done
        else
            remove_dir "$(chroot_dir "$2")"
        fi ;;
    *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
