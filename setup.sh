#!/usr/bin/env bash
# Set up idtscope on a Debian machine: system packages (QEMU, gdb, nasm, the venv
# module, tmux, cc and GLib's headers for the trace plugin), then a virtual environment
# in .venv built with gdb's own Python, so the same environment serves the `idtscope`
# shell and `source gdbext/gdbinit.py` inside gdb. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v gdb >/dev/null || missing+=(gdb)
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v nasm >/dev/null || missing+=(nasm)
command -v ld >/dev/null || missing+=(binutils)
command -v tmux >/dev/null || missing+=(tmux)
# the trace plugin (gdbext/plugin) is compiled with the machine's cc against GLib's headers
command -v cc >/dev/null || missing+=(gcc)
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists glib-2.0 2>/dev/null || missing+=(libglib2.0-dev)
if [ ${#missing[@]} -gt 0 ] || ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]} python3-venv with apt-get" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" python3-venv >/dev/null
fi

# gdb embeds a Python; the venv must be made with that same interpreter.
gdb_python=$(gdb -nx -batch -ex 'python import sys; print(f"{sys.base_prefix}/bin/python{sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null | tail -n 1)
if [ ! -x "$gdb_python" ]; then
  echo "setup: gdb's Python ($gdb_python) is not an executable; is gdb built with Python?" >&2
  exit 1
fi
want=$("$gdb_python" -c 'import sys; print(sys.version.split()[0])')
have=$(.venv/bin/python -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  rm -rf .venv
  "$gdb_python" -m venv .venv
fi

stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  # compat: the editable install is a plain .pth line, so no import hook slows every start
  if ! { .venv/bin/python -m pip install -q --upgrade pip &&
         .venv/bin/python -m pip install -q -e ".[test]" --config-settings editable_mode=compat; } >.venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    echo "setup: pip install failed (log above, also in .venv/pip.log)" >&2
    exit 1
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
