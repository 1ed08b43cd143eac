"""Differential testing against the live `restful` module: a JSON comparator and its harness.

The comparator is pure: it walks two parsed JSON documents (the gateway's answer and the
module's) and lists every difference in key names, JSON types and values. A JSON type is
one of null, bool, int, float, str, list and dict; bool is not int and int is not float,
because the module's clients see `true` vs `1` and `1.0` vs `1` as different values.

Places in a document are written as a JSON pointer (RFC 6901) after a `$` for the document
itself: `$`, `$/0/pools`, `$/osd.0/osd.op_r/value`. Patterns use the same form, where a
segment is an fnmatch pattern (`*`, `?`, `[...]`) matching one segment and `**` matches any
number of segments. Two pseudo places describe the HTTP exchange rather than the body:
`#status` (the status code) and `#content-type` (the media type).

`start_restful_module` turns the module on in a test cluster and returns a client for it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
import ssl
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Final

import httpx

from app.tls import make_self_signed_cert
from cli import dev_cluster
from tests.support import wait_until
from tests.support.server import free_port

STATUS: Final = "#status"
CONTENT_TYPE: Final = "#content-type"
ROOT: Final = "$"


class _Absent:
    """Stands for the side of a difference where a key or list item does not exist."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Final = _Absent()


class _Any:
    """In a known difference: any value on that side is accepted."""

    def __repr__(self) -> str:
        return "<any>"


ANY: Final = _Any()


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value; bool is checked before int on purpose."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "dict"
    raise TypeError(f"not a parsed JSON value: {value!r}")


def json_equal(a: Any, b: Any) -> bool:
    """Equality of parsed JSON that also requires equal JSON types at every depth."""
    ta, tb = json_type(a), json_type(b)
    if ta != tb:
        return False
    if ta == "dict":
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if ta == "list":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if ta == "float" and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _escape(segment: str | int) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


def pointer(*segments: str | int) -> str:
    """`$` followed by the RFC 6901 form of `segments`: pointer("a/b", 0) == "$/a~1b/0"."""
    return ROOT + "".join("/" + _escape(s) for s in segments)


def _split(text: str) -> list[str] | None:
    if text == ROOT:
        return []
    if text.startswith(ROOT + "/"):
        return text[len(ROOT) + 1 :].split("/")
    return None


def _match_segments(pattern: Sequence[str], segments: Sequence[str]) -> bool:
    if not pattern:
        return not segments
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match_segments(rest, segments[i:]) for i in range(len(segments) + 1))
    return bool(segments) and fnmatchcase(segments[0], head) and _match_segments(rest, segments[1:])


def match_place(pattern: str, place: str) -> bool:
    """Whether a place (`$/...`, `#status`, `#content-type`) matches a pattern of places."""
    pattern_segments, place_segments = _split(pattern), _split(place)
    if pattern_segments is None or place_segments is None:
        return pattern == place
    return _match_segments(pattern_segments, place_segments)


@dataclass(frozen=True)
class Difference:
    """One way the gateway's answer differs from the module's."""

    place: str
    kind: str  # missing (only the module has it), extra, type, value, status, content-type
    gateway: Any
    module: Any

    def __str__(self) -> str:
        def show(value: Any) -> str:
            text = repr(value)
            return text if len(text) <= 120 else text[:117] + "..."

        if self.kind == "type":
            return (
                f"{self.place}: type gateway {json_type(self.gateway)} {show(self.gateway)}"
                f" vs module {json_type(self.module)} {show(self.module)}"
            )
        return (
            f"{self.place}: {self.kind}: gateway {show(self.gateway)} vs module {show(self.module)}"
        )


def compare(
    gateway: Any, module: Any, *, volatile: Iterable[str] = (), place: str = ROOT
) -> list[Difference]:
    """Every difference between two parsed JSON documents.

    Dicts are compared key by key and lists item by item (their order is part of the API).
    Leaves at a place matching one of `volatile` are compared by JSON type only: their
    value changes from one second to the next.
    """
    volatile = tuple(volatile)
    out: list[Difference] = []
    _walk(gateway, module, place, volatile, out)
    return out


def _walk(gw: Any, mod: Any, place: str, volatile: tuple[str, ...], out: list[Difference]) -> None:
    tg, tm = json_type(gw), json_type(mod)
    if tg != tm:
        out.append(Difference(place, "type", gw, mod))
        return
    if tg == "dict":
        for key in mod:
            if key not in gw:
                out.append(Difference(_child(place, key), "missing", ABSENT, mod[key]))
        for key in gw:
            if key not in mod:
                out.append(Difference(_child(place, key), "extra", gw[key], ABSENT))
            else:
                _walk(gw[key], mod[key], _child(place, key), volatile, out)
        return
    if tg == "list":
        for index, (g, m) in enumerate(zip(gw, mod, strict=False)):
            _walk(g, m, _child(place, index), volatile, out)
        for index in range(len(gw), len(mod)):
            out.append(Difference(_child(place, index), "missing", ABSENT, mod[index]))
        for index in range(len(mod), len(gw)):
            out.append(Difference(_child(place, index), "extra", gw[index], ABSENT))
        return
    if any(match_place(p, place) for p in volatile):
        return
    if not json_equal(gw, mod):
        out.append(Difference(place, "value", gw, mod))


def _child(place: str, segment: str | int) -> str:
    return place + "/" + _escape(segment)


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, reduced to what the comparison looks at."""

    status: int
    media_type: str
    body: Any = None  # the parsed JSON when media_type is application/json
    text: str = ""

    @classmethod
    def of(cls, response: httpx.Response) -> Reply:
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        body = response.json() if media_type == "application/json" else None
        return cls(response.status_code, media_type, body, response.text)


def compare_replies(
    gateway: Reply, module: Reply, *, volatile: Iterable[str] = (), shapes_only: bool = False
) -> list[Difference]:
    """Differences in status, media type and (when both are JSON) body: every value, or with
    `shapes_only` key names, nesting and types (`compare_shapes`)."""
    out: list[Difference] = []
    if gateway.status != module.status:
        out.append(Difference(STATUS, "status", gateway.status, module.status))
    if gateway.media_type != module.media_type:
        out.append(Difference(CONTENT_TYPE, "content-type", gateway.media_type, module.media_type))
    elif gateway.media_type == "application/json":
        if shapes_only:
            out.extend(compare_shapes(gateway.body, module.body))
        else:
            out.extend(compare(gateway.body, module.body, volatile=volatile))
    return out


@dataclass(frozen=True)
class Volatile:
    """Leaves whose value may differ between two reads a moment apart, and why."""

    endpoint: str  # fnmatch pattern of the request path (with query), e.g. "/perf*"
    place: str  # pattern of places in the body
    reason: str


@dataclass(frozen=True)
class Known:
    """A deliberate difference from the module, also described in docs/compatibility.md."""

    endpoint: str  # fnmatch pattern of the request path (with query)
    place: str  # pattern of places, or #status / #content-type
    kind: str
    reason: str
    gateway: Any = ANY  # when set, the difference must have exactly this value on that side
    module: Any = ANY
    # The Ceph releases it applies to (`reef`...); empty: every release.
    releases: frozenset[str] = frozenset()

    def covers(self, endpoint: str, difference: Difference, release: str = "") -> bool:
        return (
            (not self.releases or release in self.releases)
            and fnmatchcase(endpoint, self.endpoint)
            and difference.kind == self.kind
            and match_place(self.place, difference.place)
            and _expected(self.gateway, difference.gateway)
            and _expected(self.module, difference.module)
        )

    @property
    def doc_mentions(self) -> tuple[str, str]:
        """What a line of the compatibility document must quote for this entry."""
        return f"`{self.endpoint}`", f"`{self.place}`"


def _expected(expected: Any, actual: Any) -> bool:
    if expected is ANY:
        return True
    if expected is ABSENT or actual is ABSENT:
        return expected is actual
    return json_equal(expected, actual)


def volatile_places(endpoint: str, table: Iterable[Volatile]) -> list[str]:
    """The volatile place patterns that apply to one request path."""
    return [v.place for v in table if fnmatchcase(endpoint, v.endpoint)]


def unexplained(
    endpoint: str, differences: Iterable[Difference], known: Iterable[Known], release: str = ""
) -> list[Difference]:
    """The differences that no known difference (of this release) covers."""
    known = tuple(known)
    return [d for d in differences if not any(k.covers(endpoint, d, release) for k in known)]


def undocumented(known: Iterable[Known], document: str) -> list[Known]:
    """Known differences that no single line of `document` quotes (endpoint and place)."""
    lines = document.splitlines()
    return [k for k in known if not any(all(m in line for m in k.doc_mentions) for line in lines)]


def report(endpoint: str, differences: Sequence[Difference], limit: int = 40) -> str:
    """A readable list of differences for an assertion message."""
    head = [f"{endpoint}: {len(differences)} difference(s) from the restful module"]
    head += [f"  {d}" for d in differences[:limit]]
    if len(differences) > limit:
        head.append(f"  ... and {len(differences) - limit} more")
    return "\n".join(head)


def compare_shapes(gateway: Any, recorded: Any, *, place: str = ROOT) -> list[Difference]:
    """Differences in key names, nesting and JSON types only, values aside.

    For an answer recorded on another cluster: lists may differ in length and in what they
    hold (another number of pools, OSDs; pools made with other options), so each gateway item
    is held to the recorded item at its index (the last one past the end) when it has that
    one's shape, else to the recorded item it differs least from: a pool the recording's
    cluster did not have is held to the recorded pool most like it.
    """
    out: list[Difference] = []
    _walk_shape(gateway, recorded, place, out)
    return out


def _walk_shape(gw: Any, rec: Any, place: str, out: list[Difference]) -> None:
    tg, tr = json_type(gw), json_type(rec)
    if tg != tr:
        out.append(Difference(place, "type", gw, rec))
        return
    if tg == "dict":
        for key in rec:
            if key not in gw:
                out.append(Difference(_child(place, key), "missing", ABSENT, rec[key]))
        for key in gw:
            if key not in rec:
                out.append(Difference(_child(place, key), "extra", gw[key], ABSENT))
            else:
                _walk_shape(gw[key], rec[key], _child(place, key), out)
    elif tg == "list" and rec:
        for index, item in enumerate(gw):
            here = _child(place, index)
            candidates = [rec[min(index, len(rec) - 1)], *rec]
            fewest: list[Difference] | None = None
            for candidate in candidates:  # its own index first, so it wins a tie
                found = _shape_differences(item, candidate, here)
                if fewest is None or len(found) < len(fewest):
                    fewest = found
            out.extend(fewest or [])


def _shape_differences(gw: Any, rec: Any, place: str) -> list[Difference]:
    found: list[Difference] = []
    _walk_shape(gw, rec, place, found)
    return found


@functools.cache
def ceph_release() -> str:
    """The release the tests run on (`pacific`, `reef`, `tentacle`), for per-release entries."""
    return dev_cluster.ceph_release()


# --------------------------------------------------------------------------- endpoints

# The 17 read paths ({pool}: the tests' own pool; {host}: the first host of /server), plus the
# /perf filter. / and /doc need no key in the module; both are asked without one.
READ_PATHS: tuple[str, ...] = (
    "/",
    "/doc",
    "/config/cluster",
    "/config/cluster/osd_pool_default_size",
    "/config/osd",
    "/crush/rule",
    "/mon",
    "/mon/a",
    "/osd",
    "/osd?pool={pool}",
    "/osd/0",
    "/osd/0/command",
    "/pool",
    "/pool/{pool}",
    "/server",
    "/server/{host}",
)
UNAUTHENTICATED = frozenset({"/", "/doc"})
PERF_PATHS: tuple[str, ...] = ("/perf", "/perf?daemon=osd.0")
NOT_FOUND_PATHS: tuple[str, ...] = ("/pool/999", "/osd/99", "/osd/99/command", "/mon/zz")
BAD_INPUT_PATHS: tuple[str, ...] = ("/pool/abc", "/osd?pool=abc", "/perf?daemon=(", "/no/such/path")


# Failed authentication, asked of GET /pool; each is the endpoint `/pool (<case>)`.
AUTH_CASES: tuple[str, ...] = ("no credentials", "unknown key name", "wrong key")


def corrupt(auth: tuple[str, str], case: str) -> tuple[str, str] | None:
    """The credentials of one of AUTH_CASES, made from a good key."""
    if case == "no credentials":
        return None
    if case == "unknown key name":
        return ("no-such-key-name", auth[1])
    return (auth[0], auth[1] + "x")


@dataclass(frozen=True)
class Targets:
    """Ids and names that exist in this cluster, to fill in the paths."""

    pool: int
    host: str

    def fill(self, template: str) -> str:
        return template.format(pool=self.pool, host=self.host)

    @classmethod
    def find(cls, get: Callable[[str], Any], pool_name: str) -> Targets:
        """The pool named `pool_name` and the first host, asked of a server (`get(path)`)."""
        pools = get("/pool")
        pool = next((p["pool"] for p in pools if p["pool_name"] == pool_name), None)
        assert pool is not None, f"the test cluster has no pool {pool_name!r}: {pools}"
        servers = get("/server")
        assert servers, "no server listed"
        return cls(pool=pool, host=servers[0]["hostname"])


# --------------------------------------------------------------------------- recorded answers

# The module's answers, recorded by the project on a release that ships it, for the releases
# that do not (`make record-module-answers` writes them; docs/compatibility.md).
RECORDED_DIR = Path(__file__).parent / "recorded"
RECORDED_RELEASE = "reef"


def recorded_file(template: str, release: str = RECORDED_RELEASE) -> Path:
    """Where the answer to one endpoint template is recorded: `/osd?pool={pool}` →
    recorded/reef/osd_pool_pool.json."""
    slug = re.sub(r"[^A-Za-z0-9.]+", "_", template).strip("_") or "root"
    return RECORDED_DIR / release / f"{slug}.json"


def record_reply(template: str, path: str, response: httpx.Response, release: str) -> Path:
    """Write one answer of the module (status, media type, body) for `template`."""
    reply = Reply.of(response)
    document = {
        "template": template,
        "path": path,
        "status": reply.status,
        "media_type": reply.media_type,
        "body": reply.body,
    }
    target = recorded_file(template, release)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    return target


def load_recorded(template: str, release: str = RECORDED_RELEASE) -> Reply:
    document = json.loads(recorded_file(template, release).read_text())
    return Reply(document["status"], document["media_type"], document["body"])


# --------------------------------------------------------------------------- the live module

# Where Debian's ceph-mgr-modules-core puts the module; Tentacle (20) ships none.
MODULE_DIR = Path("/usr/share/ceph/mgr/restful")


def module_shipped() -> bool:
    """Whether this Ceph release ships the restful module."""
    return MODULE_DIR.is_dir()


def module_ssl_context(certificate_pem: str) -> ssl.SSLContext:
    """Trust exactly the module's self-signed certificate.

    Its subject is CN=ceph-restful, not an address, so only the host name check is off;
    the chain is still verified against that one certificate.
    """
    context = ssl.create_default_context(cadata=certificate_pem)
    context.check_hostname = False
    return context


@dataclass
class RestfulModule:
    """The mgr's restful module serving in the test cluster, and a client for it."""

    base_url: str
    auth: tuple[str, str]
    http: httpx.Client
    certificate: str = field(repr=False)

    def get(self, path: str, *, authenticated: bool = True) -> httpx.Response:
        return self.http.get(path, auth=self.auth if authenticated else None)


# ceph_cli(*args) -> stdout; raises subprocess.CalledProcessError on a failing command.
CephCli = Callable[..., str]


def _retry(what: str, seconds: float, attempt: Callable[[], Any]) -> Any:
    """`attempt()`'s result once it raises nothing, within `seconds`."""
    failures: list[Exception] = []

    def succeeded() -> tuple[Any] | None:
        try:
            return (attempt(),)
        except Exception as exc:
            failures[:] = [exc]
            return None

    (result,) = wait_until(
        succeeded,
        f"{what} succeeds",
        seconds,
        0.5,
        detail=lambda: f"still failing: {failures[-1]!r}",
    )
    return result


def _config_key_exists(ceph: CephCli, name: str) -> bool:
    try:
        ceph("config-key", "get", name)
    except Exception:
        return False
    return True


@contextlib.contextmanager
def start_restful_module(
    ceph: CephCli,
    mgr_name: str,
    *,
    key_name: str = "diffadmin",
    timeout: float = 90.0,
) -> Iterator[RestfulModule]:
    """Enable `restful` on a free loopback port, make a cert and a key; undo it all after.

    Enabling (and disabling) a module makes the mgr respawn: the module's commands and
    its server come up a few seconds later, so each step is retried until `timeout`.
    """
    port = free_port()
    option = f"mgr/restful/{mgr_name}"
    had_certificate = _config_key_exists(ceph, f"{option}/crt")
    if not had_certificate:
        # Where `ceph restful create-self-signed-cert` puts its own, before the module starts
        # (it serves only with one). Made here: on Reef in Debian 13 the module's pyOpenSSL
        # cannot load in the mgr (cli/dev_cluster.py, PYO3_PACKAGES).
        cert_pem, key_pem = make_self_signed_cert("ceph-restful")
        with tempfile.TemporaryDirectory() as tmp:
            for what, pem in (("crt", cert_pem), ("key", key_pem)):
                # -i: the ceph CLI takes a value that starts with "-----" for an option.
                (Path(tmp) / what).write_text(pem)
                ceph("config-key", "set", f"{option}/{what}", "-i", str(Path(tmp) / what))
    # --force: Reef's mon refuses a module's options while the module is not enabled yet.
    ceph("config", "set", "mgr", f"{option}/server_addr", "127.0.0.1", "--force")
    ceph("config", "set", "mgr", f"{option}/server_port", str(port), "--force")
    ceph("mgr", "module", "enable", "restful")
    http: httpx.Client | None = None
    try:
        key = str(
            _retry(
                "ceph restful create-key", timeout, lambda: ceph("restful", "create-key", key_name)
            )
        ).strip()
        certificate = ceph("config-key", "get", f"{option}/crt")
        base_url = f"https://127.0.0.1:{port}"
        # One request at a time over HTTP/1.0 with Connection: close: generous timeouts.
        client = httpx.Client(
            base_url=base_url, verify=module_ssl_context(certificate), timeout=60.0
        )
        http = client
        _retry(
            f"the restful module on {base_url}", timeout, lambda: client.get("/").raise_for_status()
        )
        yield RestfulModule(base_url, (key_name, key), client, certificate)
    finally:
        if http is not None:
            http.close()
        cleanup: list[tuple[str, ...]] = [
            ("restful", "delete-key", key_name),
            ("config-key", "rm", f"mgr/restful/keys/{key_name}"),  # if the command failed
            ("mgr", "module", "disable", "restful"),
            ("config", "rm", "mgr", f"{option}/server_port"),
            ("config", "rm", "mgr", f"{option}/server_addr"),
        ]
        if not had_certificate:
            cleanup += [
                ("config-key", "rm", f"{option}/crt"),
                ("config-key", "rm", f"{option}/key"),
            ]
        for args in cleanup:
            with contextlib.suppress(Exception):
                ceph(*args)
