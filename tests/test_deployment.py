"""Deployment: the Docker image, compose.yaml, the entrypoint, and the README's settings table.

There is no Docker engine where these run, so the image is checked statically (every COPY source
exists and gets through .dockerignore, stages, USER, HEALTHCHECK, ENTRYPOINT), its build step is
replayed (the wheel the image installs carries the package data), and the entrypoint's steps run
for real outside a container: `cds check`, `cds migrate` on a fresh PostgreSQL database, then
`cds serve` with two workers, JWT authentication and JSON logs, until it stops cleanly.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml

from cds.pipeline import Engine
from cds.settings import Settings
from tests.api.test_ops import (
    PATIENT_BIRTH_DATE,
    PATIENT_NAME,
    SERVICE,
    feedback_item,
    hook_request,
    parse_metrics,
    value,
)
from tests.support.databases import postgres_database
from tests.support.jwt_keys import ISSUER, PUBLIC_URL, EhrKeys, bearer, claims_for
from tests.support.paths import REPO

DOCKER = REPO / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yaml"
ENTRYPOINT = DOCKER / "entrypoint.sh"
NGINX_CONF = DOCKER / "nginx.conf"
DOCKERIGNORE = REPO / ".dockerignore"
BASE_IMAGE = "python:3.11-slim"
SETTINGS = sorted(f"CDS_{name.upper()}" for name in Settings.model_fields)
INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER",
}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The Dockerfile, parsed


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: int  # index of the FROM it belongs to


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped (Docker's own rules:
    a comment line inside a continued instruction is removed, not ended on)."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        keyword = keyword.upper()
        assert keyword in INSTRUCTIONS, f"unknown Dockerfile instruction: {full[:60]}"
        if keyword == "FROM":
            stage += 1
        assert stage >= 0, "an instruction before the first FROM"
        instructions.append(Instruction(keyword, args.strip(), stage))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text())


def _options(args: str) -> tuple[dict[str, str], list[str]]:
    """`--name=value` options and the remaining words of a COPY/ADD."""
    words = shlex.split(args)
    options = dict(w[2:].split("=", 1) for w in words if w.startswith("--"))
    return options, [w for w in words if not w.startswith("--")]


def _stages(instructions: list[Instruction]) -> list[tuple[str, str | None]]:
    """(image, stage name) of each FROM."""
    stages = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = ins.args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append((words[0], name))
    return stages


def _final(instructions: list[Instruction]) -> list[Instruction]:
    last = max(ins.stage for ins in instructions)
    return [ins for ins in instructions if ins.stage == last]


def test_the_dockerfile_parses_and_every_stage_uses_the_pinned_base_image(
    dockerfile: list[Instruction],
) -> None:
    stages = _stages(dockerfile)
    assert len(stages) >= 2, "multi-stage: build tools stay out of the runtime image"
    assert {image for image, _ in stages} == {BASE_IMAGE}
    names = [name for _, name in stages if name]
    assert len(names) == len(set(names)), "stage names are unique"
    for ins in dockerfile:
        if ins.keyword == "COPY":
            source_stage = _options(ins.args)[0].get("from")
            if source_stage is not None:
                assert source_stage in names[: ins.stage], f"COPY --from an earlier stage: {ins}"


def test_every_copy_source_exists_and_gets_into_the_build_context(
    dockerfile: list[Instruction],
) -> None:
    allowed = dockerignore_allowed()
    copies = [ins for ins in dockerfile if ins.keyword in ("COPY", "ADD")]
    assert copies
    for ins in copies:
        options, words = _options(ins.args)
        if "from" in options:
            continue
        for source in words[:-1]:
            assert (REPO / source).exists(), f"{ins.keyword} source missing: {source}"
            assert any(source == a or source.startswith(a + "/") for a in allowed), (
                f"{source} is excluded by .dockerignore"
            )


def dockerignore_allowed() -> list[str]:
    """The allow-list: .dockerignore excludes everything (`*`), then lets named paths in."""
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", ".dockerignore starts by excluding everything"
    return [line[1:].rstrip("/") for line in lines if line.startswith("!")]


def test_dockerignore_keeps_the_context_small() -> None:
    allowed = dockerignore_allowed()
    for heavy in ("fixtures", "tests", ".git", ".venv", "bench", "var", "docs"):
        assert not any(a == heavy or a.startswith(heavy + "/") for a in allowed), heavy
    text = DOCKERIGNORE.read_text()
    assert "**/__pycache__" in text


def test_the_runtime_runs_as_a_non_root_user(dockerfile: list[Instruction]) -> None:
    users = [ins.args for ins in _final(dockerfile) if ins.keyword == "USER"]
    assert users, "the runtime stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user.isdigit(), "numeric, so that runAsNonRoot can check it"


def healthcheck_command(instructions: list[Instruction]) -> list[str]:
    """The HEALTHCHECK's CMD, in exec form (a JSON list)."""
    (check,) = [ins.args for ins in _final(instructions) if ins.keyword == "HEALTHCHECK"]
    command = json.loads(check.split(" CMD ", 1)[1])
    assert isinstance(command, list)
    return [str(word) for word in command]


def test_the_image_has_a_healthcheck_on_health(dockerfile: list[Instruction]) -> None:
    (check,) = [ins.args for ins in _final(dockerfile) if ins.keyword == "HEALTHCHECK"]
    assert "--timeout=" in check
    command = healthcheck_command(dockerfile)
    assert command[0] == "python"  # the venv's, first on PATH in the image
    assert "/health" in command[-1]


def test_the_entrypoint_is_the_script_and_runs_check_migrate_serve(
    dockerfile: list[Instruction],
) -> None:
    final = _final(dockerfile)
    (entrypoint,) = [json.loads(ins.args) for ins in final if ins.keyword == "ENTRYPOINT"]
    assert isinstance(entrypoint, list), "exec form: the service gets the signals, not a shell"
    copied = {
        _options(ins.args)[1][-1]: _options(ins.args)[1][0]
        for ins in final
        if ins.keyword == "COPY" and "from" not in _options(ins.args)[0]
    }
    target = next(path for path in copied if Path(path).name == entrypoint[0])
    assert copied[target] == "docker/entrypoint.sh"
    assert os.access(ENTRYPOINT, os.X_OK), "executable in the repository"
    assert any("chmod" in ins.args and target in ins.args for ins in final if ins.keyword == "RUN")
    subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=True, timeout=10)  # valid sh
    steps = [
        line.strip()
        for line in ENTRYPOINT.read_text().splitlines()
        if line.strip().startswith(("cds ", "exec cds "))
    ]
    assert steps == ["cds check", "cds migrate", "exec cds serve"]
    assert "set -eu" in ENTRYPOINT.read_text()


def test_the_image_installs_only_hash_checked_packages(dockerfile: list[Instruction]) -> None:
    runs = [ins.args for ins in dockerfile if ins.keyword == "RUN" and "pip" in ins.args]
    installs = [
        part.strip()
        for run in runs
        for part in run.split("&&")
        if re.search(r"pip (install|wheel)", part)
    ]
    assert installs
    for install in installs:
        if " -r " in install:
            assert "--require-hashes" in install, install
        else:  # the project itself: built locally, nothing downloaded
            assert "--no-deps" in install, install
    assert any("--require-hashes -r requirements.lock" in i for i in installs)
    # The build backend comes from the dev lock, extracted by an awk line: run that very line.
    (extract,) = [
        part.strip() for run in runs for part in run.split("&&") if part.strip().startswith("awk ")
    ]
    command = extract.split(">")[0]
    result = subprocess.run(
        ["sh", "-c", command], cwd=REPO, capture_output=True, text=True, check=True, timeout=30
    )
    requirements = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert len(requirements) == 1
    assert re.fullmatch(r"setuptools==[\d.]+ \\", requirements[0])
    assert result.stdout.count("--hash=sha256:") >= 1


def test_the_image_env_names_only_real_settings(dockerfile: list[Instruction]) -> None:
    env = " ".join(ins.args for ins in _final(dockerfile) if ins.keyword == "ENV")
    names = set(re.findall(r"\b(CDS_[A-Z_]+)=", env))
    assert names, "the image sets its container defaults"
    assert names <= set(SETTINGS), names - set(SETTINGS)
    port = re.search(r"CDS_PORT=(\d+)", env)
    exposed = [ins.args for ins in _final(dockerfile) if ins.keyword == "EXPOSE"]
    assert port is not None
    assert exposed == [port.group(1)]


def test_the_wheel_the_image_installs_carries_the_package_data(tmp_path: Path) -> None:
    """Replays the build stage's project build on the files its COPY lines take: a file missing
    from the wheel (migrations, value sets, released.json) would only fail in the container."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "cds", tmp_path / "cds", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--wheel-dir", str(tmp_path / "dist"), str(tmp_path)],
        check=True, capture_output=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in (
        "cds/rules/released.json",
        "cds/rules/released/diuretic-electrolytes@1.0.0.json",
        "cds/record/contract.json",
        "cds/terminology/data/2026.11/valuesets.tsv",
        "cds/audit/migrations/env.py",
        "cds/py.typed",
    ):
        assert data in names, data
    sources = {
        str(path.relative_to(REPO))
        for path in (REPO / "cds").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sources <= names, sorted(sources - names)[:5]
    assert any(n.endswith("entry_points.txt") for n in names)  # the `cds` command


# ---------------------------------------------------------------------------------------------
# compose.yaml


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def _host_path(path: str) -> Path:
    """A relative path in compose.yaml is relative to the compose file's folder."""
    return (COMPOSE.parent / path).resolve()


def test_compose_names_only_files_that_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is not None:
            context = _host_path(build["context"])
            assert context == REPO, f"{name}: builds from the repository root"
            assert (context / build["dockerfile"]).resolve() == DOCKERFILE
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert _host_path(source).exists(), f"{name} mounts a missing {source}"
            else:
                assert source in compose.get("volumes", {}), f"{name}: undeclared volume {source}"


def test_the_service_waits_for_healthy_postgres_and_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    depends = services["cds"]["depends_on"]
    assert depends["postgres"] == {"condition": "service_healthy"}
    assert depends["redis"] == {"condition": "service_healthy"}
    for dependency in ("postgres", "redis"):
        assert services[dependency]["healthcheck"]["test"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_redis_keeps_the_jti_cache_across_a_restart(compose: dict[str, Any]) -> None:
    """An append-only file on a volume, synced at every write: a restarted Redis still knows
    every token it accepted (tests/security/test_jti_cache.py restarts a real one both ways)."""
    redis_service = compose["services"]["redis"]
    command = redis_service["command"]
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "always"
    (volume,) = redis_service["volumes"]
    name, target = volume.split(":")[:2]
    assert name in compose["volumes"]
    assert target == options["--dir"]


def test_replicas_can_scale_behind_the_load_balancer(compose: dict[str, Any]) -> None:
    """`--scale cds=3` needs a service without a fixed host port or container name; the one
    published port belongs to the load balancer, which proxies to every replica."""
    services = compose["services"]
    cds = services["cds"]
    assert "ports" not in cds
    assert "container_name" not in cds
    port = cds["environment"]["CDS_PORT"]
    assert cds["expose"] == [port]
    lb = services["lb"]
    assert lb["depends_on"]["cds"] == {"condition": "service_healthy"}
    assert any(str(p).endswith(":8080") for p in lb["ports"])
    assert any(v.startswith("./nginx.conf:") for v in lb["volumes"])
    nginx = NGINX_CONF.read_text()
    assert f"http://cds:{port}" in nginx
    assert "resolver 127.0.0.11" in nginx  # Docker's DNS: every replica, re-resolved
    size = re.search(r"client_max_body_size (\d+)m;", nginx)
    assert size is not None
    assert int(size.group(1)) * 1024 * 1024 > Settings.model_fields["max_body_bytes"].default


def _environment(compose: dict[str, Any]) -> dict[str, str]:
    env = compose["services"]["cds"]["environment"]
    assert isinstance(env, dict)
    return {key: str(value) for key, value in env.items()}


def test_compose_sets_every_setting_and_only_real_ones(compose: dict[str, Any]) -> None:
    env = _environment(compose)
    assert sorted(key for key in env if key.startswith("CDS_")) == SETTINGS
    assert env["CDS_JWT_REQUIRED"] == "true", "authentication on"
    assert env["CDS_REDIS_URL"].startswith("redis://redis:")
    assert env["CDS_DATABASE_URL"].startswith("postgresql+psycopg://cds:")
    assert "@postgres:5432/" in env["CDS_DATABASE_URL"]


_DEFAULTED = re.compile(r"\$\{(\w+)(:?[-?])([^}]*)\}")


def test_compose_defaults_survive_interpolation(compose: dict[str, Any]) -> None:
    """Compose versions disagree on where `${VAR:-default}` ends when the default holds braces
    (some cut at the first `}`): a JSON default would break once the variable is set."""
    for match in re.finditer(r"\$\{[^$]*?\}\}?", COMPOSE.read_text()):
        assert not match.group(0).endswith("}}"), match.group(0)
    env = _environment(compose)
    issuers = env["CDS_TRUSTED_ISSUERS"]
    assert re.fullmatch(r"\$\{CDS_TRUSTED_ISSUERS:\?[^}]+\}", issuers), "required, no default"


def test_compose_configuration_is_one_the_service_accepts(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defaults substituted, the documented example issuer given: Settings validates it, with
    the container's /run/cds/jwks read from docker/jwks/ (what the volume mounts)."""
    (jwks_mount,) = [
        v for v in compose["services"]["cds"]["volumes"] if v.split(":")[1] == "/run/cds/jwks"
    ]
    host_jwks = _host_path(jwks_mount.split(":")[0])
    example = re.search(r"export CDS_TRUSTED_ISSUERS='([^']+)'", COMPOSE.read_text())
    assert example is not None
    issuers = json.loads(example.group(1))
    for location in issuers.values():
        assert location.startswith("/run/cds/jwks/")
        assert (host_jwks / Path(location).name).is_file()

    def substitute(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            name, _, default = match.groups()
            if name == "CDS_TRUSTED_ISSUERS":
                local = {iss: str(host_jwks / Path(p).name) for iss, p in issuers.items()}
                return json.dumps(local)
            return default

        return _DEFAULTED.sub(one, text)

    for name in list(os.environ):
        if name.startswith("CDS_"):
            monkeypatch.delenv(name)
    for key, raw in _environment(compose).items():
        monkeypatch.setenv(key, substitute(raw))
    monkeypatch.setenv("CDS_HOOKS_DIR", str(REPO / "hooks"))  # /app/hooks in the image
    settings = Settings()
    assert settings.jwt_required
    assert settings.workers == 2
    assert settings.log_format == "json"
    assert set(settings.trusted_issuers) == {"https://ehr.example.org"}


def test_the_shipped_jwks_are_public_keys_only() -> None:
    """The EXAMPLE key set (nobody can sign with it) and the CDS Hooks sandbox's published one
    (for trying the service with the sandbox: README)."""
    shipped = sorted(path.name for path in (DOCKER / "jwks").glob("*.json"))
    assert shipped == ["ehr.example.org.json", "sandbox.cds-hooks.org.json"]
    for path in (DOCKER / "jwks").glob("*.json"):
        document = json.loads(path.read_text())
        assert document["keys"]
        for key in document["keys"]:
            assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(key), f"private key in {path}"
    (example,) = json.loads((DOCKER / "jwks" / "ehr.example.org.json").read_text())["keys"]
    assert "EXAMPLE" in example["kid"], "marked as an example"
    readme = (DOCKER / "jwks" / "README.md").read_text()
    assert "Replace it" in readme
    assert "sandbox.cds-hooks.org.json" in readme


# ---------------------------------------------------------------------------------------------
# README: every setting documented


def test_the_license_file_is_the_one_pyproject_names() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "Apache-2.0"}
    text = (REPO / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License\n")
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| `(CDS_[A-Z_]+)` \|", readme, flags=re.MULTILINE)
    assert sorted(rows) == SETTINGS, {"missing": set(SETTINGS) - set(rows)}


# ---------------------------------------------------------------------------------------------
# The entrypoint's steps, for real: check, migrate (fresh PostgreSQL database), serve


REDIS_DEPLOY_URL = "redis://127.0.0.1:6379/15"  # the shared server, a database of its own


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def jwks_file(tmp_path: Path) -> tuple[EhrKeys, Path]:
    keys = EhrKeys.generate()
    path = tmp_path / "ehr-jwks.json"
    path.write_text(json.dumps(keys.jwks()))
    return keys, path


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    keys: EhrKeys


@pytest.fixture
def served(tmp_path: Path, jwks_file: tuple[EhrKeys, Path]) -> Iterator[Served]:
    """docker/entrypoint.sh run as the container runs it, minus the container: two workers,
    JWT required (a trusted issuer whose keys this test holds), JSON logs, PostgreSQL, Redis."""
    keys, jwks = jwks_file
    port = _free_port()
    # The jti cache of db 15 started a minute ago, as in a running deployment (a token signed
    # just before a cache's very first use is refused: it predates the cache).
    started = redis.Redis.from_url(REDIS_DEPLOY_URL)
    started.set("cds:jti:started", int(time.time()) - 60, nx=True)
    started.close()
    with postgres_database("cds_deploy") as database_url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CDS_", "PROMETHEUS_"))},
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "CDS_HOST": "127.0.0.1",
            "CDS_PORT": str(port),
            "CDS_WORKERS": "2",
            "CDS_LOG_FORMAT": "json",
            "CDS_DATABASE_URL": database_url,
            "CDS_JWT_REQUIRED": "true",
            "CDS_PUBLIC_URL": PUBLIC_URL,
            "CDS_TRUSTED_ISSUERS": json.dumps({ISSUER: str(jwks)}),
            "CDS_REDIS_URL": REDIS_DEPLOY_URL,
            "CDS_AUDIT_SPOOL_DIR": str(tmp_path / "spool"),
        }
        # The child writes to its own copies of these files: this process's are closed at once.
        with open(tmp_path / "stdout.log", "w") as out, open(tmp_path / "stderr.log", "w") as err:
            process = subprocess.Popen(
                ["sh", str(ENTRYPOINT)],
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=err,
                text=True,
                start_new_session=True,  # its own process group: stopped with its workers
            )
        try:
            yield Served(f"http://127.0.0.1:{port}", process, keys)
        finally:
            if process.poll() is None:  # the test failed before stopping it
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)  # the group this fixture started
                    process.wait(timeout=30)


def _wait_until_ready(served: Served, logs: Path, workers: int, timeout: float = 90) -> None:
    """/health and /ready answer 200, and every worker has finished starting (until then the
    first one takes every connection)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"the entrypoint exited with {served.process.returncode}:{_tail(logs)}")
        try:
            health = httpx.get(f"{served.url}/health", timeout=2)
            ready = httpx.get(f"{served.url}/ready", timeout=5)
            started = sum(
                line["message"] == "Application startup complete." for line in _log_lines(logs)
            )
            if health.status_code == ready.status_code == 200 and started == workers:
                return
            last = f"{ready.text} ({started} workers started)"
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(0.25)
    pytest.fail(f"not ready within {timeout} s: {last}{_tail(logs)}")


def _tail(logs: Path) -> str:
    text = (logs / "stderr.log").read_text() if (logs / "stderr.log").exists() else ""
    return "\n--- stderr (end) ---\n" + "\n".join(text.splitlines()[-20:])


def _post(served: Served, path: str, body: Any) -> httpx.Response:
    token = served.keys.sign(claims_for(path))
    # A new connection per request: the kernel spreads connections over the workers.
    with httpx.Client(timeout=30) as client:
        return client.post(served.url + path, json=body, headers=bearer(token))


@pytest.mark.postgres
@pytest.mark.redis
def test_the_entrypoint_checks_migrates_and_serves_two_workers(
    served: Served, engine: Engine, tmp_path: Path
) -> None:
    _wait_until_ready(served, tmp_path, workers=2)
    call_path = f"/cds-services/{SERVICE}"

    # The image's HEALTHCHECK command, run as Docker would (with this interpreter).
    healthcheck = healthcheck_command(parse_dockerfile(DOCKERFILE.read_text()))
    port = served.url.rsplit(":", 1)[1]
    subprocess.run(
        [sys.executable, *healthcheck[1:]],
        env={**os.environ, "CDS_PORT": port},
        check=True,
        timeout=10,
    )

    # Authentication is on: no token, 401.
    assert httpx.post(served.url + call_path, json={}, timeout=10).status_code == 401

    # Calls from several threads, until both workers have served some (bounded).
    pids: Counter[int] = Counter()
    cards: list[str] = []
    sent = 0
    deadline = time.monotonic() + 60
    with ThreadPoolExecutor(max_workers=4) as pool:
        while len(pids) < 2 and sent < 200 and time.monotonic() < deadline:
            responses = list(
                pool.map(lambda _: _post(served, call_path, hook_request(engine)), range(8))
            )
            sent += len(responses)
            for response in responses:
                assert response.status_code == 200, response.text
                cards.extend(card["uuid"] for card in response.json()["cards"])
            pids = Counter(line["pid"] for line in _log_lines(tmp_path) if _is_invocation(line))
    assert len(pids) == 2, f"every call went to one worker: {pids}{_tail(tmp_path)}"
    feedback = {"feedback": [feedback_item(cards[0], "accepted")]}
    assert _post(served, f"{call_path}/feedback", feedback).status_code == 200

    # /metrics is answered by one worker and sums both.
    samples = parse_metrics(httpx.get(f"{served.url}/metrics", timeout=10).text)
    labels = {"route": "/cds-services/{service_id}", "service": SERVICE, "method": "POST"}
    assert value(samples, "cds_http_requests_total", **labels, status="200") == sent
    assert value(samples, "cds_http_requests_total", **labels, status="401") == 1
    assert value(samples, "cds_feedback_total", service=SERVICE, outcome="accepted") == 1
    issued = value(
        samples, "cds_cards_issued_total", service=SERVICE, rule="diuretic-electrolytes",
        indicator="warning",
    ) + value(
        samples, "cds_cards_issued_total", service=SERVICE, rule="diuretic-electrolytes",
        indicator="critical",
    )  # fmt: skip
    assert issued == sent

    # A clean stop: SIGTERM to `cds serve` (the entrypoint exec'd into it), bounded.
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=30) == 0, _tail(tmp_path)

    # Logs: every line is one JSON object, uvicorn's included; the ids, never the patient.
    lines = _log_lines(tmp_path)
    messages = [line["message"] for line in lines]
    assert any("configuration OK" in m for m in messages)  # cds check
    assert "database is at the latest schema" in messages  # cds migrate
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    invocations = [line for line in lines if _is_invocation(line)]
    assert len(invocations) == sent
    for line in invocations:
        assert {"hookInstance", "service", "duration_ms", "cards", "status"} <= set(line)
    rejected = [line for line in lines if line.get("status") == 401]
    assert len(rejected) == 1
    assert rejected[0]["reason"]
    everything = (tmp_path / "stderr.log").read_text() + (tmp_path / "stdout.log").read_text()
    for phi in (*PATIENT_NAME, PATIENT_BIRTH_DATE):
        assert phi not in everything
    assert "Bearer" not in everything
    assert (tmp_path / "stdout.log").read_text() == ""


def _log_lines(directory: Path) -> list[dict[str, Any]]:
    """Every complete line of the service's stderr, parsed (a line still being written, after
    the last newline, is left for later)."""
    text = (directory / "stderr.log").read_text()
    lines = []
    for raw in text.split("\n")[:-1]:
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            pytest.fail(f"a log line that is not JSON: {raw[:200]}")
    return lines


def _is_invocation(line: dict[str, Any]) -> bool:
    return line.get("message") == "invocation" and line.get("logger") == "cds.invocation"
