"""Run one of Cashrail's flows in this process (Prefect's temporary server unless one is configured).

The CLI and the web app run billing, collection and notification flows on demand through
here; the flows themselves live in ``flows/`` (imported by name, so the hub never imports
its own orchestration layer statically).
"""

from __future__ import annotations

import contextvars
import inspect
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from importlib import import_module
from typing import Any, ParamSpec, TypeVar

from hub.platform import prefect_env

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def in_process() -> Iterator[None]:
    """Prefect set up for a flow run in this process: no flow-run heartbeat thread, and the
    process's one API client.

    Prefect 3.8 joins the heartbeat thread when a run ends, and it sleeps in 1 s steps: every
    short run would wait up to a second for nothing. A run in this process needs no heartbeat to
    tell it crashed (its caller sees that; a sync's own run row beats per page); runs of
    deployments, under `cashrail serve`'s worker, keep Prefect's. Both the settings without it
    and the client are made once per Prefect settings in force: a fresh client per run (an SSL
    context, a new connection, a CSRF token) and a settings copy per run (pydantic reading the
    environment again) cost a short run more than its own work (``bench/RESULTS.md``).
    """
    prefect_env.configure()
    import prefect.context

    base = prefect.context.get_settings_context()
    settings, client = _for(base.settings)
    with prefect.context.SettingsContext(profile=base.profile, settings=settings), \
            prefect.context.SyncClientContext.model_construct(client=client):
        yield


#: per Prefect settings object in force (kept alive here, so its id is never reused): the
#: settings without the heartbeat and the client made under them
_prepared: dict[int, tuple[Any, Any, Any]] = {}
_lock = threading.Lock()


def _for(base: Any) -> tuple[Any, Any]:
    with _lock:
        found = _prepared.get(id(base))
        if found is None:
            import prefect.context
            from prefect.client.orchestration import get_client
            from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

            settings = base.copy_with_update(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
            with prefect.context.SettingsContext(profile=prefect.context.get_settings_context().profile,
                                                 settings=settings):
                client = get_client(sync_client=True)
                client.__enter__()  # open for the process's life: each run's context re-enters it
            found = _prepared[id(base)] = (base, settings, client)
        return found[1], found[2]


def run_flow(name: str, module: str = "billing", **params: Any) -> Any:
    """Call ``flows.<module>.<name>(**params)`` and return what the flow returns."""
    with in_process():
        return getattr(import_module(f"flows.{module}"), name)(**params)


#: the Prefect flow id of each flow name, per process client (``run_reported``)
_flow_ids: dict[tuple[int, str], Any] = {}


#: the Prefect calls a reported run makes beside its own work (its creation, its artifacts)
_beside = ThreadPoolExecutor(max_workers=4, thread_name_prefix="prefect-report")
#: in a reported run: its creation on its way, and the calls sent beside it (``send_beside``)
_creating: contextvars.ContextVar[Future[Any] | None] = contextvars.ContextVar("cashrail_creating", default=None)
_sent: contextvars.ContextVar[list[Future[Any]] | None] = contextvars.ContextVar("cashrail_sent", default=None)


def run_reported(flow: Any, **params: Any) -> Any:
    """Call ``flow``'s function in this process as a Prefect flow run that Cashrail reports itself.

    The run shows in Prefect as one made by its engine does: the flow's name, the run's name from
    ``flow_run_name``, its parameters, Running then Completed (or Failed with the error, Crashed
    when interrupted), and the logs and artifacts the function sends through its run context. It
    costs two API calls of its own — the run created already Running, then its final state — where
    Prefect's engine makes six round trips around a short run's work (the flow upserted, the run
    created, read back, renamed, set Running, set Completed). For a sync with nothing to fetch those
    were half of its time (``bench/RESULTS.md``, issue 21). The parameters are bound to the flow's
    signature with its defaults, as the engine binds them (a wrong name is a ``TypeError``).

    A function marked :func:`starts_early` does not wait for Prefect: the run is created while it
    starts (it asks for the run by :func:`flow_run_id` before its first log line or artifact), and
    the calls it sends by :func:`send_beside` (its artifacts) are on their way while it goes on. The
    run's own calls never go beside each other: Prefect's temporary server (SQLite) answers two
    writes at once with 503 now and then, and its client retries after 2, 4, 8… s (a no-change run
    took 62 s once, ``bench/RESULTS.md``). A run that Prefect could not create still runs an early
    function; the creation's error is raised at its first :func:`flow_run_id`, or when it returns.

    Only for flows the engine has nothing more to do for: no retries, timeout or state hooks, no
    task runs. Runs of deployments (``cashrail serve``'s workers) keep Prefect's engine.
    """
    if flow.retries or flow.timeout_seconds or any(
            getattr(flow, hook, None) for hook in ("on_completion_hooks", "on_failure_hooks", "on_crashed_hooks",
                                                    "on_cancellation_hooks", "on_running_hooks")):
        raise ValueError(f"flow {flow.name!r} has retries, a timeout or state hooks: run it through Prefect's engine")
    from prefect import get_run_logger
    from prefect.context import FlowRunContext, SyncClientContext
    from prefect.results import get_result_store
    from prefect.states import Completed, Crashed, Failed

    signature = inspect.signature(flow.fn)
    if unknown := sorted(set(params) - set(signature.parameters)):
        raise TypeError(f"flow {flow.name!r} has no parameter {', '.join(map(repr, unknown))}")
    bound = signature.bind(**params)  # a required one missing is a TypeError naming it
    bound.apply_defaults()
    params = dict(bound.arguments)
    with in_process():
        client = SyncClientContext.get().client  # type: ignore[union-attr]
        creating = _beside.submit(_create_running, client, flow, params)
        sent: list[Future[Any]] = []
        with ExitStack() as stack:
            runner = stack.enter_context(flow.task_runner.duplicate())
            context = FlowRunContext(flow=flow, flow_run=None, parameters=params, client=client,
                                     task_runner=runner, persist_result=False,
                                     result_store=get_result_store().update_for_flow(flow, _sync=True))  # type: ignore[call-arg]
            stack.enter_context(context)
            stack.callback(_creating.reset, _creating.set(creating))
            stack.callback(_sent.reset, _sent.set(sent))
            if not getattr(flow.fn, _EARLY, False):
                _created(context, creating)
            try:
                result = flow.fn(**params)
            except Exception as exc:
                flow_run = _created(context, creating, exc)
                get_run_logger(context).exception("Encountered exception during execution: %r", exc)
                wait(sent)
                client.set_flow_run_state(flow_run.id, Failed(message=f"Flow run encountered an exception: {exc!r}"),
                                          force=True)
                raise
            except BaseException as exc:  # interrupted: the run did not fail of itself
                flow_run = _created(context, creating, exc)
                client.set_flow_run_state(flow_run.id, Crashed(message=f"Execution was interrupted: {exc!r}"),
                                          force=True)
                raise
            flow_run = _created(context, creating)
            if errors := [exc for exc in map(_error_of, sent) if exc is not None]:  # an artifact lost: the run failed
                client.set_flow_run_state(flow_run.id, Failed(message=f"Flow run encountered an exception: "
                                                                      f"{errors[0]!r}"), force=True)
                raise errors[0]
        client.set_flow_run_state(flow_run.id, Completed(), force=True)
        return result


_EARLY = "_cashrail_starts_early"


def starts_early(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a flow's function that :func:`run_reported` may start while Prefect creates its run:
    it calls :func:`flow_run_id` before its first log line, artifact or other Prefect call."""
    setattr(fn, _EARLY, True)
    return fn


def flow_run_id(*, wait: bool = True) -> str | None:
    """The id of the Prefect flow run this code runs in (on the flow's own thread).

    Under :func:`run_reported` the run is created while the flow starts: this waits for it (raising
    the creation's error), or with ``wait=False`` returns None while it is on its way.

    Raises:
        RuntimeError: not in a flow run.
    """
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None:
        raise RuntimeError("not in a Prefect flow run")
    creating = _creating.get()
    if context.flow_run is None and creating is not None and (wait or creating.done()):
        _created(context, creating)
    return str(context.flow_run.id) if context.flow_run is not None else None


def send_beside(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """A call to Prefect's API that the flow needs no answer from (an artifact): under
    :func:`run_reported` sent while the run goes on, in the run's context, and waited for (its
    error raised) before the run's final state is known to its caller; elsewhere made now."""
    sent = _sent.get()
    if sent is None:
        call(*args, **kwargs)
        return
    flow_run_id()  # what it sends names the run
    sent.append(_beside.submit(contextvars.copy_context().run, call, *args, **kwargs))


def _created(context: Any, creating: Future[Any], failed: BaseException | None = None) -> Any:
    """The run's creation waited for and set in its context; when it failed, its error is raised
    (from ``failed``, the function's own error, when there is one: that one is the cause to tell)."""
    if context.flow_run is None:
        try:
            context.flow_run = creating.result()
        except Exception as exc:
            if failed is None or failed is exc:
                raise
            raise failed from exc
    return context.flow_run


def _error_of(sent: Future[Any]) -> BaseException | None:
    """What a call sent beside the run raised, waited for (None: it went through)."""
    return sent.exception()


def _create_running(client: Any, flow: Any, params: dict[str, Any]) -> Any:
    """One POST: the flow run, named, with its parameters, already Running (the flow's id is
    kept per client; asked again if the server no longer knows it)."""
    from prefect.client.schemas.actions import FlowCreate, FlowRunCreate
    from prefect.client.schemas.objects import FlowRun, FlowRunPolicy
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.states import Running, to_state_create

    key = (id(client), flow.name)
    name = flow.flow_run_name.format(**params) if isinstance(flow.flow_run_name, str) else None
    for attempt in (1, 2):
        flow_id = _flow_ids.get(key)
        if flow_id is None:
            flow_id = _flow_ids[key] = client.request(
                "POST", "/flows/", json=FlowCreate(name=flow.name).model_dump(mode="json")).json()["id"]
        create = FlowRunCreate(flow_id=flow_id, flow_version=flow.version, name=name,
                               parameters=flow.serialize_parameters(params), state=to_state_create(Running()),
                               empirical_policy=FlowRunPolicy(retries=0, retry_delay=0))
        try:
            response = client.request("POST", "/flow_runs/", json=create.model_dump(mode="json", exclude_unset=True))
        except PrefectHTTPStatusError:
            if attempt == 2:
                raise
            _flow_ids.pop(key, None)  # a server started afresh: the flow is made again
            continue
        return FlowRun.model_validate(response.json())
    raise AssertionError("unreachable")
