"""A fake npm registry on loopback: packuments and .tgz tarballs built in the test.

``NpmRegistry.publish(name, version, files)`` builds the package's tarball from a dict of files
(``{"index.js": "...", "package.json": {...}}``; a ``package.json`` is written when the dict has
none) and serves it the way registry.npmjs.org does: ``GET /<name>`` answers the packument (every
published version, ``dist-tags.latest``, ``dist.tarball``/``shasum``/``integrity``) and ``GET
/<name>/-/<file>.tgz`` the tarball. The ``npm_registry`` fixture (tests/conftest.py) starts one and
points ``NPM_CONFIG_REGISTRY`` at it, with a fresh ``DENO_DIR`` so nothing cached from the real
registry or an earlier test is used.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
import urllib.parse
from dataclasses import dataclass, field

from pytest_httpserver import HTTPServer, URIPattern
from werkzeug import Request, Response


@dataclass
class _Version:
    manifest: dict
    tarball: bytes


@dataclass
class NpmRegistry:
    """Packages published in a test, served from a pytest-httpserver on 127.0.0.1."""

    server: HTTPServer
    packages: dict[str, dict[str, _Version]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    latest: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.server.expect_request(_AnyPath(), method="GET").respond_with_handler(self._answer)

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}/"

    def publish(
        self,
        name: str,
        version: str,
        files: dict[str, str | bytes | dict],
        *,
        dependencies: dict[str, str] | None = None,
        scripts: dict[str, str] | None = None,
        latest: bool = True,
    ) -> dict:
        """Publish ``name@version`` made of ``files``; returns its manifest (as served)."""
        manifest = {"name": name, "version": version, "main": "index.js"}
        if dependencies:
            manifest["dependencies"] = dict(dependencies)
        if scripts:
            manifest["scripts"] = dict(scripts)
        given = files.get("package.json")
        if isinstance(given, dict):
            manifest = {**manifest, **given}
        elif isinstance(given, str | bytes):
            manifest = {**manifest, **json.loads(given)}
        contents = {k: v for k, v in files.items() if k != "package.json"}
        contents["package.json"] = json.dumps(manifest, indent=2)
        tarball = _tarball(contents)
        short = name.rsplit("/", 1)[-1]
        dist = {
            "tarball": f"{self.url}{name}/-/{short}-{version}.tgz",
            "shasum": hashlib.sha1(tarball).hexdigest(),  # noqa: S324 - npm's own field
            "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode(),
        }
        served = {**manifest, "dist": dist}
        if scripts and any(k in scripts for k in ("preinstall", "install", "postinstall")):
            served["hasInstallScript"] = True
        with self._lock:
            versions = self.packages.setdefault(name, {})
            versions[version] = _Version(served, tarball)
            if latest:
                self.latest[name] = version
        return served

    def packument(self, name: str) -> dict | None:
        with self._lock:
            versions = self.packages.get(name)
            if not versions:
                return None
            latest = self.latest.get(name) or next(reversed(versions))
            return {
                "name": name,
                "dist-tags": {"latest": latest},
                "versions": {v: dict(p.manifest) for v, p in versions.items()},
                "time": {},
            }

    def _answer(self, request: Request) -> Response:
        path = urllib.parse.unquote(request.path).lstrip("/")
        self.requests.append(path)
        if "/-/" in path:
            name, _, file = path.partition("/-/")
            with self._lock:
                for version, p in self.packages.get(name, {}).items():
                    if file == f"{name.rsplit('/', 1)[-1]}-{version}.tgz":
                        return Response(p.tarball, content_type="application/octet-stream")
            return Response("not found", status=404)
        document = self.packument(path)
        if document is None:
            return Response(
                json.dumps({"error": "Not found"}), 404, content_type="application/json"
            )
        return Response(json.dumps(document), content_type="application/json")


class _AnyPath(URIPattern):
    """Every path: the registry answers all of them itself."""

    def match(self, uri: str) -> bool:
        return True


def _tarball(files: dict[str, str | bytes | dict]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path, content in sorted(files.items()):
            if isinstance(content, dict):
                content = json.dumps(content)
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(f"package/{path}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()
