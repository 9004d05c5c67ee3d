"""A loopback stand-in for the Hugging Face Hub, good enough for the real ``huggingface_hub`` client.

Tests must never reach huggingface.co, yet publishing and downloading are only worth testing
through the real client (its headers, retries and cache layout are what break in practice). So this
server speaks the handful of endpoints ``create_repo``, ``create_branch``, ``upload_folder`` (regular,
non-LFS uploads), ``repo_info``, ``list_repo_tree``, ``hf_hub_download`` and ``snapshot_download`` use
(which is also all ``datasets.load_dataset`` needs for an ``imagefolder`` dataset repo; its one other
call, to the dataset viewer at ``datasets-server.<host>``, fails to resolve and it falls back),
keeps every commit as a full snapshot so branches and commit hashes resolve, and exposes knobs to
inject failures. Model and dataset repos; repo ids must be ``namespace/name`` (dataset repos are
kept under the key ``datasets/namespace/name``).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

DEFAULT_TOKEN = "hf_loopbackFakeToken0123456789"


def git_blob_sha(content: bytes) -> str:
    """The git blob id, which is what the client compares against to skip unchanged files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Commit:
    sha: str
    message: str
    parent: Optional[str]
    files: dict[str, bytes]


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: list[Commit] = field(default_factory=list)  # every snapshot ever committed, oldest first
    branches: dict[str, str] = field(default_factory=dict)  # branch name -> commit sha

    def resolve(self, revision: str) -> Commit:
        """A branch name or a (possibly abbreviated, >= 7 chars) commit sha -> that snapshot."""
        sha = self.branches.get(revision, revision)
        found = [c for c in self.commits if c.sha == sha or (len(sha) >= 7 and c.sha.startswith(sha))]
        if not found:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return found[-1]

    def head(self, branch: str = "main") -> dict[str, bytes]:
        """Files of a branch tip (a convenience for tests)."""
        return self.resolve(branch).files


class HubError(Exception):
    """An error answer; ``code`` goes into ``X-Error-Code``, which the client maps to its exception types."""

    def __init__(self, status: int, code: Optional[str], message: str, headers: Optional[dict] = None, **body: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.body = status, code, message, headers or {}, body


class LoopbackHub:
    """The server, its state (``repos``, ``requests``) and the failure knobs."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tokens: tuple[str, ...] = (DEFAULT_TOKEN,)):
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) in arrival order
        self.tokens = set(tokens)
        self._failures: list[tuple[int, Optional[str]]] = []
        self._lock = threading.RLock()
        self._counter = itertools.count()
        handler = type("Handler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "LoopbackHub":
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="loopback-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket: from now on every request is refused like a Hub outage."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def fail_next(self, n: int, status: int = 500, match: Optional[str] = None) -> None:
        """Answer the next ``n`` requests (whose path contains ``match``, if given) with ``status``."""
        with self._lock:
            self._failures.extend([(status, match)] * n)

    # -- request handling -------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, Any, dict]:
        split = urlsplit(raw_path)
        parts = [unquote(p) for p in split.path.strip("/").split("/")]
        with self._lock:
            status, payload, extra = self._answer(method, parts, parse_qs(split.query), headers, body)
            self.requests.append((method, split.path, status))
        return status, payload, extra

    def _answer(self, method, parts, query, headers, body) -> tuple[int, Any, dict]:
        for i, (status, match) in enumerate(self._failures):
            if match is None or match in "/".join(parts):
                del self._failures[i]
                return status, {"error": f"injected failure {status}"}, {}
        token = (headers.get("authorization") or "").removeprefix("Bearer ").strip()
        try:
            return 200, *self._route(method, parts, query, body, authed=token in self.tokens)
        except HubError as err:
            extra = {"X-Error-Message": err.message, **err.headers}
            if err.code:
                extra["X-Error-Code"] = err.code
            return err.status, {"error": err.message, **err.body}, extra

    def _route(self, method, parts, query, body, authed) -> tuple[Any, dict]:
        if method == "POST" and parts == ["api", "repos", "create"]:
            return self._create_repo(json.loads(body), authed), {}
        if method == "POST" and parts == ["api", "validate-yaml"]:
            return self._validate_yaml(json.loads(body)["content"]), {}
        if parts[:2] in (["api", "models"], ["api", "datasets"]) and len(parts) >= 4:
            prefix = "datasets/" if parts[1] == "datasets" else ""
            repo, rest = self._repo(prefix + "/".join(parts[2:4]), authed), parts[4:]
            if method == "GET" and (not rest or rest[0] == "revision"):
                return self._info(repo, repo.resolve(rest[1] if rest else "main")), {}
            if method == "GET" and rest[0] == "tree" and len(rest) >= 2:
                recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
                return self._tree(repo.resolve(rest[1]), "/".join(rest[2:]), recursive), {}
            if method == "POST" and rest[0] in ("preupload", "commit", "branch") and len(rest) == 2:
                if not authed:
                    raise HubError(401, None, "Invalid credentials in Authorization header")
                action = {"preupload": self._preupload, "commit": self._commit, "branch": self._branch}
                return action[rest[0]](repo, rest[1], body), {}
        if parts[:1] == ["datasets"] and len(parts) >= 6 and parts[3] == "resolve" and method in ("GET", "HEAD"):
            parts = ["datasets/" + parts[1], *parts[2:]]  # the same as a model file, under the dataset key
        if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
            commit = self._repo("/".join(parts[:2]), authed).resolve(parts[3])
            path = "/".join(parts[4:])
            if path not in commit.files:
                raise HubError(404, "EntryNotFound", f"{path} not found", {"X-Repo-Commit": commit.sha})
            content = commit.files[path]
            return content, {"X-Repo-Commit": commit.sha, "ETag": f'"{git_blob_sha(content)}"'}
        raise HubError(404, None, f"no route for {method} /{'/'.join(parts)}")

    def _repo(self, repo_id: str, authed: bool) -> Repo:
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and not authed):
            raise HubError(404, "RepoNotFound", f"Repository {repo_id} not found")
        return repo

    def _create_repo(self, payload: dict, authed: bool) -> dict:
        if not authed:
            raise HubError(401, None, "Invalid credentials in Authorization header")
        if payload.get("type", "model") not in ("model", "dataset") or not payload.get("organization"):
            raise HubError(400, None, "the loopback Hub only hosts model and dataset repos named namespace/name")
        repo_id = f"{payload['organization']}/{payload['name']}"
        if payload.get("type") == "dataset":
            repo_id = "datasets/" + repo_id
        if repo_id in self.repos:
            raise HubError(409, None, "You already created this model repo", url=self._url(repo_id))  # client reads url
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        repo = self.repos[repo_id] = Repo(repo_id, private)
        self._add_commit(repo, "main", "initial commit", None, {".gitattributes": b"*.safetensors filter=lfs\n"})
        return {"url": self._url(repo_id), "name": repo_id}

    def _validate_yaml(self, content: str) -> dict:
        if content.startswith("---"):
            try:
                yaml.safe_load(content.split("---", 2)[1])
            except (yaml.YAMLError, IndexError) as err:
                raise HubError(400, None, "invalid YAML metadata") from err
        return {"errors": [], "warnings": []}

    def _info(self, repo: Repo, commit: Commit) -> dict:
        siblings = [{"rfilename": path} for path in sorted(commit.files)]
        repo_id = repo.repo_id.removeprefix("datasets/")
        return {"id": repo_id, "modelId": repo_id, "sha": commit.sha, "private": repo.private,
                "siblings": siblings, "tags": []}

    def _tree(self, commit: Commit, prefix: str, recursive: bool) -> list[dict]:
        base = f"{prefix}/" if prefix else ""
        below = [p for p in sorted(commit.files) if p.startswith(base)]
        if prefix and not below:
            raise HubError(404, "EntryNotFound", f"{prefix} does not exist", {"X-Repo-Commit": commit.sha})
        entries: dict[str, dict] = {}
        for path in below:
            rel = path[len(base):].split("/")
            depth = len(rel) if recursive else 1
            for i in range(1, min(depth, len(rel) - 1) + 1):  # the folders on the way
                folder = base + "/".join(rel[:i])
                entries[folder] = {"type": "directory", "path": folder, "oid": git_blob_sha(folder.encode()), "size": 0}
            if recursive or len(rel) == 1:
                content = commit.files[path]
                entries[path] = {"type": "file", "path": path, "oid": git_blob_sha(content), "size": len(content)}
        return list(entries.values())

    def _preupload(self, repo: Repo, revision: str, body: bytes) -> dict:
        files = repo.resolve(revision).files
        answer = []
        for item in json.loads(body)["files"]:
            oid = git_blob_sha(files[item["path"]]) if item["path"] in files else None
            answer.append({"path": item["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": oid})
        return {"files": answer, "commitOid": repo.resolve(revision).sha}

    def _commit(self, repo: Repo, branch: str, body: bytes) -> dict:
        if branch not in repo.branches:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {branch}")
        parent = repo.resolve(branch)
        files, message = dict(parent.files), ""
        for line in filter(None, body.decode().splitlines()):
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                message = value["summary"]
                if value.get("parentCommit") not in (None, parent.sha):
                    raise HubError(412, None, "parent commit is not the head of the branch")
            elif key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                files.pop(value["path"], None)
            elif key == "deletedFolder":
                files = {p: c for p, c in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
            else:
                raise HubError(400, None, f"the loopback Hub does not support '{key}' operations")
        sha = self._add_commit(repo, branch, message, parent.sha, files)
        return {"success": True, "commitOid": sha, "commitUrl": f"{self._url(repo.repo_id)}/commit/{sha}",
                "hookOutput": "", "pullRequestUrl": None}

    def _branch(self, repo: Repo, branch: str, body: bytes) -> dict:
        if branch in repo.branches:
            raise HubError(409, None, f"Branch {branch} already exists")
        start = (json.loads(body or b"{}") or {}).get("startingPoint") or "main"
        repo.branches[branch] = repo.resolve(start).sha
        return {}

    def _add_commit(self, repo: Repo, branch: str, message: str, parent: Optional[str], files: dict) -> str:
        digest = hashlib.sha1(f"{repo.repo_id}|{parent}|{message}|{next(self._counter)}".encode())
        for path in sorted(files):
            digest.update(f"|{path}:{git_blob_sha(files[path])}".encode())
        repo.commits.append(Commit(digest.hexdigest(), message, parent, files))
        repo.branches[branch] = digest.hexdigest()
        return digest.hexdigest()

    def _url(self, repo_id: str) -> str:
        return f"{self.url}/{repo_id}"


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0, one request per connection, so ``stop()`` really cuts every client off."""

    hub: LoopbackHub

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, payload, extra = self.hub.handle(method, self.path, self.headers, body)
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        content_type = "application/octet-stream" if isinstance(payload, bytes) else "application/json"
        self.send_response(status)
        for name, value in {"Content-Type": content_type, "Content-Length": str(len(raw)), **extra}.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass
