"""npm dependencies of Actions: resolved, pinned and installed into Deno's cache (``DENO_DIR``).

``resolve`` runs at deploy: it installs each declared ``{name, version}`` (a range, a tag or an
exact version) with ``deno cache`` and returns the exact versions it got, which the deployed
version records. ``ensure`` runs before an execution on a worker whose cache may not hold them
yet (a fresh machine): it installs the pinned versions, once per process. The runtime process
itself runs with ``--cached-only``, so executions never download anything, and a handler can
only ``require`` the packages its version declares (see ``deno/worker.js``).

Deno never runs npm install scripts unless told to (``--allow-scripts``, never given here). The
registry is npm's standard setting, ``NPM_CONFIG_REGISTRY`` (a private mirror works).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading

from phoneprovider.runtime import _deno

INSTALL_TIMEOUT_S = 120.0
_NAME = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
_VERSION = re.compile(r"^[0-9A-Za-z.^~<>=*+-]*$")
_EXACT = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")

_PASSED = (
    "NPM_CONFIG_REGISTRY",
    "npm_config_registry",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "DENO_CERT",
    "DENO_TLS_CA_STORE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
_ensured: set[str] = set()
_lock = threading.Lock()


class DependencyError(Exception):
    """A declared package cannot be found or installed. ``name`` is the package."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


def _check(dep: dict) -> tuple[str, str]:
    name = str(dep.get("name") or "").strip()
    version = str(dep.get("version") or "").strip()
    if not _NAME.match(name) or len(name) > 214:
        raise DependencyError(name, f"{name!r} is not a valid npm package name.")
    if not _VERSION.match(version) or len(version) > 64:
        raise DependencyError(name, f"{version!r} is not a version or range npm understands.")
    return name, version


def _environment() -> dict[str, str]:
    env = _deno.environment()
    # The install step is the host's, not a handler's: it gets the host's registry, proxy and
    # certificate settings (a handler's runtime process gets none of them).
    for key in _PASSED:
        if os.environ.get(key):
            env[key] = os.environ[key]
    if "DENO_CERT" not in env and env.get("SSL_CERT_FILE"):
        env["DENO_CERT"] = env["SSL_CERT_FILE"]
    return env


def _install(name: str, version: str) -> str:
    """Install one package (and what it depends on); return its exact version."""
    spec = f"npm:{name}@{version}" if version else f"npm:{name}"
    with tempfile.TemporaryDirectory(prefix="pp-npm-") as tmp:
        entry = os.path.join(tmp, "deps.js")
        lock = os.path.join(tmp, "lock.json")
        with open(entry, "w") as f:
            f.write(f"import {json.dumps(spec)};\n")
        try:
            done = subprocess.run(
                [
                    _deno.deno_bin(),
                    "cache",
                    "--quiet",
                    "--no-config",
                    f"--lock={lock}",
                    "--frozen=false",
                    "--node-modules-dir=none",
                    entry,
                ],
                env=_environment(),
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DependencyError(
                name, f"Installing {spec[4:]} took longer than {INSTALL_TIMEOUT_S:g} s."
            ) from None
        if done.returncode != 0:
            detail = _first_error(done.stderr) or "the registry refused it"
            raise DependencyError(name, f"The package {spec[4:]} could not be installed: {detail}")
        try:
            with open(lock) as f:
                specifiers = json.load(f).get("specifiers") or {}
        except (OSError, ValueError):
            specifiers = {}
    pinned = specifiers.get(spec) or next(iter(specifiers.values()), "")
    pinned = str(pinned).split("_", 1)[0]
    if not _EXACT.match(pinned):
        raise DependencyError(name, f"The package {spec[4:]} resolved to no exact version.")
    return pinned


def _first_error(stderr: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", stderr or "")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "Stack backtrace", "0:")):
            return re.sub(r"^error:\s*", "", line)[:300]
    return ""


def resolve(dependencies: list[dict]) -> list[dict]:
    """Install every declared package; return them pinned (``[{name, version}]``, exact).

    Raises ``DependencyError`` naming the first package that cannot be installed."""
    seen: set[str] = set()
    out = []
    for dep in dependencies or []:
        name, version = _check(dep)
        if name in seen:
            raise DependencyError(name, f"The package {name} is declared twice.")
        seen.add(name)
        pinned = version if _EXACT.match(version) and _is_cached(name, version) else None
        out.append({"name": name, "version": pinned or _install(name, version)})
    with _lock:
        _ensured.add(_key(out))
    return out


def _key(pinned: list[dict]) -> str:
    # The cache they were installed into is part of the key: when DENO_DIR or the registry
    # changes (a reconfigured process, a test's own cache), they are looked for again.
    where = [_deno.deno_dir(), _deno.registry_settings()]
    return json.dumps([where, sorted((d["name"], d["version"]) for d in pinned)])


def _is_cached(name: str, version: str) -> bool:
    path = os.path.join(_deno.deno_dir(), "npm", "registry.npmjs.org", name, version)
    return os.path.isdir(path) and not os.environ.get("NPM_CONFIG_REGISTRY")


def ensure(pinned: list[dict]) -> list[dict]:
    """Make sure the pinned packages are in this machine's cache (installing them if not)."""
    key = _key(pinned)
    with _lock:
        if key in _ensured:
            return pinned
    clean = [{"name": n, "version": v} for n, v in (_check(d) for d in pinned)]
    for dep in clean:
        if not _EXACT.match(dep["version"]):
            raise DependencyError(dep["name"], f"{dep['name']} is not pinned to an exact version.")
        if not _is_cached(dep["name"], dep["version"]):
            _install(dep["name"], dep["version"])
    with _lock:
        _ensured.add(key)
    return clean
