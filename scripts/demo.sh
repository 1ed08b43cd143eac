#!/usr/bin/env bash
# `make demo`: a throwaway cluster, an admin key, a self-signed certificate, and the gateway on
# https://127.0.0.1:8003. Ctrl-C stops the gateway and the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${CEPHGW_DEMO_DIR:-/tmp/cephgw-demo}
port=${CEPHGW_DEMO_PORT:-8003}
cephgw=.venv/bin/cephgw

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port is taken; stop what listens there or set CEPHGW_DEMO_PORT" >&2
    exit 2
fi

$cephgw dev-cluster down --dir "$dir" >/dev/null 2>&1 || true
$cephgw dev-cluster up --dir "$dir" --osds 3 --pool demo
export CEPH_CONF="$dir/ceph.conf"

server_pid=""
cleanup() {
    # make answers Ctrl-C by sending TERM to this script too: ignore both, or the second
    # signal would cut the cleanup short and leave the cluster running.
    trap '' INT TERM
    trap - EXIT
    set +e  # the gateway's exit status after the kill must not end the cleanup
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    $cephgw dev-cluster down --dir "$dir" || true
}
trap cleanup EXIT INT TERM

$cephgw create-self-signed-cert --keyring "$dir/keyring" >/dev/null
key=$($cephgw create-key admin --role admin --keyring "$dir/keyring" 2>/dev/null)

$cephgw serve --keyring "$dir/keyring" --addr 127.0.0.1 --port "$port" &
server_pid=$!

for _ in $(seq 1 100); do
    if curl -ksf -u "admin:$key" "https://127.0.0.1:$port/osd" >/dev/null 2>&1; then
        break
    fi
    kill -0 "$server_pid" 2>/dev/null || { echo "demo: the gateway exited" >&2; exit 1; }
    sleep 0.2
done

cat <<MSG

cephgw is serving https://127.0.0.1:$port on a throwaway cluster ($dir).
  admin key: $key
  try:       curl -k -u admin:$key https://127.0.0.1:$port/osd
  API map:   curl -k https://127.0.0.1:$port/doc
Ctrl-C stops the gateway and the cluster.

MSG
wait "$server_pid"
