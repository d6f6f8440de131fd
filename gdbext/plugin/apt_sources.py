"""The Debian archive this machine's apt is configured with: ``debian_mirror() -> str | None``.

apt reads ``/etc/apt/sources.list`` (one-line format, sources.list(5): ``deb [options] URI
suite [component...]``) and then, in name order, ``/etc/apt/sources.list.d/*.list`` (the
same format) and ``*.sources`` (deb822 paragraphs with ``Types:``, ``URIs:`` and an
optional ``Enabled: no``). The Debian archive is the first ``deb`` entry whose URI's last
path component is ``debian`` (Debian's own layout, kept by its mirrors: ``<URI>/pool/...``,
``<URI>/dists/...``); the security archive (``.../debian-security``) and third-party
repositories are passed over. Nothing is fetched here: the machine's own configuration
names the mirror, so no registry host is written into the project.
"""

from __future__ import annotations

from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

APT_ETC = Path("/etc/apt")


def _one_line_uris(text: str) -> Iterator[str]:
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        rest = words[1:]
        if rest and rest[0].startswith("["):
            while rest and not rest[0].endswith("]"):
                rest = rest[1:]
            rest = rest[1:]
        if rest:
            yield rest[0]


def _deb822_uris(text: str) -> Iterator[str]:
    for paragraph in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in paragraph.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key is not None:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes").lower() != "no":
            yield from fields.get("uris", "").split()


def configured_uris(apt_etc: Path = APT_ETC) -> list[str]:
    """Every ``deb`` URI of the apt configuration under ``apt_etc``, in the order apt reads them."""
    uris: list[str] = []
    main = apt_etc / "sources.list"
    if main.is_file():
        uris.extend(_one_line_uris(main.read_text(errors="replace")))
    parts = apt_etc / "sources.list.d"
    if parts.is_dir():
        for part in sorted(parts.iterdir()):
            if part.suffix == ".list" and part.is_file():
                uris.extend(_one_line_uris(part.read_text(errors="replace")))
            elif part.suffix == ".sources" and part.is_file():
                uris.extend(_deb822_uris(part.read_text(errors="replace")))
    return uris


def debian_mirror(apt_etc: Path = APT_ETC) -> str | None:
    """The first Debian archive URI apt is configured with (no trailing slash), or None."""
    for uri in configured_uris(apt_etc):
        trimmed = uri.rstrip("/")
        if trimmed.rsplit("/", 1)[-1] == "debian":
            return trimmed
    return None
