"""The one owner of librados in the process.

Every blocking librados call has an `async` twin that runs it on a dedicated, bounded
thread limiter (never the event loop, never the shared default pool), with librados'
own mon/osd op timeouts set, and turns a non-zero return into a typed `CephError`.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from app.ceph.commands import humanize_command
from app.errors import CephError, ServiceUnavailable
from app.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

# Ceph's own CLI adds this to every command; the module's JSON comes from the same dumps.
_FORMAT = {"format": "json"}

# Retry-After while no mgr is active: a standby takes over within seconds.
MGR_RETRY_AFTER = 5

# Omap entries read in one operation; more are read page by page.
_OMAP_PAGE = 1000

# Told (target: mon, mgr or osd; command prefix; seconds) after every librados command.
CallObserver = Callable[[str, str, float], None]


class _SharedCall:
    """One librados read that identical concurrent reads wait for (`CephClient._shared`)."""

    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class CephClient:
    """One librados connection, opened by the app's lifespan and shared by all requests."""

    def __init__(self, settings: Settings, on_call: CallObserver | None = None) -> None:
        self._settings = settings
        self._on_call = on_call  # the metrics' latency histogram
        self._cluster: Any = None
        self._lock = threading.Lock()
        # Calls running in librados threads, so close() can wait for them.
        self._busy = 0
        self._idle = threading.Condition()
        self._limiter = anyio.CapacityLimiter(settings.ceph_threads)
        self.last_connect_error: str = "not connected yet"
        # Since when the cluster has not answered (a call timed out, or none could be made);
        # None while it answers. Writes are refused at once meanwhile (app/jobs.py).
        self.unreachable_since: float | None = time.monotonic()
        self._in_flight: dict[str, _SharedCall] = {}
        self._ioctxs: dict[tuple[str, str], Any] = {}  # (pool, namespace) → open I/O context
        self._unclosed_watches: list[Any] = []  # see `unwatch`
        # The connection for the mgr's commands (`_mgr_handle`), opened on first use, and the
        # calls on it still waiting for the mgr's answer (given up on or not).
        self._mgr_cluster: Any = None
        self._mgr_lock = threading.Lock()
        self._mgr_waiting = 0

    @property
    def connected(self) -> bool:
        return self._cluster is not None

    @property
    def timeout(self) -> float:
        return self._settings.ceph_timeout

    # -- connection ---------------------------------------------------------------------------

    def _open(self, mon_op_timeout: int) -> Any:
        """A connected librados handle (blocking); raises rados.Error when it cannot connect."""
        import rados  # Debian's python3-rados; imported here so importing the app needs no Ceph

        s = self._settings
        conf: dict[str, str] = {}
        if s.keyring is not None:
            conf["keyring"] = str(s.keyring)
        cluster = rados.Rados(conffile=str(s.conf) if s.conf else "", name=s.name, conf=conf)
        cluster.conf_set("rados_mon_op_timeout", str(mon_op_timeout))
        cluster.conf_set("rados_osd_op_timeout", str(max(1, int(s.ceph_timeout))))
        cluster.conf_set("client_mount_timeout", str(max(1, int(s.connect_timeout))))
        cluster.connect(timeout=max(1, int(s.connect_timeout)))
        return cluster

    def connect(self) -> None:
        """Connect once (blocking); raises ServiceUnavailable when the cluster cannot be reached."""
        import rados

        s = self._settings
        try:
            # Without the op timeouts a lost mon makes every call block forever.
            cluster = self._open(mon_op_timeout=max(1, int(s.ceph_timeout)))
        except rados.Error as exc:
            self.last_connect_error = f"cannot connect to the cluster as {s.name}: {exc}"
            raise ServiceUnavailable(self.last_connect_error) from exc
        with self._lock:
            self._cluster = cluster
        self.last_connect_error = ""
        self.unreachable_since = None
        log.info("connected to the cluster as %s", s.name)

    def close(self) -> None:
        """Stop taking calls, let those still in librados end, then shut the handle down.

        A call abandoned by its request (a timed-out or cancelled sibling) may still be
        running in its thread; shutting the handle under it would hang that thread forever.
        """
        with self._lock:
            cluster, self._cluster = self._cluster, None
            ioctxs, self._ioctxs = list(self._ioctxs.values()), {}
        with self._mgr_lock:  # once a connection being opened for the mgr is open
            mgr_cluster, self._mgr_cluster = self._mgr_cluster, None
        if cluster is None:
            return
        with self._idle:
            if not self._idle.wait_for(lambda: self._busy == 0, timeout=self.timeout + 5):
                log.warning(
                    "closing the cluster connection with %d call(s) still running", self._busy
                )
        for ioctx in ioctxs:
            ioctx.close()
        cluster.shutdown()
        if mgr_cluster is not None:
            mgr_cluster.shutdown()

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self.close)

    async def aconnect(self) -> None:
        await self._run(self.connect)

    async def keep_connecting(self) -> None:
        """Retry until connected: the process runs (answering 503) while the cluster is away."""
        while not self.connected:
            try:
                await self.aconnect()
            except ServiceUnavailable as exc:
                log.warning("%s; retrying", exc.message)
                await anyio.sleep(self._settings.reconnect_interval)

    # -- blocking calls -----------------------------------------------------------------------

    def _handle(self) -> Any:
        cluster = self._cluster
        if cluster is None:
            raise ServiceUnavailable(f"cluster unavailable: {self.last_connect_error}")
        return cluster

    def _mgr_handle(self) -> Any:
        """The connection the mgr's commands go on, opened on first use (blocking).

        A connection of its own, that waits for every answer: librados gives up on a mgr
        command after `rados_mon_op_timeout`, but a mgr that answers later then writes into
        the caller's freed stack and the process dies of a segfault (Ceph 16.2.15, tracker
        65985). The gateway's own deadline gives up instead (`_run_on_mgr`).
        """
        import rados

        with self._mgr_lock:
            if self._mgr_cluster is None:
                self._handle()  # not connected, or closed: 503 as for any call
                try:
                    self._mgr_cluster = self._open(mon_op_timeout=0)  # 0: wait for the answer
                except rados.Error as exc:
                    raise ServiceUnavailable(
                        f"cannot connect to the cluster for the mgr's commands: {exc}"
                    ) from exc
            return self._mgr_cluster

    @contextmanager
    def _timed(self, target: str, command: Mapping[str, Any]) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            if self._on_call is not None:
                prefix = str(command.get("prefix", ""))
                self._on_call(target, prefix, time.perf_counter() - start)

    def _check(self, command: Mapping[str, Any], ret: int, outs: str) -> None:
        if ret != 0:
            raise CephError(
                abs(ret),
                outs.strip() or errno.errorcode.get(abs(ret), ""),
                humanize_command(command),
            )

    def mon_command(
        self, command: Mapping[str, Any], inbuf: bytes = b"", target: str | None = None
    ) -> bytes:
        """Run a mon command (on any mon, or `target`); returns its output buffer."""
        cmd = json.dumps({**command, **_FORMAT})
        timeout = int(self.timeout)
        handle = self._handle()
        with self._timed("mon", command):
            if target is None:
                ret, outb, outs = handle.mon_command(cmd, inbuf, timeout=timeout)
            else:
                ret, outb, outs = handle.mon_command(cmd, inbuf, timeout=timeout, target=target)
        self._check(command, ret, outs)
        return bytes(outb)

    def mon_command_result(
        self, command: Mapping[str, Any], inbuf: bytes = b""
    ) -> tuple[int, str, str]:
        """Run a mon command as given and return (ret, outb, outs) without raising.

        Jobs use it: they record failures rather than raise, and pass the command through
        unchanged, as the module did (no `format` added: `osd stat` answers in plain text).
        """
        cmd = json.dumps(command)
        handle = self._handle()
        with self._timed("mon", command):
            ret, outb, outs = handle.mon_command(cmd, inbuf, timeout=int(self.timeout))
        if ret == -errno.ETIMEDOUT:
            self._no_answer()
        return _result(ret, outb, outs)

    def mgr_command_result(
        self, command: Mapping[str, Any], inbuf: bytes = b""
    ) -> tuple[int, str, str]:
        """`mon_command_result` for a command the mgr serves, sent to the active mgr.

        The mon would pass it on and hand back the mgr's answer as it came (the same bytes,
        message and errno), so the job shows the same either way. It waits for the answer
        (`_mgr_handle`); the async twin gives up in time.
        """
        cmd = json.dumps(command)
        handle = self._mgr_handle()
        with self._timed("mgr", command):
            ret, outb, outs = handle.mgr_command(cmd, inbuf)
        return _result(ret, outb, outs)

    def mgr_command(self, command: Mapping[str, Any], target: str | None = None) -> bytes:
        """Run a mgr command (on the active mgr, or tell `target`); it waits for the answer
        (`_mgr_handle`), the async twin does not."""
        cmd = json.dumps({**command, **_FORMAT})
        handle = self._mgr_handle()
        with self._timed("mgr", command):
            if target is None:
                ret, outb, outs = handle.mgr_command(cmd, b"")
            else:
                ret, outb, outs = handle.mgr_command(cmd, b"", target=target)
        self._check(command, ret, outs)
        return bytes(outb)

    def osd_command(self, osd_id: int, command: Mapping[str, Any]) -> bytes:
        """Tell one OSD a command."""
        cmd = json.dumps({**command, **_FORMAT})
        handle = self._handle()
        with self._timed("osd", command):
            ret, outb, outs = handle.osd_command(osd_id, cmd, b"", timeout=int(self.timeout))
        self._check(command, ret, outs)
        return bytes(outb)

    def wait_for_latest_osdmap(self) -> None:
        """Until this connection has the cluster's newest OSD map. A connection learns a new
        map when it next needs the OSDs, not at once: its flags (`pause`) included."""
        handle = self._handle()
        with self._timed("mon", {"prefix": "wait for latest osdmap"}):
            ret = handle.wait_for_latest_osdmap()
        if ret < 0:
            raise CephError(abs(ret), "cannot get the latest OSD map")

    # Object maps (omap) of one RADOS object: what the shared job store keeps its records in.

    def _ioctx(self, pool: str, namespace: str) -> Any:
        handle = self._handle()
        with self._lock:
            ioctx = self._ioctxs.get((pool, namespace))
        if ioctx is not None:
            return ioctx
        import rados

        try:
            ioctx = handle.open_ioctx(pool)
        except rados.ObjectNotFound as exc:
            raise CephError(errno.ENOENT, f"no pool '{pool}'") from exc
        ioctx.set_namespace(namespace)
        with self._lock:
            return self._ioctxs.setdefault((pool, namespace), ioctx)

    def omap_set(
        self,
        pool: str,
        namespace: str,
        oid: str,
        values: Mapping[str, str],
        *,
        unchanged: Mapping[str, str | None] | None = None,
    ) -> None:
        """Set omap keys of `oid` (made if missing), in one atomic operation.

        `unchanged` makes it conditional: each key given must still hold that value (None:
        must exist at all), or nothing is written and CephError(ECANCELED) is raised.
        """
        import rados

        ioctx = self._ioctx(pool, namespace)
        with self._timed("osd", {"prefix": "omap set"}), rados.WriteOpCtx() as op:
            for key, expected in (unchanged or {}).items():
                if expected is None:  # any value sorts above the empty one
                    op.omap_cmp(key, "", rados.LIBRADOS_CMPXATTR_OP_GT)
                else:
                    op.omap_cmp(key, expected, rados.LIBRADOS_CMPXATTR_OP_EQ)
            ioctx.set_omap(op, tuple(values), tuple(v.encode() for v in values.values()))
            self._operate(lambda: ioctx.operate_write_op(op, oid), f"omap set on {oid}")

    def omap_get(
        self, pool: str, namespace: str, oid: str, keys: Sequence[str] | None = None
    ) -> dict[str, str]:
        """The omap of `oid` (only `keys`, when given); empty when there is no such object."""
        import rados

        ioctx = self._ioctx(pool, namespace)
        found: dict[str, str] = {}
        after = ""
        with self._timed("osd", {"prefix": "omap get"}):
            while True:
                with rados.ReadOpCtx() as op:
                    if keys is not None:
                        items, _ = ioctx.get_omap_vals_by_keys(op, tuple(keys))
                    else:
                        items, _ = ioctx.get_omap_vals(op, after, "", _OMAP_PAGE)
                    try:
                        self._operate(lambda: ioctx.operate_read_op(op, oid), f"omap get of {oid}")
                    except CephError as exc:
                        if exc.errno == errno.ENOENT:
                            return found
                        raise
                    page = [(k, bytes(v).decode("utf-8")) for k, v in items]
                found.update(page)
                if keys is not None or len(page) < _OMAP_PAGE:
                    return found
                after = page[-1][0]

    def omap_remove(self, pool: str, namespace: str, oid: str, keys: Sequence[str]) -> None:
        """Remove omap keys of `oid`; keys it does not have are no error."""
        import rados

        ioctx = self._ioctx(pool, namespace)
        with self._timed("osd", {"prefix": "omap rm"}), rados.WriteOpCtx() as op:
            ioctx.remove_omap_keys(op, tuple(keys))
            try:
                self._operate(lambda: ioctx.operate_write_op(op, oid), f"omap rm on {oid}")
            except CephError as exc:
                if exc.errno != errno.ENOENT:
                    raise

    # Watch and notify on one RADOS object: how the gateways sharing a job store tell each
    # other of their writes (app/ceph/peers.py).

    def instance_id(self) -> int:
        """This connection's id in the cluster: the notifier id its notices carry."""
        return int(self._handle().get_instance_id())

    def watch(
        self,
        pool: str,
        namespace: str,
        oid: str,
        on_notice: Callable[[int], None],
        on_error: Callable[[int], None],
        watch_timeout: int,
    ) -> Any:
        """Watch `oid` (made empty if missing): `on_notice(notifier id)` runs in a librados
        thread for every notice, and the notifier's `notify` returns once it returned.
        `on_error(errno)` when the watch is lost. The OSD drops the watch of a client that
        has not pinged it for `watch_timeout` seconds. Returns the watch, for `unwatch`."""
        import rados

        ioctx = self._ioctx(pool, namespace)
        with self._timed("osd", {"prefix": "watch"}), rados.WriteOpCtx() as op:
            op.new(rados.LIBRADOS_CREATE_IDEMPOTENT)
            self._operate(lambda: ioctx.operate_write_op(op, oid), f"create {oid}")
            return self._operate(
                lambda: ioctx.watch(
                    oid,
                    lambda _notify_id, notifier_id, _watch_id, _data: on_notice(notifier_id),
                    lambda _watch_id, code: on_error(abs(int(code))),
                    watch_timeout,
                ),
                f"watch {oid}",
            )

    def unwatch(self, watch: Any) -> None:
        """Stop a watch made by `watch` (waits for its callbacks that run)."""
        import rados

        try:
            watch.close()
        except rados.Error as exc:  # lost, or the OSDs do not answer (paused)
            # librados has dropped the watch all the same, but python-rados closes it again
            # when the object is freed, and that second unwatch of a freed watch crashes the
            # process: the object is kept, never freed (a few bytes per watch lost).
            with self._lock:
                self._unclosed_watches.append(watch)
            log.debug("unwatch: %s", exc)

    def notify(self, pool: str, namespace: str, oid: str, timeout_ms: int) -> None:
        """Notify the watchers of `oid`; returns once each acknowledged, or raises
        CephError(ETIMEDOUT) after `timeout_ms` when one did not."""
        ioctx = self._ioctx(pool, namespace)
        with self._timed("osd", {"prefix": "notify"}):
            self._operate(lambda: ioctx.notify(oid, "", timeout_ms), f"notify on {oid}")

    @staticmethod
    def _operate(call: Callable[[], T], what: str) -> T:
        import rados

        try:
            return call()
        except rados.Error as exc:
            code = int(getattr(exc, "errno", 0) or errno.EIO)
            raise CephError(abs(code), f"{what}: {errno.errorcode.get(abs(code), exc)}") from exc

    # -- async twins ----------------------------------------------------------------------------

    async def _run(self, fn: Callable[[], T], *, through_mon: bool = True) -> T:
        # librados enforces its own timeouts; this outer one only guards against a call that
        # ignores them, and abandons (not kills) the thread so the client gets its 504.
        def tracked() -> T:
            with self._idle:
                self._busy += 1
            try:
                return fn()
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

        try:
            with anyio.fail_after(self.timeout + 5):
                result = await anyio.to_thread.run_sync(
                    tracked, limiter=self._limiter, abandon_on_cancel=True
                )
        except TimeoutError as exc:
            if through_mon:
                self._no_answer()
            raise CephError(errno.ETIMEDOUT, "the cluster did not answer in time") from exc
        except (CephError, ServiceUnavailable) as exc:
            # A mgr or an OSD that does not answer says nothing of the mons (jobs go on).
            timed_out = isinstance(exc, ServiceUnavailable) or exc.errno == errno.ETIMEDOUT
            if timed_out and through_mon:
                self._no_answer()
            raise
        self.unreachable_since = None
        return result

    async def _run_on_mgr(self, fn: Callable[[], T]) -> T:
        """`_run` for a call on the mgr's connection, under the gateway's own deadline of
        `ceph_timeout` (librados waits for the mgr's answer there: `_mgr_handle`). A call
        given up on keeps its thread until the mgr answers, so at most `ceph_threads` calls
        may wait at once; past that, 503 at once. A mgr that does not answer says nothing of
        the mons."""
        limit = self._settings.ceph_threads

        def waiting_for_the_mgr() -> T:
            with self._idle:
                if self._mgr_waiting >= limit:
                    raise ServiceUnavailable(
                        f"commands sent to the mgr still wait for its answer ({limit}, the "
                        "most this gateway leaves waiting: ceph_threads); retry later",
                        retry_after=MGR_RETRY_AFTER,
                    )
                self._mgr_waiting += 1
            try:
                return fn()
            finally:
                with self._idle:
                    self._mgr_waiting -= 1

        try:
            with anyio.fail_after(self.timeout):
                return await self._run(waiting_for_the_mgr, through_mon=False)
        except TimeoutError as exc:
            raise CephError(
                errno.ETIMEDOUT, f"the mgr did not answer within {self.timeout:g} s"
            ) from exc

    def _no_answer(self) -> None:
        # The first call that went unanswered; cleared by the next one answered.
        if self.unreachable_since is None:
            self.unreachable_since = time.monotonic()

    async def amon_command(
        self, command: Mapping[str, Any], inbuf: bytes = b"", target: str | None = None
    ) -> bytes:
        return await self._run(lambda: self.mon_command(command, inbuf, target))

    async def amon_command_result(
        self, command: Mapping[str, Any], *, shared: bool = False
    ) -> tuple[int, str, str]:
        """`mon_command_result`; with `shared` (a command that only reads), identical calls
        in flight share one, as reads do."""
        call = functools.partial(self._run, lambda: self.mon_command_result(command))
        return await self._command_result("mon", command, call, shared=shared)

    async def amgr_command_result(
        self, command: Mapping[str, Any], *, shared: bool = False
    ) -> tuple[int, str, str]:
        """`mgr_command_result`; `shared` as for `amon_command_result`. No `mgr stat` first
        (a mon call more for every command): POST /request asks it before the job exists
        (app/deps.py CommandPolicy), and a mgr gone since is waited for, up to the timeout,
        as the mon would have waited for one."""
        call = functools.partial(self._run_on_mgr, lambda: self.mgr_command_result(command))
        return await self._command_result("mgr", command, call, shared=shared)

    async def _command_result(
        self,
        target: str,
        command: Mapping[str, Any],
        call: Callable[[], Awaitable[tuple[int, str, str]]],
        *,
        shared: bool,
    ) -> tuple[int, str, str]:
        if not shared:
            return await call()
        result: tuple[int, str, str] = await self._shared(
            f"result/{target}/{json.dumps(command, sort_keys=True)}", call
        )
        return result

    async def amgr_command(self, command: Mapping[str, Any], target: str | None = None) -> bytes:
        if target is None:
            await self.require_active_mgr()
        return await self._run_on_mgr(lambda: self.mgr_command(command, target))

    async def aosd_command(self, osd_id: int, command: Mapping[str, Any]) -> bytes:
        return await self._run(lambda: self.osd_command(osd_id, command), through_mon=False)

    async def require_active_mgr(self) -> None:
        """503 at once while the mgr map has no active mgr: a command for the active mgr
        would wait out its whole timeout for one. The map is asked every time (identical
        asks in flight share one call): a cached "active" would miss a mgr that just went."""
        stat: Any = await self.mon_json({"prefix": "mgr stat"})
        if not (isinstance(stat, dict) and stat.get("available")):
            raise ServiceUnavailable(
                "no mgr is active (the cluster's mgr map has none): this needs the active "
                "mgr; it answers again once a mgr is active",
                retry_after=MGR_RETRY_AFTER,
            )

    async def await_for_latest_osdmap(self) -> None:
        await self._run(self.wait_for_latest_osdmap)

    async def aomap_set(
        self,
        pool: str,
        namespace: str,
        oid: str,
        values: Mapping[str, str],
        *,
        unchanged: Mapping[str, str | None] | None = None,
    ) -> None:
        await self._run(lambda: self.omap_set(pool, namespace, oid, values, unchanged=unchanged))

    async def aomap_get(
        self, pool: str, namespace: str, oid: str, keys: Sequence[str] | None = None
    ) -> dict[str, str]:
        return await self._run(lambda: self.omap_get(pool, namespace, oid, keys))

    async def aomap_remove(self, pool: str, namespace: str, oid: str, keys: Sequence[str]) -> None:
        await self._run(lambda: self.omap_remove(pool, namespace, oid, keys))

    async def ainstance_id(self) -> int:
        return await self._run(self.instance_id, through_mon=False)

    async def awatch(
        self,
        pool: str,
        namespace: str,
        oid: str,
        on_notice: Callable[[int], None],
        on_error: Callable[[int], None],
        watch_timeout: int,
    ) -> Any:
        return await self._run(
            lambda: self.watch(pool, namespace, oid, on_notice, on_error, watch_timeout),
            through_mon=False,
        )

    async def aunwatch(self, watch: Any) -> None:
        await self._run(lambda: self.unwatch(watch), through_mon=False)

    async def anotify(self, pool: str, namespace: str, oid: str, timeout_ms: int) -> None:
        # A peer that does not acknowledge says nothing of the mons.
        await self._run(lambda: self.notify(pool, namespace, oid, timeout_ms), through_mon=False)

    async def _shared(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        # Identical reads already in flight share one librados call: under load, sixteen
        # clients asking for /osd cost one `osd dump`, and each still gets an answer from a
        # call that started after its request arrived. Bytes are shared, never parsed objects,
        # so no caller sees another's changes.
        while (pending := self._in_flight.get(key)) is not None:
            await pending.done.wait()
            if pending.error is None:
                result: T = pending.result
                return result
            if not isinstance(pending.error, anyio.get_cancelled_exc_class()):
                raise pending.error
            # The request that made the call was cancelled, not the call's answer: ask again.
        shared = _SharedCall()
        self._in_flight[key] = shared
        try:
            value = await call()
            shared.result = value
        except BaseException as exc:
            shared.error = exc
            raise
        finally:
            del self._in_flight[key]
            shared.done.set()
        return value

    async def mon_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        """Run a read-only mon command and parse its JSON output."""
        key = f"mon/{target}/{json.dumps(command, sort_keys=True)}"
        return _parse(
            command, await self._shared(key, lambda: self.amon_command(command, target=target))
        )

    async def mgr_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        """Run a read-only mgr command and parse its JSON output."""
        key = f"mgr/{target}/{json.dumps(command, sort_keys=True)}"
        return _parse(command, await self._shared(key, lambda: self.amgr_command(command, target)))


def _result(ret: int, outb: bytes, outs: str) -> tuple[int, str, str]:
    """A command's answer as a job records it: errno, then its output and message as text."""
    return int(ret), bytes(outb).decode("utf-8", "replace"), str(outs)


def _parse(command: Mapping[str, Any], outb: bytes) -> Any:
    try:
        return json.loads(outb) if outb else None
    except ValueError as exc:
        raise CephError(
            errno.EBADMSG, f"unparsable answer to '{humanize_command(command)}'"
        ) from exc


@asynccontextmanager
async def open_client(settings: Settings) -> AsyncIterator[CephClient]:
    """A connected client for one-off work outside the app (the CLI, tests); closed after."""
    ceph = CephClient(settings)
    await ceph.aconnect()
    try:
        yield ceph
    finally:
        await ceph.aclose()
