"""The JavaScript sandbox that runs Action handlers (Auth0-compatible), and its contract.

No Django here: source + event + capabilities in, ``Outcome`` out.

Design (why a process, and why Deno)
------------------------------------
Handler code never runs in the calling process. Deno runs it: Node's built-ins and npm packages
as Auth0 handlers use them, and its permissions (network only, through a deny list of
non-public ranges) as the outer wall.

1. ``execute`` (``_execute.py``) checks a *sandbox process* out of a per-process pool
   (``_sandbox.py``: started lazily, after fork; several executions in flight each, up to a cap,
   once no more processes may be started; a warm one for the same ``context_key`` preferred) and
   sends it the execution as one JSON line over a pipe (``_process.py``: one reader thread per
   sandbox hands each answer to the thread waiting for that execution).
2. The sandbox (``deno/server.js``, started by ``_deno.py``) runs each execution in a Web Worker
   (its own V8 isolate) holding the handler module and its declared npm packages
   (``deno/worker.js``), one execution at a time per worker, as many workers per
   ``context_key`` as it has in flight; a context is reused only for the same key and code, and
   thrown away after any error. When the process must be killed, the executions that merely
   shared it report ``crashed`` (transient), the one that ran over its limit its own error. The
   main thread never runs handler code, so it can enforce deadlines and terminate a runaway
   worker without losing the process.
3. Containment, soft to hard: a deadline inside the sandbox; V8's heap limit
   (``--max-old-space-size``, which aborts the process); the caller's watch on the process's
   resident size (memory outside the heap, such as ArrayBuffers); and the caller's own deadline
   (``timeout_s`` + 3 s), after which it SIGKILLs the sandbox. A dead sandbox is classified from
   its exit status and stderr, and the next execution gets a fresh one.
4. ``fetch`` (and ``node:http(s)``) leave through Deno's network stack, refused by the process's
   ``--deny-net`` list for the address actually connected to, and checked by ``deno/fetch.js``
   (counts, sizes, redirects); or, when the caller passes a ``FetchFn``, fetches are forwarded
   over the pipe to the caller. Counts, sizes, log volume and cache writes are enforced in the
   worker for the handler's sake and again on the host side (``_redact.py``), which does not
   trust it.
5. ``api.cache`` is loaded from the ``CacheStore`` before the execution and its changes saved
   after it; the handler sees Auth0's synchronous API and limits.
6. Secret values (and the forms they take in logs and URLs) are replaced by ``[redacted]`` in
   everything the outcome carries: reason, error, logs, fetch records; a fetch record's URL
   names the secret instead (``${GATEWAY_URL}/sms``).

``validate_source`` (``validate.py``) only parses: ``deno lint`` reads the code with a plugin
(``deno/check.js``) that checks the export. ``load_check`` (also ``validate.py``) then loads the
module once through ``execute`` with its handler swapped for a no-op, so code that throws at its
top level is refused before deploy.
"""

from phoneprovider.net import HttpPolicy
from phoneprovider.runtime._execute import execute
from phoneprovider.runtime._npm import DependencyError
from phoneprovider.runtime._npm import resolve as resolve_dependencies
from phoneprovider.runtime._sandbox import configure, shutdown, warm_up
from phoneprovider.runtime._types import (
    CodeValidationError,
    FetchFn,
    FetchRequest,
    FetchResponse,
    Limits,
    Outcome,
)
from phoneprovider.runtime.cache import CacheStore, MemoryCacheStore, RedisCacheStore
from phoneprovider.runtime.validate import MAX_SOURCE_BYTES, load_check, validate_source

__all__ = [
    "MAX_SOURCE_BYTES",
    "CacheStore",
    "CodeValidationError",
    "DependencyError",
    "FetchFn",
    "FetchRequest",
    "FetchResponse",
    "HttpPolicy",
    "Limits",
    "MemoryCacheStore",
    "Outcome",
    "RedisCacheStore",
    "configure",
    "execute",
    "load_check",
    "resolve_dependencies",
    "shutdown",
    "validate_source",
    "warm_up",
]
