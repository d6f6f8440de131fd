"""A QEMU -d int,cpu_reset log of the long-mode guest decodes to the events the
guest is known to raise, and its deliberate triple fault to the known chain."""

import json
import subprocess
import sys
import time

from gdbext.symbols import SymbolTable
from shell.guests.run import RunningGuest
from shell.session import Session


def test_log_of_the_long_mode_guest(long64, tmp_path, toolchain):
    log = tmp_path / "int.log"
    table = SymbolTable.load(long64.elf)
    with RunningGuest(long64, extra=["-d", "int,cpu_reset", "-D", str(log)], qemu=toolchain.qemu) as guest:
        session = Session(gdb=toolchain.gdb)
        session.run(f"attach 127.0.0.1:{guest.port}")
        session.run(f"symbols {long64.elf}")
        session.run("gdb tbreak guest_ready")
        session.run("continue 60")
        session.run(f"gdb break *{table.address_of('scenario_done'):#x}")
        session.run(f"gdb set {{long long}}{table.address_of('scenario'):#x} = 2")
        session.run("continue 30")
        session.run("gdb delete")
        session.run(f"gdb set {{long long}}{table.address_of('scenario'):#x} = 10")
        session.run("continue 30")
        session.close()
        deadline = time.monotonic() + 20
        while guest.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert guest.proc.poll() is not None, "the triple fault should end QEMU (-no-reboot)"
    run = subprocess.run([sys.executable, "-m", "shell", "-c", f"log {log} --json --events --vector 14"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    pf = long64.layout["scenarios"][2]["events"][0]
    user_pf = [e for e in data["listed"] if e["error_code"] == pf["error_code"]]
    assert user_pf and user_pf[0]["cr2"] == pf["cr2"] and user_pf[0]["cpl"] == 3
    assert user_pf[0]["rip"] == table.address_of(pf["rip_symbol"])
    everything = json.loads(subprocess.run([sys.executable, "-m", "shell", "-c", f"log {log} --json"],
                                           capture_output=True, text=True, timeout=60).stdout)
    assert everything["triple_fault_count"] == 1
    chain = everything["triple_faults"][0]["chain"]
    gp = next(step for step in chain if step["vector"] == 13)
    assert gp["rip"] == table.address_of("scn_triple_int3")
    # int3 past the IDT limit: #GP(0x1a), naming IDT vector 3, so the chain begins with the int3 whose delivery
    # raised it; QEMU < 8.0 pushes 0x32 (vector * 16 + 2, QEMU issue 1382), which names another vector
    if gp["error_code"] == 0x1A:
        assert chain[0]["vector"] == 3 and chain[0]["kind"] == "software" and chain[1] == gp
    else:
        assert gp["error_code"] == 0x32 and chain[0] == gp
    assert 8 in [step["vector"] for step in chain] and chain[-1]["vector"] == 13
    assert "triple fault" in everything["triple_faults"][0]["explanation"]
    timer = [v for v in everything["vectors"] if v["vector"] == long64.layout["lapic"]["timer"]["vector"]]
    assert timer and timer[0]["count"] > 0
