"""keras-tuner's distributed mode (a chief oracle over gRPC, workers that run trials), with bounds.

keras-tuner's own chief waits for ever on a worker that died (its trial stays "ongoing") and
its workers wait an hour on a chief that is gone. Here:

- every worker sends a heartbeat to the chief while it trains (a cheap `GetTrial` call);
- the chief serves keras-tuner's own `OracleServicer`, notes when it last heard from each
  worker, and hands the trial of a worker silent for `timeout` seconds back to the queue, as
  keras-tuner does with the trials a restarted chief finds unfinished: a lost worker is not a
  failure of its trial, so it uses none of the trial's retries (only a trial that has lost a
  worker `LOST_WORKERS_TO_FAIL` times is FAILED: it may be what kills them);
- a worker that asks for a trial when none is left but others are still running is told to
  wait (keras-tuner's IDLE) instead of to stop, and asks again every heartbeat, so it can take
  a trial handed back later; the search ends only when no trial is running or queued;
- the chief stops with a clear error when no worker has contacted it for `timeout` seconds
  and trials remain, and a worker stops with a clear error when the chief does not answer
  within `timeout` seconds.

The roles come from `zoo tune --role chief|worker --oracle-address HOST:PORT` or from
keras-tuner's environment variables (KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP,
KERASTUNER_ORACLE_PORT), which the flags set for keras-tuner.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tuning.errors import SearchError
from zoo.errors import ConfigError

ROLES = ("chief", "worker")
DEFAULT_ADDRESS = "127.0.0.1:8000"
DEFAULT_TIMEOUT = 300.0
HEARTBEAT = 2.0
LOST_WORKERS_TO_FAIL = 3
_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


@dataclass(frozen=True)
class Cluster:
    """This process's place in a distributed search.

    Attributes:
        role: "chief" (serves the oracle, records the best) or "worker" (runs trials).
        host: The chief's address: where it listens, where workers connect.
        port: The chief's port.
        tuner_id: keras-tuner's id of this process ("chief" for the chief).
        timeout: Seconds of silence after which a worker, or the chief, counts as lost.
    """

    role: str
    host: str
    port: int
    tuner_id: str
    timeout: float

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def heartbeat(self) -> float:
        """Seconds between a worker's heartbeats.

        Fixed, not derived from this process's timeout: the chief's timeout is the one that
        counts, and a worker cannot know it. One small gRPC call every 2 s costs nothing.
        """
        return HEARTBEAT


def resolve(
    role: str | None, address: str | None = None, worker_id: str | None = None, timeout: float | None = None
) -> Cluster | None:
    """The cluster this process belongs to, from arguments or keras-tuner's variables; None alone.

    Raises:
        ConfigError: a role, address, id or timeout that cannot work.
    """
    env = os.environ
    if role is None:
        if "KERASTUNER_ORACLE_IP" not in env:
            if address or worker_id:
                raise ConfigError("--oracle-address / --worker-id need --role chief or --role worker")
            return None
        if "KERASTUNER_ORACLE_PORT" not in env or "KERASTUNER_TUNER_ID" not in env:
            raise ConfigError(
                "KERASTUNER_ORACLE_IP is set but KERASTUNER_ORACLE_PORT or KERASTUNER_TUNER_ID is not: "
                "set all three, or use --role chief|worker --oracle-address HOST:PORT"
            )
        role = "chief" if "chief" in env["KERASTUNER_TUNER_ID"] else "worker"
        address = address or f"{env['KERASTUNER_ORACLE_IP']}:{env['KERASTUNER_ORACLE_PORT']}"
        if role == "worker":
            worker_id = worker_id or env["KERASTUNER_TUNER_ID"]
    if role not in ROLES:
        raise ConfigError(f"role {role!r} must be 'chief' or 'worker'")
    address = address or DEFAULT_ADDRESS
    host, _, port_text = address.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"oracle address {address!r} must be HOST:PORT, e.g. 10.0.0.5:8000 or 0.0.0.0:8000")
    if role == "worker":
        worker_id = worker_id or f"worker-{socket.gethostname()}-{os.getpid()}"
        if "chief" in worker_id:
            raise ConfigError(f"worker id {worker_id!r} contains 'chief', which keras-tuner reserves for the chief")
    elif worker_id:
        raise ConfigError("--worker-id is for workers; the chief's id is 'chief'")
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    if not timeout > 0:
        raise ConfigError(f"worker timeout {timeout!r} must be > 0 seconds")
    if role == "chief" and timeout < 3 * HEARTBEAT:
        import warnings

        warnings.warn(f"worker timeout {timeout:g} s is under 3 heartbeats ({3 * HEARTBEAT:g} s): healthy workers "
                      "may be dropped", UserWarning, stacklevel=2)  # fmt: skip
    return Cluster(role, host, int(port_text), "chief" if role == "chief" else str(worker_id), timeout)


@contextmanager
def environment(cluster: Cluster) -> Iterator[None]:
    """keras-tuner's variables for `cluster`, and its client's deadline, for the search's duration."""
    from keras_tuner.src.distribute import oracle_client

    from tuning import kt_fixes

    kt_fixes.apply()
    saved = {key: os.environ.get(key) for key in _ENV}
    saved_timeout = oracle_client.TIMEOUT
    os.environ.update(
        KERASTUNER_TUNER_ID=cluster.tuner_id,
        KERASTUNER_ORACLE_IP=cluster.host,
        KERASTUNER_ORACLE_PORT=str(cluster.port),
    )
    oracle_client.TIMEOUT = cluster.timeout
    try:
        yield
    finally:
        oracle_client.TIMEOUT = saved_timeout
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def wait_for_parent(find: Callable[[], str | None], cluster: Cluster, search_id: str) -> str:
    """A worker waits (at most `timeout`) for the chief to create the search's MLflow run."""
    deadline = time.monotonic() + cluster.timeout
    while True:
        found = find()
        if found:
            return found
        if time.monotonic() > deadline:
            raise SearchError(
                f"no search {search_id!r} appeared in the MLflow store within {cluster.timeout:.0f} s: start the "
                "chief first (zoo tune ... --role chief) with the same models, data, --project and tracking store"
            )
        time.sleep(min(2.0, cluster.heartbeat))


@contextmanager
def heartbeat(oracle: Any, trial_id: str, every: float) -> Iterator[None]:
    """While a worker trains, tell the chief every `every` seconds that it is alive."""
    import grpc
    from keras_tuner.src import protos

    stop = threading.Event()

    def beat() -> None:
        request = protos.get_service().GetTrialRequest(trial_id=trial_id)
        while not stop.wait(every):
            try:
                oracle.stub.GetTrial(request, timeout=every)
            except grpc.RpcError:  # a lost chief is reported by the worker's next real call
                pass

    thread = threading.Thread(target=beat, name=f"zoo-heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 1)


def _servicer(oracle: Any) -> Any:
    """keras-tuner's `OracleServicer`, noting when each worker was last heard from."""
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    class WatchedServicer(OracleServicer):
        def __init__(self) -> None:
            super().__init__(oracle)
            self.last_contact = time.monotonic()
            self.last_seen: dict[str, float] = {}
            self.ran_by: dict[str, str] = {}

        def _seen(self, *, tuner_id: str | None = None, trial_id: str | None = None) -> None:
            now = time.monotonic()
            self.last_contact = now
            if tuner_id is None and trial_id is not None:
                tuner_id = next((t for t, tr in list(oracle.ongoing_trials.items()) if tr.trial_id == trial_id), None)
            if tuner_id is not None:
                self.last_seen[tuner_id] = now

        def GetSpace(self, request: Any, context: Any) -> Any:
            self._seen()
            return super().GetSpace(request, context)

        def UpdateSpace(self, request: Any, context: Any) -> Any:
            self._seen()
            return super().UpdateSpace(request, context)

        def CreateTrial(self, request: Any, context: Any) -> Any:
            from keras_tuner.src import protos

            self._seen(tuner_id=request.tuner_id)
            trial = create_or_wait(oracle, request.tuner_id)
            if trial.status == "STOPPED":
                self.stop_triggered = True
            elif trial.status == "RUNNING":
                self.ran_by[trial.trial_id] = request.tuner_id
            return protos.get_service().CreateTrialResponse(trial=trial.to_proto())

        def UpdateTrial(self, request: Any, context: Any) -> Any:
            self._seen(trial_id=request.trial_id)
            return super().UpdateTrial(request, context)

        def EndTrial(self, request: Any, context: Any) -> Any:
            self._seen(trial_id=request.trial.trial_id)
            return super().EndTrial(request, context)

        def GetTrial(self, request: Any, context: Any) -> Any:
            self._seen(trial_id=request.trial_id)
            return super().GetTrial(request, context)

    return WatchedServicer()


def _oracle_lock(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn(oracle, ...)` under keras-tuner's lock on that oracle (the one its own methods take)."""

    def locked(oracle: Any, *args: Any) -> Any:
        from keras_tuner.src.engine.oracle import synchronized

        return synchronized(fn)(oracle, *args)

    return locked


@_oracle_lock
def create_or_wait(oracle: Any, tuner_id: str) -> Any:
    """keras-tuner's `create_trial`, except that a worker is told to wait, not to stop, while
    other workers still run trials (one of them may be handed back)."""
    from keras_tuner.src.engine import trial as trial_module

    trial = oracle.create_trial(tuner_id)
    others = [t for t in oracle.ongoing_trials if t != tuner_id]
    if trial.status == trial_module.TrialStatus.STOPPED and others:
        oracle.tuner_ids.add(tuner_id)  # create_trial let it go; it stays a worker of the search
        trial = trial_module.Trial(oracle.get_space(), status=trial_module.TrialStatus.IDLE)
    return trial


@_oracle_lock
def _lost_in(oracle: Any, trial_id: str) -> list[str]:
    """The workers lost while running this trial, one entry a loss (kept on the chief's oracle)."""
    if not hasattr(oracle, "zoo_lost_in"):
        oracle.zoo_lost_in = {}
    return oracle.zoo_lost_in.setdefault(trial_id, [])


def fails_if_lost(oracle: Any, tuner_id: str) -> bool:
    """Whether losing `tuner_id` now would fail its trial rather than hand it on."""
    trial = oracle.ongoing_trials.get(tuner_id)
    return trial is not None and len(_lost_in(oracle, trial.trial_id)) + 1 >= LOST_WORKERS_TO_FAIL


@_oracle_lock
def drop_worker(oracle: Any, tuner_id: str, message: str) -> Any:
    """Forget a lost worker; its trial, if it held one, goes back to the queue. Returns that trial.

    The trial starts afresh (its partial metrics are cleared) and keeps its retries: losing
    a worker says nothing about the trial, as with keras-tuner's own `Oracle.reload`; only a
    trial that has lost a worker `LOST_WORKERS_TO_FAIL` times (the same one restarted counts
    each time) ends FAILED.
    """
    from keras_tuner.src.engine import metrics_tracking

    failed = fails_if_lost(oracle, tuner_id)
    trial = oracle.ongoing_trials.pop(tuner_id, None)
    oracle.tuner_ids.discard(tuner_id)
    if trial is None:
        return None
    _lost_in(oracle, trial.trial_id).append(tuner_id)
    trial.metrics = metrics_tracking.MetricsTracker()
    if failed:
        trial.status = "FAILED"
        trial.message = f"{message}; it lost a worker {LOST_WORKERS_TO_FAIL} times: it may be what kills them"
        oracle.end_trial(trial)
        return trial
    trial.message = message
    oracle._retry_queue.append(trial.trial_id)
    oracle._save_trial(trial)
    oracle.save()
    return trial


def searching(oracle: Any) -> bool:
    """Whether the search still has trials running or queued, or workers that may ask for one."""
    return bool(oracle.ongoing_trials or oracle.tuner_ids or oracle._retry_queue)


def over(oracle: Any, stop_triggered: bool) -> bool:
    """Whether the search is done: nothing running or queued, and the oracle has said stop or
    has made every trial it may make."""
    return not searching(oracle) and (stop_triggered or oracle.remaining_trials() == 0)


def pace_idle(oracle_client: Any, every: float, say: Callable[[str], None] = lambda _: None) -> None:
    """A worker told to wait (IDLE) asks again after `every` seconds, not at once (keras-tuner
    resends at once, which would spin on the chief); `say` hears when a wait begins."""
    from keras_tuner.src.engine import trial as trial_module

    create_trial = oracle_client.create_trial
    waiting = False

    def create_or_pause(tuner_id: str) -> Any:
        nonlocal waiting
        trial = create_trial(tuner_id)
        idle = trial.status == trial_module.TrialStatus.IDLE
        if idle and not waiting:
            say(f"{tuner_id}: no trial left to start; waiting while other workers finish theirs (one may come back)")
        waiting = idle
        if idle:
            time.sleep(every)
        return trial

    oracle_client.create_trial = create_or_pause


def serve(
    tuner: Any,
    cluster: Cluster,
    *,
    on_trial_end: Callable[[Any, str | None], None],
    on_lost: Callable[[str, Any, float, bool], None],
    check_failures: Callable[[Any], None],
    progress: Callable[[str], None],
) -> None:
    """Serve the tuner's oracle to workers until the search is done; bounded waits throughout.

    Raises:
        SearchError: the address cannot be bound, or no worker was heard from for `timeout`
            seconds while trials remain. The search stays resumable.
    """
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos

    from tuning import kt_fixes

    kt_fixes.apply()
    oracle = tuner.oracle
    oracle.verbose = 0  # keras-tuner's own trial tables; the chief prints one line per trial
    # A trial that fails on a worker gets one more attempt (a worker's environment can fail it:
    # a store hiccup, a redo over a killed worker's files); lost workers use none of these.
    oracle.max_retries_per_trial = max(oracle.max_retries_per_trial, 1)
    tuner.save()
    servicer = _servicer(oracle)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    try:
        bound = server.add_insecure_port(cluster.address)
    except RuntimeError:
        bound = 0
    if not bound:
        raise SearchError(f"the chief cannot listen on {cluster.address} (port in use?): pick another --oracle-address")
    server.start()
    reported = len(oracle.end_order)
    progress(f"chief: serving the search on {cluster.address}; start workers with the same command and "
             f"--role worker --oracle-address HOST:{cluster.port}")  # fmt: skip
    try:
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            for tuner_id in set(oracle.tuner_ids) | set(oracle.ongoing_trials):
                silent = now - servicer.last_seen.get(tuner_id, servicer.last_contact)
                if silent > cluster.timeout:
                    trial, fails = oracle.ongoing_trials.get(tuner_id), fails_if_lost(oracle, tuner_id)
                    on_lost(tuner_id, trial, silent, fails)  # closes its runs before anyone redoes the trial
                    drop_worker(oracle, tuner_id, f"worker {tuner_id} went silent for {silent:.0f} s during this "
                                "trial (killed or unreachable)")  # fmt: skip
            for trial_id in oracle.end_order[reported:]:
                on_trial_end(oracle.trials[trial_id], servicer.ran_by.get(trial_id))
            reported = len(oracle.end_order)
            check_failures(oracle)
            if over(oracle, servicer.stop_triggered):
                return
            idle = not oracle.ongoing_trials and not oracle.tuner_ids
            if idle and now - servicer.last_contact > cluster.timeout:
                done = len([t for t in oracle.trials.values() if t.status in ("COMPLETED", "FAILED")])
                queued = f", trials {', '.join(oracle._retry_queue)} waiting" if oracle._retry_queue else ""
                raise SearchError(
                    f"no worker has contacted the chief on {cluster.address} for {now - servicer.last_contact:.0f} s "
                    f"({done} trials done{queued}): start workers (zoo tune ... --role worker --oracle-address "
                    f"HOST:{cluster.port}) and run the chief again; the search resumes"
                )
    finally:
        server.stop(grace=2)
