"""The production image's runtime steps without Docker: read ``Dockerfile``, run its steps in a
fresh virtual environment, start its ``CMD`` against a throwaway database and check it serves.

The steps are not repeated here: every ``ENV``, ``WORKDIR`` and ``RUN`` instruction of every stage
is read from the Dockerfile and run in order (``COPY`` is the copy of the build context this
script makes first, filtered by ``.dockerignore``; ``$VENV`` is a fresh virtual environment
instead of ``/opt/venv``), then the final stage's ``CMD`` is started with ``DEBUG=False`` and the
production variables docker-compose.yml passes, after compose's ``migrate`` command. It fails
unless:

- ``manage.py check --deploy`` is clean with those production variables;
- the final stage runs as a user other than root, and no step installs requirements-dev.txt
  (pytest is not importable in the environment);
- the build steps leave no embedded PostgreSQL data (``.vaultcore``) in the image's files;
- ``/healthz`` and ``/readyz`` answer 200, ``/admin/login/`` and ``/api/docs/`` answer 200, and
  the static files those pages link (hashed names from the manifest) answer 200;
- with ``LOG_FORMAT=json`` (as compose sets it) every line the server writes is a JSON object,
  and the access-log lines carry the request id;
- when ``nginx`` is installed: deploy/nginx.conf in front of it (compose's proxy, with the static
  files copied as compose's ``static`` service copies them) serves the pages, serves the static
  files itself (pre-compressed, cached for a year) and keeps client connections alive.

Environment: DATABASE_URL (server to create the throwaway database on; default local
PostgreSQL), REDIS_URL (optional), IMAGE_CHECK_DATABASE_NAME (default ``vaultcore_image_check``),
IMAGE_CHECK_KEEP=1 keeps the working directory for inspection.
"""

# The commands and URLs below are the Dockerfile's own and this script's loopback server.
# ruff: noqa: S603, S607, S310

from __future__ import annotations

import base64
import fnmatch
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live import database_urls, free_port

ROOT = Path(__file__).resolve().parent.parent
# docker-compose.yml's ``migrate`` service runs exactly this before ``web`` starts.
MIGRATE_COMMAND = ["python", "manage.py", "migrate", "--noinput"]
PAGES = ("/admin/login/", "/api/docs/")


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def dockerfile_stages(text: str) -> list[Stage]:
    """The Dockerfile's stages, each with its instructions (continuation lines joined)."""
    stages: list[Stage] = []
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1].rstrip() + " "
            continue
        logical += line
        keyword, _, args = logical.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        logical = ""
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name=name))
            continue
        if not stages:
            raise ValueError(f"{keyword} before FROM")
        stages[-1].instructions.append((keyword, args))
    return stages


def env_assignments(args: str, env: dict[str, str]) -> dict[str, str]:
    """``ENV a=1 b=$a`` as Docker reads it: values may refer to variables set before."""
    result = {}
    for item in shlex.split(args):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"ENV {args!r}: use the key=value form")
        result[key] = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)
    return result


def final_cmd(stages: list[Stage]) -> list[str]:
    cmds = stages[-1].all("CMD")
    if not cmds:
        raise ValueError("the final stage has no CMD")
    return list(json.loads(cmds[-1]))


def final_user(stages: list[Stage]) -> str:
    users = stages[-1].all("USER")
    return users[-1] if users else "root"


def is_root(user: str) -> bool:
    return user.split(":")[0] in ("", "root", "0")


def build_context(dest: Path) -> None:
    """Copy the files ``docker build .`` would send (git's view of the tree minus .dockerignore)."""
    patterns = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        parts = Path(rel).parts
        ignored = any(
            fnmatch.fnmatch(rel, pattern)
            or fnmatch.fnmatch(rel, pattern + "/*")
            or any(fnmatch.fnmatch(part, pattern.removeprefix("**/")) for part in parts)
            for pattern in patterns
        )
        source = ROOT / rel
        if ignored or not source.is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / rel, follow_symlinks=True)


def run_build_steps(stages: list[Stage], app: Path, venv: Path) -> dict[str, str]:
    """Every stage's ENV and RUN, in order; returns the final stage's environment."""
    env: dict[str, str] = {}
    for stage in stages:
        # Each stage starts from the base image's environment.
        env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "TMPDIR": str(app.parent / "tmp")}
        for keyword, args in stage.instructions:
            if keyword == "ENV":
                env.update(env_assignments(args, env))
                env["VENV"] = str(venv)
                env["PATH"] = env["PATH"].replace("/opt/venv", str(venv))
            elif keyword == "RUN":
                if args.startswith("["):
                    raise ValueError("RUN in exec form: use a shell command")
                print(f"--> [{stage.name}] RUN {args}", flush=True)
                subprocess.run(["sh", "-ec", args], cwd=app, env=env, check=True)
            elif keyword in ("WORKDIR", "COPY", "USER", "EXPOSE", "CMD", "LABEL", "ARG"):
                continue  # the build context is already in place; USER/CMD are checked below
            else:
                raise ValueError(f"{keyword} is not emulated by this check; extend it or avoid it")
    return env


def fetch(url: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


NGINX_MAIN = """
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{}}
http {{
  include /etc/nginx/mime.types;
  access_log {work}/nginx-access.log;
  client_body_temp_path {work}/nginx-body;
  proxy_temp_path {work}/nginx-proxy;
  fastcgi_temp_path {work}/nginx-fastcgi;
  uwsgi_temp_path {work}/nginx-uwsgi;
  scgi_temp_path {work}/nginx-scgi;
  include {work}/nginx-site.conf;
}}
"""


def start_nginx(work: Path, app: Path, app_port: int) -> tuple[subprocess.Popen[bytes], int]:
    """deploy/nginx.conf as compose runs it: upstream ``web:8000`` is the server started here, the
    static volume a copy of the collected files (compose's ``static`` service)."""
    shutil.copytree(app / "staticfiles", work / "srv" / "static")
    port = free_port()
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in (
        ("server web:8000;", f"server 127.0.0.1:{app_port};"),
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("root /srv;", f"root {work / 'srv'};"),
        # Production terminates TLS in this server: the app sees https (and redirects plain HTTP).
        ("X-Forwarded-Proto $scheme;", "X-Forwarded-Proto https;"),
    ):
        if old not in site:
            raise SystemExit(f"FAILED: deploy/nginx.conf has no {old!r}")
        site = site.replace(old, new)
    (work / "nginx-site.conf").write_text(site)
    (work / "nginx.conf").write_text(NGINX_MAIN.format(work=work))
    work.chmod(0o755)  # nginx's workers drop root: they read the static files as another user
    proc = subprocess.Popen(
        ["nginx", "-c", str(work / "nginx.conf"), "-p", str(work), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    return proc, port


def check_through_nginx(port: int, pages: dict[str, list[str]]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    first_socket = None
    try:
        for page, assets in pages.items():
            conn.request("GET", page)
            response = conn.getresponse()
            response.read()
            check(response.status == 200, f"nginx: {page} answers {response.status}")
            check(bool(response.getheader("X-Request-ID")), f"nginx: {page} carries the request id nginx sent")
            first_socket = first_socket or conn.sock
            for asset in assets:
                conn.request("GET", asset, headers={"Accept-Encoding": "gzip"})
                response = conn.getresponse()
                response.read()
                served_by_nginx = response.getheader("X-Request-ID") is None
                check(
                    response.status == 200 and served_by_nginx,
                    f"nginx: {asset} answers {response.status} from nginx itself",
                )
                check(
                    "immutable" in (response.getheader("Cache-Control") or ""),
                    f"nginx: {asset} is cached ({response.getheader('Cache-Control')})",
                )
                if asset.endswith((".css", ".js")):
                    check(response.getheader("Content-Encoding") == "gzip", f"nginx: {asset} sent pre-compressed")
        check(conn.sock is not None and conn.sock is first_socket, "nginx kept the client connection alive")
    finally:
        conn.close()


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"FAILED: {message}")
    print(f"ok: {message}", flush=True)


def main() -> None:
    stages = dockerfile_stages((ROOT / "Dockerfile").read_text())
    check(len(stages) >= 2, f"multi-stage Dockerfile ({[s.name for s in stages]})")
    check(not is_root(final_user(stages)), f"the image runs as a non-root user ({final_user(stages)})")
    runs = " ".join(args for stage in stages for args in stage.all("RUN"))
    check("requirements-dev" not in runs, "no step installs requirements-dev.txt")
    check("DEBUG=True" not in runs, "no step runs with DEBUG=True")

    work = Path(tempfile.mkdtemp(prefix="vaultcore-image-"))
    app, venv = work / "app", work / "venv"
    app.mkdir()
    (work / "tmp").mkdir()
    db_name = os.environ.get("IMAGE_CHECK_DATABASE_NAME", "vaultcore_image_check")
    server_url, db_url = database_urls(db_name)
    proc: subprocess.Popen[bytes] | None = None
    created = False
    try:
        build_context(app)
        env = run_build_steps(stages, app, venv)
        python = str(venv / "bin" / "python")
        dev_probe = subprocess.run([python, "-c", "import pytest"], capture_output=True, env=env)
        check(dev_probe.returncode != 0, "no development dependency in the environment (pytest absent)")
        check(not (app / ".vaultcore").exists(), "no embedded PostgreSQL data left by the build")
        check((app / "staticfiles" / "staticfiles.json").is_file(), "collectstatic wrote the manifest")

        admin_sql = (
            "import psycopg, sys; c = psycopg.connect(sys.argv[1], autocommit=True); "
            "c.execute(f'DROP DATABASE IF EXISTS \"{sys.argv[2]}\" WITH (FORCE)'); "
            "sys.argv[3:] and c.execute(f'CREATE DATABASE \"{sys.argv[2]}\"')"
        )
        subprocess.run([python, "-c", admin_sql, server_url, db_name, "create"], check=True, env=env)
        created = True

        port = free_port()
        runtime = {
            **env,
            # What docker-compose.yml's x-app passes (secrets from .env there, fresh ones here).
            "DEBUG": "False",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": db_url,
            "REDIS_URL": os.environ.get("REDIS_URL", ""),
            "CACHE_KEY_PREFIX": f"image-check-{port}",
            "ENCRYPTION_KEYS": "check1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
            "STRIPE_SECRET_KEY": "sk_test_image_check",
            "STRIPE_WEBHOOK_SECRET": "whsec_image_check",
            "USE_X_FORWARDED_PROTO": "True",
            "THROTTLE_NUM_PROXIES": "1",
            "LOG_FORMAT": "json",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "2",
        }
        print(f"--> {shlex.join(MIGRATE_COMMAND)}", flush=True)
        subprocess.run(MIGRATE_COMMAND, cwd=app, env=runtime, check=True, stdout=subprocess.DEVNULL)

        deploy_check = ["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
        result = subprocess.run(deploy_check, cwd=app, env=runtime, capture_output=True, text=True)
        check(result.returncode == 0, f"manage.py check --deploy is clean {result.stderr.strip()[-500:]}")

        cmd = final_cmd(stages)
        print(f"--> CMD {shlex.join(cmd)}", flush=True)
        log_path = work / "server.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, cwd=app, env=runtime, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        # As nginx (deploy/nginx.conf) forwards every request.
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = fetch(base + "/healthz", headers)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.stdout.write(log_path.read_text())
                    raise SystemExit("FAILED: the server did not start") from None
                time.sleep(0.3)
        check(status == 200, f"/healthz answers {status}")
        status, body, _ = fetch(base + "/readyz", headers)
        check(status == 200, f"/readyz answers {status} {body[:200]!r}")
        linked: dict[str, list[str]] = {}
        for page in PAGES:
            status, body, _ = fetch(base + page, {**headers, "X-Request-ID": f"image-check{page.replace('/', '-')}"})
            check(status == 200, f"{page} answers {status}")
            assets = sorted({a.decode() for a in re.findall(rb'(?:href|src)="(/static/[^"]+)"', body)})
            check(bool(assets), f"{page} links static files ({len(assets)})")
            for asset in assets:
                status, _, _ = fetch(base + asset, headers)
                check(status == 200, f"{asset} answers {status}")
            linked[page] = assets
        status, _, _ = fetch(base + "/api/v1/no-such-endpoint/", {**headers, "X-Request-ID": "image-check-404"})
        check(status == 404, f"an unknown URL answers {status}")
        if shutil.which("nginx"):
            nginx, nginx_port = start_nginx(work, app, port)
            try:
                deadline = time.monotonic() + 20
                while not (work / "nginx.pid").exists():
                    if nginx.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("FAILED: nginx did not start: " + (work / "nginx-error.log").read_text())
                    time.sleep(0.1)
                time.sleep(0.3)
                check_through_nginx(nginx_port, linked)
            finally:
                nginx.terminate()
                nginx.wait(timeout=30)
        else:
            print("note: nginx is not installed; deploy/nginx.conf was not exercised", flush=True)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if created:
            subprocess.run([str(venv / "bin" / "python"), "-c", admin_sql, server_url, db_name], check=False, env=env)
    lines = [line for line in (work / "server.log").read_text().splitlines() if line.strip()]
    records: list[dict[str, Any]] = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            raise SystemExit(f"FAILED: a log line is not JSON: {line[:300]}") from None
    check(bool(records), f"the server logged {len(records)} JSON lines")
    access = [r for r in records if r.get("logger") == "gunicorn.access"]
    ids = {r.get("request_id") for r in access}
    check({"image-check-admin-login-", "image-check-404"} <= ids, "access-log lines carry the request id")
    check(all("trace_id" in r for r in records), "every log line has the trace_id field")
    if os.environ.get("IMAGE_CHECK_KEEP") != "1":
        shutil.rmtree(work, ignore_errors=True)
    print("image runtime check passed", flush=True)


if __name__ == "__main__":
    main()
