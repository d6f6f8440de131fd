"""The trace plugin's builder: where the header comes from, and one clear line when it cannot build."""

import pytest

from gdbext.plugin import build
from gdbext.plugin.build import PluginBuildError, build_plugin, find_header, header_api, orig_tarball, qemu_version


def test_debian_versions_name_their_orig_tarball():
    assert orig_tarball("11.1.3+ds-1") == "qemu_11.1.3+ds.orig.tar.xz"
    assert orig_tarball("7.2+dfsg-7+deb12u18+b3") == "qemu_7.2+dfsg.orig.tar.xz"
    assert orig_tarball("11.1.3+ds-2~bpo13+1") == "qemu_11.1.3+ds.orig.tar.xz"


def test_the_machines_qemu_names_its_version():
    version, debian = qemu_version(["qemu-system-x86_64"])
    assert version.count(".") == 2 and (debian is None or debian.startswith(version.rsplit(".", 1)[0]))


def test_a_program_that_is_not_qemu_says_so(tmp_path):
    with pytest.raises(PluginBuildError, match="did not name a QEMU version"):
        qemu_version(["true"])
    with pytest.raises(PluginBuildError, match="cannot run"):
        qemu_version([str(tmp_path / "nothing")])


def test_header_order_given_then_cached(tmp_path, monkeypatch):
    given = tmp_path / "given.h"
    given.write_text("#define QEMU_PLUGIN_VERSION 7\n")
    cached_dir = tmp_path / "11.1.3+ds-1"
    cached_dir.mkdir()
    (cached_dir / "qemu-plugin.h").write_text("#define QEMU_PLUGIN_VERSION 7\n")
    monkeypatch.delenv(build.HEADER_ENV, raising=False)
    assert find_header(cached_dir, "11.1.3+ds-1", given) == given
    assert find_header(cached_dir, "11.1.3+ds-1") == cached_dir / "qemu-plugin.h"
    monkeypatch.setenv(build.HEADER_ENV, str(given))
    assert find_header(cached_dir, "11.1.3+ds-1") == given
    monkeypatch.setenv(build.HEADER_ENV, str(tmp_path / "missing.h"))
    with pytest.raises(PluginBuildError, match="no such header file"):
        find_header(cached_dir, "11.1.3+ds-1")


def test_a_header_without_discontinuity_callbacks_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    old = tmp_path / "qemu-plugin.h"
    old.write_text("#define QEMU_PLUGIN_VERSION 1\n")
    assert header_api(old) == 1
    with pytest.raises(PluginBuildError, match=r"plugin API 1: interrupt and exception callbacks need API 5"):
        build_plugin(["qemu-system-x86_64"], header=old)
    other = tmp_path / "other.h"
    other.write_text("/* not QEMU's */\n")
    with pytest.raises(PluginBuildError, match="does not define QEMU_PLUGIN_VERSION"):
        build_plugin(["qemu-system-x86_64"], header=other)


def test_a_header_the_source_does_not_compile_against_gives_the_compilers_first_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bare = tmp_path / "qemu-plugin.h"
    bare.write_text("#define QEMU_PLUGIN_VERSION 7\n")
    with pytest.raises(PluginBuildError, match=r"does not compile against .*error") as caught:
        build_plugin(["qemu-system-x86_64"], header=bare)
    assert "\n" not in str(caught.value)
    assert not list((tmp_path / "cache").rglob("*.so")), "no library is left behind"
