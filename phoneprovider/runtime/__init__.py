"""The JavaScript sandbox that runs Action handlers (Auth0-compatible), and its contract.

No Django here: source + event + capabilities in, ``Outcome`` out.

Design (why a process, not just an isolate)
-------------------------------------------
mini-racer's own limits are leaky: promise, microtask and timer loops escape its timeout,
ArrayBuffers escape its heap cap, some out-of-memory paths abort the whole process, and
``ulimit -v`` keeps V8 from starting. So handler code never runs in the calling process:

1. ``execute`` (``_pool.py``) checks a *sandbox process* out of a per-process pool (started
   lazily, after fork; one execution at a time each; a warm one for the same ``context_key``
   preferred) and sends it the execution as one JSON line over a pipe.
2. The sandbox (``_child.py``, a plain script that imports nothing of the project) keeps one V8
   isolate per ``context_key`` with the runtime prelude (``js/prelude.js``: fetch, Buffer,
   crypto, URL, timers, console, ``require`` of the allowed built-ins) and the handler module.
   A context is reused only for the same key and thrown away after any error; after a timeout
   or a memory-limit hit the whole sandbox process exits.
3. Containment, soft to hard: the isolate's hard heap limit and ``--max-old-space-size``;
   ``RLIMIT_DATA`` on the sandbox (set per execution to current use + 3x the memory limit +
   256 MB) so ArrayBuffer growth fails as a RangeError inside JavaScript; a deadline inside the
   sandbox (``timeout_s``), enforced with cancelable evaluations that cannot block its event
   loop; and the caller's own deadline (``timeout_s`` + 3 s) that SIGKILLs the sandbox and
   returns a timeout outcome. A dead sandbox is classified from its exit status and stderr.
4. ``fetch`` runs in the sandbox through ``phoneprovider/net/`` (one pooled client per
   sandbox and allowed-network set; resolved addresses checked and pinned at connect time,
   every redirect checked again), or, when the caller passes a ``FetchFn``, is forwarded over
   the pipe to the caller. Counts, sizes, log volume and cache writes are enforced in the
   isolate for the handler's sake and again on the host side, which does not trust it.
5. ``api.cache`` is loaded from the ``CacheStore`` before the execution and its changes saved
   after it; the handler sees Auth0's synchronous API and limits.
6. Secret values (and their URL-encoded forms) are replaced by ``[redacted]`` in everything the
   outcome carries: reason, error, logs, fetch records.

``validate_source`` (``validate.py``) only parses: it runs acorn over the code as data.
``load_check`` (also ``validate.py``) then loads the module once through ``execute`` with its
handler swapped for a no-op, so code that throws at its top level is refused before deploy.
"""

from phoneprovider.net import HttpPolicy
from phoneprovider.runtime._npm import DependencyError
from phoneprovider.runtime._npm import resolve as resolve_dependencies
from phoneprovider.runtime._pool import BACKENDS, backend, configure, execute, shutdown, warm_up
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
    "BACKENDS",
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
    "backend",
    "configure",
    "execute",
    "load_check",
    "resolve_dependencies",
    "shutdown",
    "validate_source",
    "warm_up",
]
