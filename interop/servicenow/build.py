"""ServiceNow's own build as an external check: the SDK compiles an exported project offline (`now-sdk build`,
telemetry off with NODE_ENV=test), and each of its diagnostics is traced back to our workflow, step and input."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

from pydantic import BaseModel

from interop.servicenow import SDK_ROOT
from interop.servicenow.definitions import SdkMissing
from interop.servicenow.fluent import Origin
from interop.servicenow.project import Project

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LOCATED = re.compile(r"^(?P<file>\S+\.ts):(?P<line>\d+):(?P<col>\d+) - error (?P<code>TS\d+): (?P<message>.*)$")
_PREFIX = "[now-sdk] ERROR: "


class Diagnostic(BaseModel):
    workflow: str | None
    """The workflow key; None for a problem of the project as a whole."""
    step: int | None
    """Our step number; None for the trigger, the flow itself, or the project."""
    input: str | None
    code: str
    message: str

    def __str__(self) -> str:
        where = "project" if self.workflow is None else self.workflow
        if self.workflow is not None:
            where += ": " + ("trigger / flow" if self.step is None else f"step {self.step}")
            where += f", input {self.input!r}" if self.input else ""
        return f"{where}: {self.code} {self.message}"


def build(project: Project, timeout_s: float = 900) -> list[Diagnostic]:
    """Write the project to a temporary folder, run the SDK's build there, return its diagnostics (none: clean)."""
    modules = SDK_ROOT / "node_modules"
    if not (modules / ".bin" / "now-sdk").exists():
        raise SdkMissing(f"ServiceNow's SDK is not installed in {SDK_ROOT}: run ./dev test (or npm ci there)")
    with tempfile.TemporaryDirectory(prefix="flowgen-servicenow-") as folder:
        root = Path(folder)
        project.write(root)
        (root / "node_modules").symlink_to(modules)
        env = {**os.environ, "NODE_ENV": "test", "NO_COLOR": "1", "FORCE_COLOR": "0"}
        done = subprocess.run([str(modules / ".bin" / "now-sdk"), "build"], cwd=root, env=env, capture_output=True,
                              text=True, timeout=timeout_s, check=False)  # fmt: skip
    diagnostics = parse_output(done.stdout + done.stderr, project)
    if done.returncode != 0 and not diagnostics:
        tail = _ANSI.sub("", (done.stdout + done.stderr).strip())[-2000:]
        diagnostics.append(Diagnostic(workflow=None, step=None, input=None, code="BUILD", message=tail))
    return diagnostics


def parse_output(output: str, project: Project) -> list[Diagnostic]:
    """The SDK's `ERROR:` entries (a first line, then detail up to its next line), located where possible."""
    entries: list[list[str]] = []
    inside = False  # within an ERROR entry: its lines run up to the SDK's next line
    for raw in _ANSI.sub("", output).splitlines():
        if raw.startswith(_PREFIX) and inside and _is_excerpt(raw[len(_PREFIX) :]):
            continue  # the SDK prefixes the excerpt under an error like a new entry
        if raw.startswith(_PREFIX):
            entries.append([raw[len(_PREFIX) :]])
            inside = True
        elif raw.startswith("[now-sdk]"):
            inside = False
        elif inside and raw.strip():
            entries[-1].append(raw.strip())
    out = []
    files = {path: key for key, path in project.workflows.items()}
    for lines in entries:
        if lines[0].startswith(("Found ", "Build failed")):
            continue
        match = _LOCATED.match(lines[0])
        if match is None:
            out.append(Diagnostic(workflow=None, step=None, input=None, code="SDK", message=" ".join(lines)))
            continue
        detail = " ".join([match["message"], *(line for line in lines[1:] if not _is_excerpt(line))])
        path = match["file"]
        origin = _origin(project.origins.get(path, {}), int(match["line"]))
        out.append(Diagnostic(workflow=files.get(path), step=origin.step, input=origin.input, code=match["code"],
                              message=detail))  # fmt: skip
    return out


def _is_excerpt(line: str) -> bool:
    """The code excerpt under a TypeScript error: `12     code` and its `~~~` underline."""
    text = line.strip()
    return text[:1].isdigit() or set(text) <= {"~"}


def _origin(origins: dict[int, Origin], line: int) -> Origin:
    """The step and input a line was written for: the line itself or the statement it belongs to."""
    for number in range(line, 0, -1):
        if number in origins:
            return origins[number]
    return Origin(None)
