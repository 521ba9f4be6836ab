"""Every shell block of the README, run as written, in order, in one shell, in a clean temporary
HOME, against the server the README says to start (`make run`'s, started here the way the
Makefile starts it), so a recipe that breaks is a red build.

The README's ports are fixed (5000, 5001, 5010...), and other programs on this machine may use
them, so everything runs in private namespaces (``unshare --net --mount --pid``, as root: CI
runs as root): a network namespace of its own (only ``lo``), so the ports collide with nothing,
and a PID namespace, so every process a recipe leaves behind ends with it. podman keeps its
images in the temporary directory (its storage configuration, like a user's own, is not part of
the recipes). A failure names the block (its number, section and first line) and shows its
output.
"""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from ..tools import requires

ROOT = pathlib.Path(__file__).parents[2]
README = ROOT / "README.md"
#: what a recipe needs on the machine (CI installs each); `ecr-emulator` comes from this environment
TOOLS = ("podman", "skopeo", "curl", "docker", "unshare", "ip", "docker-credential-ecr-login")
pytestmark = [
    pytest.mark.slow,
    requires(all(shutil.which(tool) for tool in TOOLS), f"the README's recipes need {', '.join(TOOLS)}"),
    requires(os.geteuid() == 0, "the README's recipes run in private namespaces, which needs root (as in CI)"),
]
#: how `make run` serves (the Makefile's `run` target, with its default HOST and PORT)
MAKE_RUN = "ecr-emulator serve --host 127.0.0.1 --port 5000"


class Block:
    def __init__(self, number: int, section: str, line: int, text: str) -> None:
        self.number, self.section, self.line, self.text = number, section, line, text

    def describe(self) -> str:
        first = self.text.strip().splitlines()[0]
        return f"README block {self.number} (line {self.line}, section {self.section!r}): {first}"


def readme_blocks(text: str) -> list[Block]:
    """Every ```sh block, in order, with the section it is in."""
    blocks = []
    for match in re.finditer(r"^```sh\n(.*?)^```", text, re.S | re.M):
        before = text[:match.start()]
        sections = re.findall(r"^## (.+)$", before, re.M)
        blocks.append(Block(len(blocks) + 1, sections[-1] if sections else "(top)", before.count("\n") + 1,
                            match.group(1)))
    return blocks


def test_make_run_serves_as_this_test_starts_it():
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/ecr-emulator serve --host $(HOST) --port $(PORT)" in makefile
    assert re.search(r"^HOST \?= 127\.0\.0\.1$", makefile, re.M) and re.search(r"^PORT \?= 5000$", makefile, re.M)


def _driver(blocks: list[Block], work: pathlib.Path) -> str:
    """The script run in the namespaces: `make run`'s server, then each block, sourced in order
    by one shell (variables and the working directory carry over, as when pasted)."""
    lines = [
        "set -e -o pipefail",
        "ip link set lo up",
        'cd "$HOME"',
        f"{MAKE_RUN} > {shlex.quote(str(work / 'make-run.log'))} 2>&1 &",
        "timeout 60 sh -c 'until curl -sf http://127.0.0.1:5000/_emulator/health >/dev/null; do sleep 0.2; done'",
    ]
    for block in blocks:
        path = work / f"block-{block.number}.sh"
        path.write_text(block.text)
        lines += [f"echo {block.number} > {shlex.quote(str(work / 'progress'))}",
                  f"echo '>>> README block {block.number}'",
                  f". {shlex.quote(str(path))}"]
    lines.append(f"echo done > {shlex.quote(str(work / 'progress'))}")
    return "\n".join(lines) + "\n"


def test_every_readme_shell_block_runs_as_written(tmp_path):
    blocks = readme_blocks(README.read_text())
    assert blocks and "make run" in blocks[0].text, "the README's first shell block must be the two commands"
    recipes = blocks[1:]  # the first is `make run` / `make test`: the server is started as make run does
    assert not [b.describe() for b in recipes if re.search(r"^\s*(sudo|make) ", b.text, re.M)], \
        "a recipe uses sudo or make"
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (work / "xdg").mkdir()
    (work / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{work}/run"\ngraphroot = "{work}/root"\n')
    (work / "containers.conf").write_text('[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n')
    (work / "registries.conf").write_text("")
    (work / "driver.sh").write_text(_driver(recipes, work))
    env = {
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],  # as the README says
        "HOME": str(home), "USER": "root", "LANG": "C.UTF-8", "TMPDIR": str(work),
        "XDG_RUNTIME_DIR": str(work / "xdg"),
        "CONTAINERS_STORAGE_CONF": str(work / "storage.conf"),
        "CONTAINERS_CONF": str(work / "containers.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(work / "registries.conf"),
    }
    try:
        done = subprocess.run(["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc", "--",
                               "bash", str(work / "driver.sh")], cwd=home, env=env, capture_output=True,
                              text=True, timeout=1200)
    finally:
        shutil.rmtree(work / "root", ignore_errors=True)  # podman's images (vfs: plain directories)
    progress = (work / "progress").read_text().strip() if (work / "progress").exists() else "0"
    if done.returncode != 0 or progress != "done":
        numbered = {block.number: block for block in recipes}
        where = (numbered[int(progress)].describe() if progress.isdigit() and int(progress) in numbered
                 else "before the first block (make run's server did not start)")
        log = (work / "make-run.log").read_text()[-3000:] if (work / "make-run.log").exists() else ""
        pytest.fail(f"{where} failed (exit {done.returncode})\n--- stdout\n{done.stdout[-6000:]}\n"
                    f"--- stderr\n{done.stderr[-6000:]}\n--- make run's server log\n{log}", pytrace=False)
    out = done.stdout + done.stderr
    assert "127.0.0.1:5000/team/app" in out                       # boto3's repositoryUri, usable as returned
    assert '"v1"' in out and '"v2"' in out                          # podman pushed v1, skopeo copied v2
    assert "Login Succeeded" in out
    assert "CVE-2023-4911" in out                                   # the scanning recipe found the demo feed's CVE
    assert "state saved to" in out                                  # the state recipe's stop line
