"""Ceph calls for the settings the restful module kept in the cluster, which cephgw reuses:
its certificate (config-key) and its listen address and port (mgr module options)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.ceph import config_key
from app.ceph.client import CephClient

MODULE_PREFIX = "mgr/restful/"


def localized_names(option: str, mgr_name: str | None) -> list[str]:
    """The module's lookup order: `mgr/restful/<name>/<option>`, then `mgr/restful/<option>`."""
    names = [f"{MODULE_PREFIX}{mgr_name}/{option}"] if mgr_name else []
    return [*names, f"{MODULE_PREFIX}{option}"]


def certificate_names(mgr_name: str | None) -> list[tuple[str, str]]:
    """Where the module stored a certificate and its key, in its lookup order."""
    crts, keys = localized_names("crt", mgr_name), localized_names("key", mgr_name)
    return list(zip(crts, keys, strict=True))


async def get_certificate(ceph: CephClient, mgr_name: str | None) -> tuple[str, str] | None:
    """(certificate PEM, key PEM) from config-key, as the module stored them, or None: a
    `config-key get` each (2 to 4)."""
    for crt_name, key_name in certificate_names(mgr_name):
        crt = await config_key.get(ceph, crt_name)
        key = await config_key.get(ceph, key_name)
        if crt and key:
            return crt, key
    return None


def certificate_in(values: Mapping[str, str], mgr_name: str | None) -> tuple[str, str] | None:
    """`get_certificate`'s answer, from config-key's values under MODULE_PREFIX."""
    for crt_name, key_name in certificate_names(mgr_name):
        crt, key = values.get(crt_name), values.get(key_name)
        if crt and key:
            return crt, key
    return None


async def dump_certificate(ceph: CephClient, mgr_name: str | None) -> tuple[str, str] | None:
    """`get_certificate`'s answer in one mon command: `config-key dump` of MODULE_PREFIX
    (its optional key prefix is there from Pacific 16.2 on). A user whose caps do not
    allow that dump gets EACCES (a CephError)."""
    return certificate_in(await config_key.dump(ceph, MODULE_PREFIX), mgr_name)


async def put_certificate(
    ceph: CephClient, mgr_name: str | None, cert_pem: str, key_pem: str
) -> str:
    """Store a certificate where the module (and cephgw) look for it; returns the crt key."""
    crt_name = localized_names("crt", mgr_name)[0]
    key_name = localized_names("key", mgr_name)[0]
    await config_key.put(ceph, crt_name, cert_pem)
    await config_key.put(ceph, key_name, key_pem)
    return crt_name


def find_module_option(
    config_dump: list[dict[str, Any]], option: str, mgr_name: str | None
) -> str | None:
    """A restful module option from `config dump`, in the module's lookup order."""
    values = {
        str(e.get("name")): str(e.get("value"))
        for e in config_dump
        if str(e.get("section", "")) in ("mgr", "global")
        or str(e.get("section", "")).startswith("mgr.")
    }
    for name in localized_names(option, mgr_name):
        if name in values:
            return values[name]
    return None


async def get_listen_address(
    ceph: CephClient, mgr_name: str | None
) -> tuple[str | None, int | None]:
    """The module's `server_addr` and `server_port` settings, when the cluster has them."""
    dump: list[dict[str, Any]] = await ceph.mon_json({"prefix": "config dump"}) or []
    addr = find_module_option(dump, "server_addr", mgr_name)
    port = find_module_option(dump, "server_port", mgr_name)
    return addr, int(port) if port and port.isdigit() else None
