"""A copy of the package with some files edited, and `cds` run on it in another process: how the
release guard is shown to bite on the edits a developer would really make (a changed window, a
changed library function, a changed policy) and to stay quiet on the ones it must ignore."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from tests.support.paths import REPO

Edit = Callable[[str], str]


def edited_copy(tmp_path: Path, edits: Mapping[str, Edit]) -> Path:
    """`cds/` and `hooks/` copied under tmp_path, each file in `edits` (path relative to the
    repository) rewritten by its function, which must change it."""
    root = tmp_path / "checkout"
    # Compiled files come along: unchanged modules need not be compiled again (their
    # timestamps are copied), edited ones are.
    ignore = shutil.ignore_patterns("*.tmp")
    shutil.copytree(REPO / "cds", root / "cds", ignore=ignore)
    shutil.copytree(REPO / "hooks", root / "hooks", ignore=ignore)
    for relative, edit in edits.items():
        path = root / relative
        before = path.read_text("utf-8")
        after = edit(before)
        assert after != before, f"the edit of {relative} changed nothing"
        path.write_text(after, "utf-8")
    return root


def replace_once(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert text.count(old) == 1, f"expected exactly one {old!r}"
        return text.replace(old, new)

    return edit


def run_cds(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`cds ARGS` with the package at `root` (not the installed one)."""
    env = {**os.environ, "PYTHONPATH": str(root), "CDS_HOOKS_DIR": str(root / "hooks")}
    return subprocess.run(
        [sys.executable, "-c", "from cds.cli import main; main()", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
