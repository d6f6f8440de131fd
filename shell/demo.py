"""`idtscope --demo`: build the bundled long-mode guest, boot it in QEMU on a
free loopback port, attach, stop it when its tables are set up, and hand over
to the shell with a few first commands to try."""

from __future__ import annotations

from gdbext.errors import TargetError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .guests.run import RunningGuest
    from .session import Session

GUEST = "long64"

FIRST_STEPS = """\
The demo guest is stopped at guest_ready on {address}: two vCPUs in long mode, a full IDT,
IST stacks with guard pages, remapped PICs and an APIC timer. Try:
  regs                 system registers, CPU mode
  idt                  the present gates, with handler symbols
  idt '#DF' --disasm 3 one gate and its handler's first instructions
  gdt                  16-byte TSS descriptors take two slots
  tss --cpu 1          RSP0 and IST1-3 of the second vCPU
  explain 8            what the model knows about #DF
  continue 1           let it run a second (interrupt stops it)
  help                 every command; `help idt` for one"""


def start(session: Session, greet: bool = True) -> RunningGuest:
    """Boot the guest, attach the session to it, and return the running guest (stop it at exit).

    ``greet`` prints the first commands to try (for the prompt, not for ``-c``)."""
    from .guests.build import build
    from .guests.run import RunningGuest

    try:
        image = build(GUEST)
    except (RuntimeError, OSError) as error:
        raise UsageError(f"cannot build the demo guest: {error}") from None
    guest = RunningGuest(image)
    try:
        guest.start()
    except (RuntimeError, OSError) as error:
        raise TargetError(f"cannot start QEMU: {error}") from None
    address = f"127.0.0.1:{guest.port}"
    ready = False
    try:
        session.run(f"attach {address}")
        session.run(f"symbols {image.elf}")
        target = session.context.target
        target.console(f"tbreak {image.layout['symbols']['ready']}")
        if target.resume(60) is None:
            raise TargetError("the demo guest did not reach guest_ready within 60 s")
        session.core.stop(None)
        ready = True
    finally:
        if not ready:
            session.close()
            guest.stop()
    if greet:
        print(FIRST_STEPS.format(address=address), flush=True)
    return guest
