"""The `cephgw` command: serve the API, manage keys and certificates, run a dev cluster."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias, get_args

import anyio
from pydantic import ValidationError
from pydantic_settings import SettingsError

from app.auth import KeyStore, Role
from app.ceph import restful_config
from app.ceph.client import CephClient, open_client
from app.errors import GatewayError, ServiceUnavailable
from app.settings import JobStoreName, ServerName, Settings
from app.tls import make_self_signed_cert
from cli import dev_cluster
from cli.granian_server import LOG_FORMAT

log = logging.getLogger("cephgw")

DEFAULT_ADDR = "::"
DEFAULT_PORT = 8003


class UsageError(Exception):
    """A mistake on the command line or in the set-up; exit code 2."""


def _add_cluster_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cluster")
    group.add_argument("-c", "--conf", type=Path, help="ceph.conf (default: $CEPH_CONF)")
    group.add_argument("-n", "--name", help="cephx user to connect as (default: client.admin)")
    group.add_argument("-k", "--keyring", type=Path, help="keyring of that user")


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the flags given, falling back to CEPHGW_* env and defaults."""
    fields = set(Settings.model_fields)
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    return Settings(**given)


def _run_with_cluster(
    args: argparse.Namespace, work: Callable[[CephClient, Settings], Coroutine[Any, Any, int]]
) -> int:
    settings = settings_from(args)

    async def main() -> int:
        async with open_client(settings) as ceph:
            return await work(ceph, settings)

    return anyio.run(main)


# -- keys ---------------------------------------------------------------------------------------


def cmd_create_key(args: argparse.Namespace) -> int:
    async def work(ceph: CephClient, settings: Settings) -> int:
        store = KeyStore(ceph, settings)
        secret = await store.create(args.key_name, Role(args.role))
        print(secret)
        print(
            f"key {args.key_name!r} ({args.role}) created; it is shown only this once",
            file=sys.stderr,
        )
        return 0

    return _run_with_cluster(args, work)


def cmd_list_keys(args: argparse.Namespace) -> int:
    async def work(ceph: CephClient, settings: Settings) -> int:
        store = KeyStore(ceph, settings)
        await store.refresh()
        rows = [("NAME", "ROLE", "CREATED", "KIND")]
        for key in store.list():
            kind = "legacy (mgr restful)" if key.legacy else "cephgw"
            rows.append((key.name, key.role.value, key.created or "-", kind))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)), row[3])
        return 0

    return _run_with_cluster(args, work)


def cmd_delete_key(args: argparse.Namespace) -> int:
    async def work(ceph: CephClient, settings: Settings) -> int:
        await KeyStore(ceph, settings).delete(args.key_name)
        print(f"key {args.key_name!r} deleted", file=sys.stderr)
        return 0

    return _run_with_cluster(args, work)


# -- certificates -------------------------------------------------------------------------------


def cmd_create_self_signed_cert(args: argparse.Namespace) -> int:
    async def work(ceph: CephClient, settings: Settings) -> int:
        cert_pem, key_pem = make_self_signed_cert(args.hostname, args.key_type)
        where = await restful_config.put_certificate(ceph, settings.mgr_name, cert_pem, key_pem)
        print(f"self-signed {args.key_type} certificate stored in config-key {where}")
        return 0

    return _run_with_cluster(args, work)


# -- serve --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServePlan:
    """Where and how to listen, resolved before the server starts."""

    addr: str
    port: int
    cert_pem: str | None
    key_pem: str | None


async def resolve_serve_plan(settings: Settings) -> ServePlan:
    """Flag > env > the cluster's restful module settings > defaults; TLS from files or cluster."""
    needs_cluster_cert = not settings.insecure_http and settings.cert_file is None
    addr, port = settings.addr, settings.port
    cert: tuple[str, str] | None = None
    if settings.cert_file is not None and settings.key_file is not None:
        cert = settings.cert_file.read_text(), settings.key_file.read_text()
    if needs_cluster_cert or addr is None or port is None:
        ceph = CephClient(settings)
        while True:
            try:
                await ceph.aconnect()
                break
            except ServiceUnavailable as exc:
                if not needs_cluster_cert:
                    # The address has defaults; serve now and answer 503 until the cluster is up.
                    log.warning("%s; using default listen address", exc.message)
                    break
                log.warning(
                    "%s; the TLS certificate is in the cluster, waiting for it", exc.message
                )
                await anyio.sleep(settings.reconnect_interval)
        try:
            if ceph.connected:
                cluster_addr, cluster_port = await restful_config.get_listen_address(
                    ceph, settings.mgr_name
                )
                addr = addr or cluster_addr
                port = port or cluster_port
                if needs_cluster_cert:
                    cert = await restful_config.get_certificate(ceph, settings.mgr_name)
        finally:
            await ceph.aclose()
    if not settings.insecure_http and cert is None:
        raise UsageError(
            "no TLS certificate: none in config-key mgr/restful/crt "
            f"{'or mgr/restful/' + settings.mgr_name + '/crt ' if settings.mgr_name else ''}"
            "- make one with `cephgw create-self-signed-cert`, pass --cert-file/--key-file, "
            "or use --insecure-http behind a TLS proxy"
            + (
                ""
                if settings.mgr_name
                else " (`ceph restful create-self-signed-cert` stores it per mgr: "
                "pass --mgr-name NAME to use that one)"
            )
        )
    return ServePlan(
        addr=addr or DEFAULT_ADDR,
        port=port or DEFAULT_PORT,
        cert_pem=cert[0] if cert else None,
        key_pem=cert[1] if cert else None,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from cli.serve import serve

    settings = settings_from(args)
    if (settings.cert_file is None) != (settings.key_file is None):
        raise UsageError("--cert-file and --key-file go together")
    plan = anyio.run(resolve_serve_plan, settings)
    if settings.insecure_http:
        log.warning("serving plain HTTP (--insecure-http): keys cross the network in clear")
    serve(settings, plan.addr, plan.port, plan.cert_pem, plan.key_pem)
    return 0


# -- openapi ------------------------------------------------------------------------------------


def cmd_openapi(_: argparse.Namespace) -> int:
    import json

    from app.main import create_app

    # The spec needs no cluster: the app is built, not started. `make openapi` keeps
    # docs/openapi.json equal to this.
    print(json.dumps(create_app().openapi(), indent=2, ensure_ascii=False))
    return 0


# -- wiring -------------------------------------------------------------------------------------


# argparse's subparsers action is generic to type checkers only, hence the quotes.
_SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
_Command: TypeAlias = Callable[[argparse.Namespace], int]


def _cluster_command(
    sub: _SubParsers, name: str, func: _Command, *, summary: str, description: str
) -> argparse.ArgumentParser:
    """A sub-command that talks to the cluster: its parser, with the cluster options."""
    parser = sub.add_parser(name, help=summary, description=description)
    _add_cluster_options(parser)
    parser.set_defaults(func=func)
    return parser


def _add_serve(sub: _SubParsers) -> None:
    serve = _cluster_command(
        sub,
        "serve",
        cmd_serve,
        summary="serve the API",
        description="Serve the API over HTTPS. Listen address and port: flag > CEPHGW_ADDR/"
        "CEPHGW_PORT > the cluster's mgr/restful/server_addr|server_port > :: and 8003. "
        "Certificate: --cert-file/--key-file, else config-key mgr/restful/<mgr>/crt|key, "
        "then mgr/restful/crt|key.",
    )
    serve.add_argument("--addr", help="listen address")
    serve.add_argument("--port", type=int, help="listen port")
    serve.add_argument("--cert-file", type=Path, help="PEM certificate (with --key-file)")
    serve.add_argument("--key-file", type=Path, help="PEM private key")
    serve.add_argument(
        "--mgr-name", help="the mgr this runs beside: selects mgr/restful/<name>/... settings"
    )
    serve.add_argument(
        "--insecure-http",
        action="store_true",
        default=None,
        help="serve plain HTTP, only behind a TLS-terminating proxy",
    )
    serve.add_argument(
        "--server",
        choices=get_args(ServerName),
        help="HTTP server (default: granian)",
    )
    serve.add_argument(
        "--workers", type=int, help="worker processes on the port (default: 1; >1: rados jobs)"
    )
    serve.add_argument(
        "--job-store",
        choices=get_args(JobStoreName),
        help="where job records live: memory (default) or rados (shared by gateways)",
    )
    serve.add_argument(
        "--no-legacy-keys",
        dest="legacy_keys",
        action="store_false",
        default=None,
        help="refuse the restful module's plaintext keys (mgr/restful/keys/*)",
    )


def _add_create_key(sub: _SubParsers) -> None:
    create_key = _cluster_command(
        sub,
        "create-key",
        cmd_create_key,
        summary="create an API key",
        description="Create an API key; prints it once.",
    )
    create_key.add_argument("key_name", metavar="NAME", help="key name (the HTTP Basic user)")
    create_key.add_argument(
        "--role", choices=[r.value for r in Role], default=Role.ADMIN.value, help="default: admin"
    )


def _add_list_keys(sub: _SubParsers) -> None:
    _cluster_command(
        sub,
        "list-keys",
        cmd_list_keys,
        summary="list API keys",
        description="List key names, roles and creation times (never a secret or a hash).",
    )


def _add_delete_key(sub: _SubParsers) -> None:
    delete_key = _cluster_command(
        sub,
        "delete-key",
        cmd_delete_key,
        summary="delete an API key",
        description="Delete an API key; a running gateway stops accepting it within seconds.",
    )
    delete_key.add_argument("key_name", metavar="NAME")


def _add_create_self_signed_cert(sub: _SubParsers) -> None:
    cert = _cluster_command(
        sub,
        "create-self-signed-cert",
        cmd_create_self_signed_cert,
        summary="make and store a self-signed TLS certificate",
        description="Make a self-signed certificate (SAN: host name, 127.0.0.1, ::1) and store "
        "it in config-key mgr/restful/crt|key, or mgr/restful/<mgr-name>/crt|key.",
    )
    cert.add_argument("--mgr-name", help="store it for this mgr only")
    cert.add_argument("--hostname", help="certificate host name (default: this host's FQDN)")
    cert.add_argument("--key-type", choices=["rsa", "ec"], default="rsa", help="default: rsa")


def _add_openapi(sub: _SubParsers) -> None:
    openapi = sub.add_parser(
        "openapi",
        help="print the OpenAPI description (JSON)",
        description="Print the API's OpenAPI 3.1 description, as served on /openapi.json.",
    )
    openapi.set_defaults(func=cmd_openapi)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cephgw",
        description="HTTPS gateway serving the Ceph manager restful module's REST API.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_serve(sub)
    _add_create_key(sub)
    _add_list_keys(sub)
    _add_delete_key(sub)
    _add_create_self_signed_cert(sub)
    _add_openapi(sub)
    dev_cluster.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # One-shot commands print their result alone; only the server logs its progress.
    logging.basicConfig(
        level=logging.INFO if args.command == "serve" else logging.WARNING,
        format=LOG_FORMAT,
    )
    func: _Command = args.func
    try:
        return func(args)
    except (ValidationError, SettingsError) as exc:
        # A bad flag or CEPHGW_* value: one line per problem, not pydantic's traceback.
        problems = (
            [
                ": ".join(filter(None, (".".join(str(p) for p in e["loc"]), e["msg"])))
                for e in exc.errors()
            ]
            if isinstance(exc, ValidationError)
            else [str(exc)]
        )
        print(f"cephgw: invalid setting: {'; '.join(problems)}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"cephgw: {exc}", file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"cephgw: {exc.message}", file=sys.stderr)
        return 1
    # dev-cluster answers its own errors (cli/dev_cluster/command.py).
    except OSError as exc:
        print(f"cephgw: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
