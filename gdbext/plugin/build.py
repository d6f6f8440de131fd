"""Build the idtscope trace plugin for one QEMU: ``build_plugin(qemu_argv) -> Path``.

The plugin (``idtscope_trace.c`` beside this file) is compiled with the machine's ``cc``
against the ``qemu-plugin.h`` of the QEMU it will be loaded into: QEMU refuses a plugin
built for an API version outside its own range, and the callback signatures changed
between API 6 and 7 (QEMU 11). The header comes from, in order:

1. ``header=`` or the environment variable ``IDTSCOPE_QEMU_PLUGIN_H`` (a path);
2. a copy already cached for this QEMU version;
3. a header installed on the machine (distributions other than Debian ship one);
4. the ``.orig`` tarball of Debian's ``qemu`` source package of the exact version the
   binary names (``QEMU emulator version 11.1.3 (Debian 1:11.1.3+ds-1)``), read as a
   stream until the header goes by from the Debian archive the machine's apt is
   configured with (``apt_sources.py``); nothing else of QEMU is kept.

Everything lives under ``~/.cache/idtscope/plugin/<QEMU version>/`` (``XDG_CACHE_HOME``
honoured), outside the checkout; the library's name carries a digest of the plugin
source and the header, so a change to either builds a new one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from ..errors import IdtscopeError
from .apt_sources import debian_mirror

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

SOURCE = Path(__file__).with_name("idtscope_trace.c")
HEADER_NAME = "qemu-plugin.h"
HEADER_ENV = "IDTSCOPE_QEMU_PLUGIN_H"
#: where QEMU's source tree keeps the header (it moved to include/plugins/ in QEMU 11)
HEADER_MEMBERS = ("include/qemu/qemu-plugin.h", "include/plugins/qemu-plugin.h")
SYSTEM_HEADERS = (Path("/usr/include/qemu-plugin.h"), Path("/usr/include/qemu/qemu-plugin.h"),
                  Path("/usr/local/include/qemu-plugin.h"), Path("/usr/local/include/qemu/qemu-plugin.h"))
#: where a Debian archive keeps the qemu source package
POOL_PATH = "pool/main/q/qemu"
DOWNLOAD_TIMEOUT = 120
COMPILE_TIMEOUT = 120
#: the first plugin API with the discontinuity (interrupt and exception) callbacks: QEMU 10.2
MIN_API = 5
MIN_VERSION = (10, 2)
_VERSION = re.compile(r"QEMU emulator version (\d+\.\d+\.\d+)(?: \(Debian ([0-9]+:)?([^)\s]+)\))?")


class PluginBuildError(IdtscopeError):
    """The plugin could not be built for this QEMU (no header, no compiler, a compile error)."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "idtscope" / "plugin"


def qemu_version(qemu: Sequence[str]) -> tuple[str, str | None]:
    """``("11.1.3", "11.1.3+ds-1")``: the upstream version and, for a Debian build, the
    Debian version without its epoch (None otherwise)."""
    try:
        run = subprocess.run([*qemu, "--version"], capture_output=True, text=True, timeout=30)
    except OSError as error:
        raise PluginBuildError(f"cannot run {qemu[0]}: {error.strerror or error}") from None
    match = _VERSION.search(run.stdout)
    if run.returncode != 0 or match is None:
        raise PluginBuildError(f"{' '.join(qemu)} --version did not name a QEMU version: "
                               f"{(run.stdout or run.stderr).strip()[:120]!r}")
    return match.group(1), match.group(3)


def orig_tarball(debian_version: str) -> str:
    """The ``.orig`` tarball of a Debian version: ``11.1.3+ds-1`` -> ``qemu_11.1.3+ds.orig.tar.xz``."""
    upstream = debian_version.rsplit("-", 1)[0] if "-" in debian_version else debian_version
    return f"qemu_{upstream}.orig.tar.xz"


def header_api(header: Path) -> int:
    """The ``QEMU_PLUGIN_VERSION`` a header declares."""
    match = re.search(r"#define QEMU_PLUGIN_VERSION (\d+)", header.read_text(errors="replace"))
    if match is None:
        raise PluginBuildError(f"{header} does not define QEMU_PLUGIN_VERSION: not QEMU's qemu-plugin.h")
    return int(match.group(1))


def find_header(version_dir: Path, debian_version: str | None, header: Path | None = None) -> Path:
    """The qemu-plugin.h to build against (see the module docstring for the order)."""
    given = header or (Path(os.environ[HEADER_ENV]) if os.environ.get(HEADER_ENV) else None)
    if given is not None:
        if not given.is_file():
            raise PluginBuildError(f"{given}: no such header file")
        return given
    cached = version_dir / HEADER_NAME
    if cached.is_file():
        return cached
    for candidate in SYSTEM_HEADERS:
        if candidate.is_file():
            return candidate
    if debian_version is None:
        raise PluginBuildError(f"no {HEADER_NAME} for this QEMU: give its path in {HEADER_ENV}")
    _fetch_debian_header(debian_version, cached)
    return cached


def _fetch_debian_header(debian_version: str, target: Path) -> None:
    """Stream the Debian source tarball until the header passes; write it to ``target``."""
    import urllib.error
    import urllib.request

    mirror = debian_mirror()
    if mirror is None:
        raise PluginBuildError(f"apt names no Debian archive to read QEMU {debian_version}'s source from; "
                               f"give the matching {HEADER_NAME} in {HEADER_ENV}")
    url = f"{mirror}/{POOL_PATH}/{orig_tarball(debian_version)}"
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, \
                tarfile.open(fileobj=response, mode="r|xz") as tar:
            for member in tar:
                extracted = tar.extractfile(member) if member.name.split("/", 1)[-1] in HEADER_MEMBERS else None
                if extracted is not None:
                    data = extracted.read()
                    break
            else:
                raise PluginBuildError(f"{url} holds no {HEADER_NAME}")
    except urllib.error.HTTPError as error:
        raise PluginBuildError(f"Debian's source of QEMU {debian_version} is not available ({url}: "
                               f"HTTP {error.code}); give the matching {HEADER_NAME} in {HEADER_ENV}") from None
    except (urllib.error.URLError, OSError, tarfile.TarError) as error:
        raise PluginBuildError(f"cannot read {url}: {error}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(target, data)


def _write_atomically(target: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as temporary:
        temporary.write(data)
    os.replace(temporary.name, target)


def _glib_flags() -> list[str]:
    try:
        run = subprocess.run(["pkg-config", "--cflags", "glib-2.0"], capture_output=True, text=True, timeout=30)
    except OSError:
        raise PluginBuildError("pkg-config is missing (apt-get install pkg-config libglib2.0-dev)") from None
    if run.returncode != 0:
        raise PluginBuildError("GLib's headers are missing (apt-get install libglib2.0-dev)")
    return run.stdout.split()


def build_plugin(qemu: Sequence[str] = ("qemu-system-x86_64",), header: Path | None = None) -> Path:
    """The trace plugin's shared library for the QEMU that ``qemu`` runs, built on first use.

    A QEMU older than 10.2 is refused before any header is looked for, unless ``header`` is
    given: then the plugin API version that header declares decides."""
    version, debian_version = qemu_version(qemu)
    if header is None and tuple(int(part) for part in version.split(".")[:2]) < MIN_VERSION:
        raise PluginBuildError(f"QEMU {version} is older than {'.'.join(map(str, MIN_VERSION))}: its plugins "
                               "are told of no interrupt or exception")
    version_dir = cache_root() / (debian_version or version)
    found = find_header(version_dir, debian_version, header)
    api = header_api(found)
    if api < MIN_API:
        raise PluginBuildError(f"QEMU {version} has plugin API {api}: interrupt and exception callbacks "
                               f"need API {MIN_API} (QEMU 10.2 or later); use -d int instead")
    source = SOURCE.read_bytes()
    header_bytes = found.read_bytes()
    digest = hashlib.sha256(source + b"\0" + header_bytes).hexdigest()[:16]
    library = version_dir / f"idtscope_trace-{digest}.so"
    if library.is_file():
        return library
    version_dir.mkdir(parents=True, exist_ok=True)
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        raise PluginBuildError("no C compiler (cc) to build the trace plugin (apt-get install gcc)")
    with tempfile.TemporaryDirectory(dir=version_dir) as scratch:
        include = Path(scratch) / "include"
        include.mkdir()
        (include / HEADER_NAME).write_bytes(header_bytes)
        output = Path(scratch) / library.name
        argv = [compiler, "-O2", "-Wall", "-shared", "-fPIC", "-fvisibility=hidden", f"-I{include}",
                *_glib_flags(), "-o", str(output), str(SOURCE)]
        run = subprocess.run(argv, capture_output=True, text=True, timeout=COMPILE_TIMEOUT)
        if run.returncode != 0:
            first = next((line for line in run.stderr.splitlines() if "error" in line), run.stderr.strip()[:200])
            raise PluginBuildError(f"the trace plugin does not compile against {found}: {first}")
        os.replace(output, library)
    return library
