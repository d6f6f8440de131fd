"""The shell as a person uses it: prompt_toolkit's pipe input, and once in
tmux with keystrokes (attach, break on #PF, continue, read the decoded frame,
complete a vector name, Ctrl-C a running guest, quit)."""

import os
import shutil
import subprocess
import sys
import time
import uuid

from prompt_toolkit.application import create_app_session
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from gdbext.symbols import SymbolTable
from shell.completion import ShellCompleter
from shell.guests.run import RunningGuest
from shell.repl import interact
from shell.session import Session


def completions(text):
    return [c.text for c in ShellCompleter().get_completions(Document(text), CompleteEvent())]


def test_completion_of_commands_options_and_vectors():
    assert "explain" in completions("exp")
    assert completions("decode p") == ["pf"]
    assert "--exceptions" in completions("vectors --ex")
    assert "'#PF'" in completions("explain #P")
    assert any("Double Fault" in c for c in completions("explain Dou"))
    assert "--vector" in completions("decode frame --vec")


def test_pipe_input_session(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    with create_pipe_input() as pipe:
        pipe.send_text("explain 14\ndecode pf 0x6\nexplain 300\nquit\n")
        with create_app_session(input=pipe, output=DummyOutput()):
            status = interact(Session(), input=pipe, output=DummyOutput())
    out, err = capsys.readouterr()
    assert status == 0
    assert "Page Fault" in out and "user-mode write to a not-present page" in out
    assert "vector 300 is out of range" in err and "Traceback" not in err
    history = (tmp_path / "idtscope" / "history").read_text()
    assert "explain 14" in history and "decode pf 0x6" in history


class Tmux:
    def __init__(self, command, width=160, height=50):
        self.name = f"idtscope-{uuid.uuid4().hex[:8]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), command],
                       check=True)

    def send(self, *keys):
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self):
        return subprocess.run(["tmux", "capture-pane", "-p", "-S", "-200", "-t", self.name], capture_output=True,
                              text=True).stdout

    def wait_for(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared:\n{self.screen()}")

    def kill(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def test_in_tmux_as_a_person_would(long64, tmp_path):
    assert shutil.which("tmux"), "tmux is installed by setup.sh"
    scenario = SymbolTable.load(long64.elf).address_of("scenario")
    with RunningGuest(long64) as guest:
        env = f"XDG_STATE_HOME={tmp_path} NO_COLOR=1 IDTSCOPE_PAGER=0"
        command = (f"env {env} {sys.executable} -m shell --attach 127.0.0.1:{guest.port} --symbols {long64.elf}"
                   f" 2>&1; echo SHELL-EXITED-$?; sleep 30")
        tmux = Tmux(f"cd {os.getcwd()} && {command}")
        try:
            tmux.wait_for("idtscope [127.0.0.1")
            tmux.send("gdb tbreak guest_ready", "Enter")
            tmux.send("continue", "Enter")
            tmux.wait_for("<guest_ready>")
            tmux.send("break 14", "Enter")
            tmux.send(f"gdb set {{long long}}{scenario:#x} = 2", "Enter")
            tmux.send("continue", "Enter")
            screen = tmux.wait_for("user-mode write to a not-present page")
            assert "#PF Page Fault" in screen and "refused: PTE not present" in screen
            tmux.send("explain doub", "Tab")
            tmux.wait_for("explain 'Double Fault'")
            tmux.send("Enter")
            tmux.wait_for("abort")
            tmux.send("continue", "Enter")
            time.sleep(1)
            tmux.send("C-c")
            tmux.wait_for("stopped (SIGINT)")
            tmux.send("quit", "Enter")
            screen = tmux.wait_for("SHELL-EXITED-0")
            assert "Traceback" not in screen
        finally:
            tmux.kill()


def test_symbols_complete_and_resolve_after_loading(long64):
    from tests.live.harness import shell_session

    with shell_session(long64) as (session, _):
        completer = ShellCompleter(session)
        names = [c.text for c in completer.get_completions(Document("x isr_p"), CompleteEvent())]
        dump = session.run("x isr_pf 16")
    assert "isr_pf" in names and all(n.startswith("isr_p") for n in names)
    assert dump.startswith(f"{SymbolTable.load(long64.elf).address_of('isr_pf'):#018x}") and "<isr_pf>" in dump


def test_stepi_can_enter_an_interrupt_handler(long64):
    """QEMU masks IRQs while single-stepping; `stepi --irqs` lets the APIC timer in."""
    from tests.live.harness import shell_json, shell_session

    with shell_session(long64) as (session, _):
        session.run("gdb tbreak idle_loop")
        session.run("continue 20")
        plain = [session.run("stepi") for _ in range(30)]
        symbols = []
        for _ in range(200):
            session.run("stepi --irqs")
            symbol = shell_json(session, "cpu")["cpus"][0]["symbol"] or ""
            symbols.append(symbol)
            if symbol.startswith("isr_apic_timer"):
                break
    assert not any("isr_apic_timer" in line for line in plain)
    assert symbols[-1].startswith("isr_apic_timer"), symbols[-10:]
