"""How a Deno runtime process is started: its command line, permissions and context code.

The process (``deno/server.js``) speaks JSON lines over a pipe with ``_sandbox.py``. Its
permissions are the outer wall:

- ``--allow-net`` with ``--deny-net`` listing every non-public IPv4 range minus the networks the
  caller allows (Deno checks the deny list against the address it actually connects to, for
  ``fetch`` and ``node:http`` alike, so a host name that resolves to 127.0.0.2 is refused too).
  Deno takes no IPv6 ranges there, only single addresses: the IPv6 loopback and unspecified
  addresses are listed, and literal IPv6 addresses of other private ranges are refused by the
  runtime's fetch before connecting.
- no ``--allow-read``, ``--allow-write``, ``--allow-env``, ``--allow-run``, ``--allow-ffi``,
  ``--allow-sys``: handler code cannot reach files, the environment or subprocesses, and the
  process starts with an environment of its own.
- ``--v8-flags=--max-old-space-size`` bounds every isolate's heap at twice the memory limit; a
  heap blow-up aborts the process, which the caller reports as a memory error and replaces. The
  caller's watch on the resident size (the limit plus 32 MB of growth within one execution)
  usually stops a runaway first: V8 spends seconds in last-resort collections near its limit.
- ``--max-semi-space-size=1`` (MB) keeps each isolate's young generation small. Executions
  allocate briefly and a lot (requests, bodies, results); left to itself V8 grows the young
  generation in steps towards 48 MB per isolate and never gives it back, so a process's resident
  size crept up by tens of MB per thousand executions. With it the size stays flat (the memory
  line of ``bench/runtime_bench.py``) at no measurable cost in throughput.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import re
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent / "deno"
SERVER = HERE / "server.js"

# Every IPv4 range a handler may not reach unless allowed (phoneprovider/net/guard.py says
# why each one is refused; this list only has to cover the same ground).
_BLOCKED_V4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "100.100.100.200/32",
)
_BLOCKED_V6_HOSTS = ("[::1]", "[::]")
DENO_DIR: str | None = None  # set by ``runtime.configure(deno_dir=...)``


_bin: str | None = None
_bin_lock = threading.Lock()


def deno_bin() -> str:
    """The Deno binary, looked up once: the lookup reads ``sysconfig``, whose first use is not
    thread-safe (threads starting sandboxes together got ``None`` for its ``EXE`` setting and
    failed with "can only concatenate str (not NoneType) to str")."""
    global _bin
    if _bin is None:
        with _bin_lock:
            if _bin is None:
                import deno

                _bin = deno.find_deno_bin()
    return _bin


def deny_list(allowed_networks: tuple[str, ...]) -> list[str]:
    """The blocked IPv4 ranges with the allowed networks cut out, as Deno's CIDR strings."""
    allowed = [
        n
        for n in (ipaddress.ip_network(c.strip(), strict=False) for c in allowed_networks if c)
        if n.version == 4
    ]
    out: list[str] = []
    for cidr in _BLOCKED_V4:
        pieces = [ipaddress.ip_network(cidr)]
        for a in allowed:
            next_pieces = []
            for p in pieces:
                if p.subnet_of(a):
                    continue
                if a.subnet_of(p):
                    next_pieces.extend(p.address_exclude(a))
                else:
                    next_pieces.append(p)
            pieces = next_pieces
        out.extend(str(p) for p in ipaddress.collapse_addresses(pieces))
    allowed_v6 = {str(ipaddress.ip_network(c.strip(), strict=False)) for c in allowed_networks if c}
    if "::1/128" not in allowed_v6:
        out.append(_BLOCKED_V6_HOSTS[0])
    out.append(_BLOCKED_V6_HOSTS[1])
    return out


def deno_dir() -> str:
    """Where Deno keeps its caches (the project's DENO_DIR setting arrives through
    ``runtime.configure``: ``runtime`` reads no Django settings)."""
    default = os.path.join(tempfile.gettempdir(), "phoneprovider-deno")
    path = DENO_DIR or os.environ.get("DENO_DIR") or default
    if not os.path.isdir(path):  # a stat, not a mkdir, on every execution
        os.makedirs(path, exist_ok=True)
    return path


def command(memory_mb: int, allowed_networks: tuple[str, ...]) -> list[str]:
    return [
        deno_bin(),
        "run",
        "--quiet",
        "--no-prompt",
        "--no-config",
        "--no-lock",
        "--no-remote",
        "--cached-only",
        "--allow-net",
        "--deny-net=" + ",".join(deny_list(allowed_networks)),
        f"--v8-flags=--max-old-space-size={2 * max(memory_mb, 32)},--max-semi-space-size=1",
        str(SERVER),
    ]


def environment() -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "DENO_DIR": deno_dir(),
        "NO_COLOR": "1",
        "DENO_NO_UPDATE_CHECK": "1",
        "DENO_NO_PROMPT": "1",
    }
    # Deno finds cached npm packages under the registry's host name: a process loading packages
    # installed from a mirror must know the mirror (handler code cannot read the environment).
    env.update(registry_settings())
    return env


def registry_settings() -> dict[str, str]:
    """npm's registry settings of this process (``NPM_CONFIG_REGISTRY``, either spelling, as
    ``_npm`` passes them to npm). Read on every execution: two look-ups, not a walk over the
    whole environment."""
    return {k: v for k in _REGISTRY_NAMES if (v := os.environ.get(k))}


_REGISTRY_NAMES = ("NPM_CONFIG_REGISTRY", "npm_config_registry")


_LOCAL_IMPORT = re.compile(r"^import \{[^}]*\} from '\./[\w.]+';\n", re.M)


@functools.cache
def worker_source() -> str:
    """``deno/worker.js`` with its local modules inlined: a worker started from a blob URL
    (no read permission needed) cannot import files."""
    parts = []
    for name in ("cache.js", "fetch.js", "worker.js"):
        text = (HERE / name).read_text()
        text = _LOCAL_IMPORT.sub("", text)
        text = re.sub(r"^export (async function|function|const|class)", r"\1", text, flags=re.M)
        parts.append(text)
    return "\n".join(parts)


def init_message(max_contexts: int = 8) -> bytes:
    """``max_contexts``: warm contexts (workers) the process keeps between executions."""
    msg = {"op": "init", "worker_source": worker_source(), "max_contexts": max_contexts}
    return (json.dumps(msg) + "\n").encode()
