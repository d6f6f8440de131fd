"""An API-7 ``qemu-plugin.h`` for the sid root's QEMU 11.1, derived at test-setup time.

The trace plugin builds against the header of the QEMU it loads into, and QEMU 11.1
refuses a plugin older than API 7. Debian ships no ``qemu-plugin.h`` and the registry
this project is tested against serves QEMU 11.1's binaries but not its source; it does
serve the source of qemu 10.2.2 (sid's Sources index), whose header is API 5. So
``derived()`` takes 10.2.2's header and applies ``EDITS``: the API 6 and API 7 changes,
each a fact of QEMU's plugin API changelog, each checked to match exactly where it
should (a header that does not match is refused, never half-edited). Whether the result
is right is what tests/live/test_trace_plugin.py proves: a plugin built against it, loaded
into QEMU 11.1.3, reports every timer interrupt the guest counted, every exception with
its vector and error code, and the nesting.

The source comes from Debian's ``qemu`` source package through apt inside the sid root
(tests/guests/newer.py), with a ``deb-src`` line made from the root's own sources.list
and every apt state directory in a scratch directory: the root is left as it was, and no
archive host is named here. apt checks the package against the archive's signed index;
the Release file's expiry date is not checked, because a registry may serve a frozen
snapshot of the archive whose date has passed (its signature still is).

The derived header is cached as ``~/.cache/idtscope/plugin-header/qemu-plugin-api7-<digest>.h``
(outside the checkout; the digest covers the source version and the edits, so a change
to either derives it again), written to a temporary name and renamed, under a lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

from tests.guests import newer

SOURCE_PACKAGE = "qemu"
SOURCE_VERSION = "1:10.2.2+ds-1"
ORIG_TARBALL = "qemu_10.2.2+ds.orig.tar.xz"
SOURCE_MEMBER = "qemu-10.2.2/include/qemu/qemu-plugin.h"
DIRECTORY = newer.CACHE / "plugin-header"
LOCK = newer.CACHE / "plugin-header.lock"
APT_TIMEOUT = 900

#: (the changelog fact, pattern in the API 5 header, replacement, how many times it must match)
EDITS: tuple[tuple[str, str, str, int], ...] = (
    ("API 6 and 7 each raise QEMU_PLUGIN_VERSION: 5 becomes 7",
     r"#define QEMU_PLUGIN_VERSION 5\b", "#define QEMU_PLUGIN_VERSION 7", 1),
    ("API 6: qemu_plugin_read_register and qemu_plugin_write_register return bool, not int",
     r"^int (qemu_plugin_(?:read|write)_register\()", r"bool \1", 2),
    ("API 7: qemu_plugin_udata_cb_t loses the plugin id",
     r"\(\*qemu_plugin_udata_cb_t\)\(qemu_plugin_id_t id, void \*userdata\)",
     "(*qemu_plugin_udata_cb_t)(void *userdata)", 1),
    ("API 7: the discontinuity callback loses the plugin id and gains a trailing userdata",
     r"(\(\*qemu_plugin_vcpu_discon_cb_t\)\()qemu_plugin_id_t id,\s*(unsigned int vcpu_index,"
     r"\s*enum qemu_plugin_discon_type type,\s*uint64_t from_pc, uint64_t to_pc)\);",
     r"\1\2,\n                                             void *userdata);", 1),
    ("API 7: the translation callback loses the plugin id and gains a trailing userdata",
     r"\(\*qemu_plugin_vcpu_tb_trans_cb_t\)\(qemu_plugin_id_t id,\s*struct qemu_plugin_tb \*tb\)",
     "(*qemu_plugin_vcpu_tb_trans_cb_t)(struct qemu_plugin_tb *tb, void *userdata)", 1),
    ("API 7: the vCPU init, exit, idle and resume registrations take a userdata callback and its userdata",
     r"(void qemu_plugin_register_vcpu_(?:init|exit|idle|resume)_cb\(qemu_plugin_id_t id,\s*)"
     r"qemu_plugin_vcpu_simple_cb_t cb\);",
     r"\1qemu_plugin_vcpu_udata_cb_t cb, void *userdata);", 4),
    ("API 7: the discontinuity and translation registrations take a userdata after the callback",
     r"(void qemu_plugin_register_vcpu_(?:discon|tb_trans)_cb\(qemu_plugin_id_t id,[^;]*?"
     r"qemu_plugin_vcpu_(?:discon|tb_trans)_cb_t cb)\);",
     r"\1, void *userdata);", 2),
    ("API 7: the register descriptor gains is_readonly after feature",
     r"(typedef struct \{\s*struct qemu_plugin_register \*handle;\s*const char \*name;\s*"
     r"const char \*feature;\n)",
     r"\1    bool is_readonly;\n", 1),
)


class HeaderDerivationError(RuntimeError):
    """The source header is not the one the edits were written for."""


def derive(text: str) -> str:
    """Apply ``EDITS`` to an API 5 header; each must match exactly its number of times."""
    for fact, pattern, replacement, expected in EDITS:
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        if count != expected:
            raise HeaderDerivationError(f"{fact}: matched {count} times, expected {expected}")
    return text


def _digest() -> str:
    return hashlib.sha256(repr((SOURCE_VERSION, SOURCE_MEMBER, EDITS)).encode()).hexdigest()[:16]


def derived() -> Path:
    """The derived API-7 header, made on first use (one ~40 MB source download)."""
    target = DIRECTORY / f"qemu-plugin-api7-{_digest()}.h"
    if target.is_file():
        return target
    DIRECTORY.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_file():
            text = derive(source_header().decode())
            temporary = target.with_name(f"{target.name}.{os.getpid()}")
            temporary.write_text(text)
            temporary.rename(target)
    return target


def _apt(root_dir: Path, work: Path, *argv: str) -> None:
    options = [f"-oDir::Etc::SourceList={work / 'sources.list'}", f"-oDir::Etc::SourceParts={work / 'parts'}",
               f"-oDir::State::Lists={work / 'lists'}", f"-oDir::Cache={work / 'cache'}",
               "-oAcquire::Check-Valid-Until=false", "-oAPT::Sandbox::User=root"]
    run = subprocess.run(newer.in_root(["apt-get", "-q", *options, *argv], root_dir), cwd=work / "download",
                         capture_output=True, text=True, timeout=APT_TIMEOUT)
    if run.returncode != 0:
        raise RuntimeError(f"in the sid root, apt-get {' '.join(argv)} failed ({run.returncode}):\n"
                           f"{run.stdout[-2000:]}\n{run.stderr[-2000:]}")


def source_header() -> bytes:
    """``qemu-plugin.h`` of Debian's qemu 10.2.2 source, fetched with apt in the sid root.
    The scratch directory is under /tmp, which the root shares."""
    root_dir = newer.root()
    entries = (root_dir / "etc/apt/sources.list").read_text().splitlines()
    deb_src = [re.sub(r"^deb\s", "deb-src ", line) for line in entries if re.match(r"deb\s", line)]
    if not deb_src:
        raise RuntimeError(f"{root_dir}/etc/apt/sources.list has no deb line to make a deb-src line from")
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="idtscope-qemu-src-") as scratch:
        work = Path(scratch)
        for directory in ("parts", "lists/partial", "cache/archives/partial", "download"):
            (work / directory).mkdir(parents=True)
        (work / "sources.list").write_text("\n".join(deb_src) + "\n")
        _apt(root_dir, work, "update")
        _apt(root_dir, work, "source", "--download-only", f"{SOURCE_PACKAGE}={SOURCE_VERSION}")
        with tarfile.open(work / "download" / ORIG_TARBALL, mode="r|xz") as tar:
            for member in tar:
                if member.name == SOURCE_MEMBER:
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        return extracted.read()
    raise RuntimeError(f"{ORIG_TARBALL} holds no {SOURCE_MEMBER}")


if __name__ == "__main__":
    print(derived())
