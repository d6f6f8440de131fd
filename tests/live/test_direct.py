"""One-shot read-only commands talk to QEMU's gdbstub without gdb; they must
print the same JSON as the gdb-driven shell."""

import subprocess
import sys

from tests.live.harness import json_documents, shell_json, shell_session

COMMANDS = ["regs --cpu 1", "cpu", "idt --all", "gdt", "tss --cpu 1", "ist", "lapic --cpu 0", "pic", "lint"]


def test_direct_one_shot_matches_the_gdb_shell(long64, toolchain):
    with shell_session(long64, toolchain=toolchain) as (session, guest):
        through_gdb = {command: shell_json(session, command) for command in COMMANDS}
        session.close()
        argv = [sys.executable, "-m", "shell", "--attach", f"127.0.0.1:{guest.port}", "--symbols", str(long64.elf)]
        for command in COMMANDS:
            argv += ["-c", f"{command} --json"]
        run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    direct = json_documents(run.stdout)
    for command, left, right in zip(COMMANDS, direct, through_gdb.values()):
        if command.startswith(("regs", "cpu", "lapic")):
            for key in ("rip", "rip_symbol", "rsp", "rflags", "halted", "cpus", "irr", "isr", "vectors", "timer",
                        "diagnoses"):
                left.pop(key, None), right.pop(key, None)
        assert left == right, command


def test_direct_refuses_what_is_not_a_gdbstub():
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve():
        connection, _ = server.accept()
        connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
        connection.recv(100)
        connection.close()

    threading.Thread(target=serve, daemon=True).start()
    run = subprocess.run([sys.executable, "-m", "shell", "--attach", f"127.0.0.1:{server.getsockname()[1]}",
                          "-c", "idt"], capture_output=True, text=True, timeout=20)
    server.close()
    assert run.returncode == 2 and "does not speak the gdb remote protocol" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
