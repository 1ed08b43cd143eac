# cephgw in a container, to run beside each ceph-mgr (docs/deploy.md).
#
#   docker build -t cephgw .
#   docker run -d --network host -v /etc/ceph:/etc/ceph:ro cephgw
#
# Which Ceph: the rados binding is Debian's python3-rados, never a PyPI package, so that it
# is the librados it was built against. Debian 12 (bookworm) ships Ceph 16.2 (pacific). The
# JSON the gateway serves comes from the cluster's daemons, and a cluster accepts clients a
# few releases older than itself, but match the cluster's release where you can: for a
# newer cluster build on Debian 13 (`--build-arg DEBIAN_RELEASE=trixie`, Ceph 18.2 reef), or
# add the Ceph project's own apt repository for your release (download.ceph.com,
# debian-<release>, with its release key) to the runtime stage before installing
# python3-rados. The test cluster of this repository runs Debian's Ceph of the same release.
ARG DEBIAN_RELEASE=bookworm

# ---- build: the project and its dependencies in a venv (no compiler: all ship wheels) ----
FROM debian:${DEBIAN_RELEASE}-slim AS build

# Debian's packages are not pinned: a rebuild should pick up the release's security fixes.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY cli ./cli
# Built from Debian's /usr/bin/python3: the interpreter python3-rados is built for.
RUN python3 -m venv /opt/cephgw \
    && /opt/cephgw/bin/pip install --no-cache-dir . \
    && /opt/cephgw/bin/pip uninstall --yes pip

# ---- runtime: Python, the rados binding, the venv; runs as a user of its own -------------
FROM debian:${DEBIAN_RELEASE}-slim

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-rados python3-ceph-argparse \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /opt/cephgw /opt/cephgw

# As scripts/bootstrap.sh does: only the rados extension module and ceph_argparse are linked
# into the venv (not Debian's whole dist-packages), and the build fails here if the venv
# cannot import them.
RUN set -- /usr/lib/python3/dist-packages/rados.cpython-*.so \
    && site="$(/opt/cephgw/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    && ln -s "$1" /usr/lib/python3/dist-packages/ceph_argparse.py "$site/" \
    && /opt/cephgw/bin/python -c 'import rados, ceph_argparse' \
    && groupadd --system --gid 10001 cephgw \
    && useradd --system --uid 10001 --gid cephgw --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin cephgw

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# ceph.conf and the keyring of the gateway's cephx user (readable by uid 10001).
VOLUME /etc/ceph
EXPOSE 8003

# Numeric, so that an orchestrator's runAsNonRoot can check it.
USER 10001:10001

# Liveness on /healthz. The server terminates TLS with a certificate made for the names
# clients use (often self-signed, from `cephgw create-self-signed-cert`), not for
# 127.0.0.1, so the probe does not verify it: it only asks whether this process answers,
# over loopback, and sends no credential an impostor could take. Set
# CEPHGW_HEALTHCHECK_URL when serving elsewhere (--port, or http:// with --insecure-http).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/opt/cephgw/bin/python", "-c", "import os, ssl, urllib.request as r; r.urlopen(os.environ.get('CEPHGW_HEALTHCHECK_URL', 'https://127.0.0.1:8003/healthz'), timeout=4, context=ssl._create_unverified_context())"]

ENTRYPOINT ["/opt/cephgw/bin/cephgw", "serve"]
# The certificate is read from config-key (mgr/restful/<mgr>/crt, then mgr/restful/crt) as
# the restful module did; pass --mgr-name (or CEPHGW_MGR_NAME) for a per-mgr one, or
# --cert-file/--key-file for files under /etc/ceph.
CMD ["--conf", "/etc/ceph/ceph.conf", \
     "--name", "client.cephgw", \
     "--keyring", "/etc/ceph/ceph.client.cephgw.keyring", \
     "--addr", "::", \
     "--port", "8003"]
