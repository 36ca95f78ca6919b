"""The catalog writer under real crashes and real concurrency (issue 13, item 3): writer processes killed
with SIGKILL at arbitrary moments, and changes from several processes at once to one tenant."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from flowgen.catalog import Action, load_catalog
from flowgen.catalog.model import CatalogFile
from flowgen.catalog.store import forget_catalogs, own_document
from flowgen.catalog.versions import commit, read_version, record, version_numbers, writer_lock
from tests.catalog_fixtures import small_root

REPO = Path(__file__).parents[2]
# Version n of the tenant holds n actions of about 1 kB each: the bigger the write, the likelier a kill lands in it.
WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from flowgen.catalog.versions import commit, current_version, record, writer_lock
    from tests.core.test_catalog_writer import document
    folder = Path(sys.argv[1]) / "tenants" / "retail"
    while True:
        with writer_lock(folder.parent.parent):
            n = current_version(folder) + 1
            commit(folder, record(n, "writer", f"put {n}", document(n)))
        print(n, flush=True)
""")
CHANGER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from flowgen.catalog.limits import CatalogLimits
    from retrieval.changes import CatalogChanges
    from tests.catalog_fixtures import hashed_retriever
    from tests.core.test_catalog_writer import action
    changes = CatalogChanges(hashed_retriever(Path(sys.argv[1])), CatalogLimits())
    print("ready", flush=True)
    sys.stdin.readline()  # every process starts changing at once
    for n in sys.argv[2:]:
        changes.put("retail", action(int(n)), f"process {sys.argv[2]}", None)
""")


def action(number: int) -> Action:
    return Action(id=f"gift_{number}", label=f"Gift {number}", description=f"Send gift card number {number}. " * 40)


def document(version: int) -> CatalogFile:
    return CatalogFile(actions=[action(n) for n in range(1, version + 1)])


def _assert_whole(folder: Path) -> int:
    """Every version readable, numbered 1..n without a gap, each exactly what its writer wrote; returns n."""
    numbers = version_numbers(folder)
    assert numbers == list(range(1, len(numbers) + 1))
    for n in numbers:
        assert read_version(folder, n).catalog == document(n)
    return len(numbers)


def test_writers_killed_with_sigkill_leave_the_old_version_or_the_new_never_a_mix(tmp_path: Path) -> None:
    root = small_root(tmp_path)
    folder = root / "tenants" / "retail"
    rng = random.Random(13)
    for _ in range(8):
        with subprocess.Popen([sys.executable, "-c", WRITER, str(root)], cwd=REPO, stdout=subprocess.PIPE,
                              text=True) as writer:  # fmt: skip
            assert writer.stdout is not None
            writer.stdout.readline()  # one version written: the writer is in its loop now
            time.sleep(rng.uniform(0, 0.05))
            writer.send_signal(signal.SIGKILL)
        n = _assert_whole(folder)
        assert own_document("retail", root) == (n, document(n))
        forget_catalogs()  # read the files again, as a restarted service would
        assert set(load_catalog("retail", root).tenant_ids) >= {f"gift_{i}" for i in range(1, n + 1)}
    with writer_lock(root):  # the killed writers' file locks died with them
        commit(folder, record(n + 1, "after", "put", document(n + 1)))
    assert _assert_whole(folder) == n + 1


def test_twenty_changes_from_four_processes_at_once_keep_twenty_versions(tmp_path: Path) -> None:
    root = small_root(tmp_path)
    numbers = [[str(p * 5 + i) for i in range(1, 6)] for p in range(4)]
    processes = [subprocess.Popen([sys.executable, "-c", CHANGER, str(root), *mine], cwd=REPO, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE) for mine in numbers]  # fmt: skip
    for process in processes:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.close()
    assert [process.wait(timeout=600) for process in processes] == [0] * 4
    for process in processes:
        assert process.stdout is not None
        process.stdout.close()
    folder = root / "tenants" / "retail"
    history = [read_version(folder, n) for n in version_numbers(folder)]
    assert [v.version for v in history] == list(range(1, 21))
    assert sorted(v.author for v in history) == sorted(f"process {mine[0]}" for mine in numbers for _ in mine)
    assert {f"gift_{n}" for n in range(1, 21)} <= set(load_catalog("retail", root).actions)
