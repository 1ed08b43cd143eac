#!/usr/bin/env bash
# Installs what cephgw needs on a Debian machine (12, 13 or sid): Ceph's packages, a venv
# built from Debian's own /usr/bin/python3 (the interpreter python3-rados is built
# for), the project with its dev tools, and the rados binding linked into the venv.
#
# --cluster-only leaves out what only the host-only tests need (a browser, Node.js): the
# other Ceph releases' chroots run everything that touches a cluster, not those.
set -euo pipefail
cd "$(dirname "$0")/.."

host_tools=1
[ "${1:-}" = --cluster-only ] && host_tools=0

# zabbix-agent2: the real Zabbix client of tests/integration/test_clients.py; haproxy: the
# load balancer of tests/integration/test_balancer.py.
# python3-ceph-argparse: the CLI's command validation, which POST /request applies.
apt_packages=(ceph-mon ceph-mgr ceph-osd ceph-mgr-modules-core python3-rados python3-ceph-argparse
    python3-venv curl zabbix-agent2 haproxy)
# chromium + chromium-driver: the Swagger UI browser test (tests/integration/test_swagger_ui.py).
[ "$host_tools" = 1 ] && apt_packages+=(chromium chromium-driver)
# wrk: the load generator of `make bench` (bench/bench_all.py).
[ "$host_tools" = 1 ] && apt_packages+=(wrk)
missing=()
for pkg in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Node.js and npm for the TypeScript SDK check (tests/integration/test_sdk.py); a Node.js
# installed another way (with its own npm) is kept.
[ "$host_tools" = 1 ] && { command -v npm >/dev/null || missing+=(nodejs npm); }
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "bootstrap: run as root (or install: apt-get install ${missing[*]})" >&2
        exit 2
    fi
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    /usr/bin/python3 -m venv .venv
fi

stamp=.venv/.cephgw-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch "$stamp"
fi

# Only the rados extension module and ceph_argparse go into the venv, not Debian's whole
# dist-packages.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
so=$(ls /usr/lib/python3/dist-packages/rados.cpython-*.so 2>/dev/null | head -n1 || true)
if [ -z "$so" ]; then
    echo "bootstrap: python3-rados is installed but its rados.cpython-*.so was not found" >&2
    exit 2
fi
ln -sf "$so" "$site/$(basename "$so")"
ln -sf /usr/lib/python3/dist-packages/ceph_argparse.py "$site/ceph_argparse.py"
.venv/bin/python -c 'import rados' || { echo "bootstrap: the venv cannot import rados" >&2; exit 2; }
.venv/bin/python -c 'import ceph_argparse' || {
    echo "bootstrap: the venv cannot import ceph_argparse (python3-ceph-argparse)" >&2
    exit 2
}

[ "$host_tools" = 1 ] || exit 0
# openapi-typescript and tsc for the TypeScript SDK check, pinned by tests/sdk/ts/package-lock.json.
ts=tests/sdk/ts
if [ ! -f "$ts/node_modules/.package-lock.json" ] || [ "$ts/package-lock.json" -nt "$ts/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$ts" --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null
fi
