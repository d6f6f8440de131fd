"""The interrupt stream (gdbext/model/intstream.py), its log follower (gdbext/follow.py), the
catchpoints and `idtscope run`'s QEMU command line (shell/run.py), on QEMU 7.2's own logs
(tests/fixtures/intlog/, see its README for what each holds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdbext.errors import ParseError, UsageError
from gdbext.follow import LogFollower
from gdbext.model.exception_vectors import EventKind
from gdbext.model.intlog import LogAnalysis
from gdbext.model.intstream import Catch, CatchKind, EventStream, IntLogSource, Privilege
from shell.run import ACTION, KVM_LOSS, launch_command, plugin_for, plugin_option, trace_path

INTLOG = Path(__file__).resolve().parents[1] / "fixtures" / "intlog"
LOGS = sorted(path.name for path in INTLOG.glob("*.log"))


def whole_report(name: str):
    analysis = LogAnalysis()
    analysis.feed((INTLOG / name).read_bytes())
    return analysis.report()


def streamed(data: bytes, cuts: list[int], ring: int = 4096) -> EventStream:
    stream = EventStream(ring=ring)
    source = IntLogSource(stream)
    start = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        source.feed(data[start:cut])
        start = cut
    source.close()
    return stream


@pytest.mark.parametrize("name", LOGS)
@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0, 1), max_size=12))
def test_the_stream_counts_what_the_log_analysis_counts_however_the_log_is_cut(name, fractions):
    data = (INTLOG / name).read_bytes()
    stream = streamed(data, [int(f * len(data)) for f in fractions])
    report = whole_report(name)
    assert stream.total == report.total_events
    assert stream.by_vector == report.by_vector
    assert {kind: n for kind, n in stream.by_kind.items()} == {k: n for k, n in report.by_kind.items() if n}
    assert stream.triple_faults == report.triple_fault_count
    assert stream.resets == report.resets
    assert stream.by_cpu == ({None: stream.total} if stream.total else {})


def test_the_ring_keeps_the_latest_events_only():
    stream = streamed((INTLOG / "events64.log").read_bytes(), [], ring=5)
    assert stream.total == 34 and len(stream.recent) == 5
    assert [event.index for event in stream.recent] == list(range(29, 34))
    assert all(event.vector == 0x20 and event.kind is EventKind.IRQ for event in stream.recent)
    assert sum(stream.timeline.rows[0x20]) == 25, "the timeline counts every event, not only the kept ones"
    assert [event.index for event in stream.select(vectors=frozenset({0x20}), last=2)] == [32, 33]


@pytest.mark.parametrize("privilege, cr2, error_code", [(Privilege.USER, 0xDEADB000, 0x6),
                                                         (Privilege.KERNEL, 0xDEADBEEF, 0x2),
                                                         (None, 0xDEADBEEF, 0x2)])
def test_a_page_fault_catch_takes_the_first_pf_of_its_privilege(privilege, cr2, error_code):
    stream = EventStream()
    catch = Catch(CatchKind.EXCEPTION, 14, privilege)
    stream.catches = [Catch(CatchKind.EXCEPTION, 0x20), catch]
    source = IntLogSource(stream)
    source.feed((INTLOG / "events64.log").read_bytes())
    seen = stream.take_caught()
    assert seen is not None and seen.catch == catch
    assert (seen.event.vector, seen.event.cr2, seen.event.error_code) == (14, cr2, error_code)
    assert (seen.event.cpl == 3) == (privilege is Privilege.USER)
    assert stream.take_caught() is None, "a catch is reported once"


def test_an_irq_vector_is_not_caught_as_an_exception_and_a_triple_fault_is():
    stream = EventStream()
    stream.catches = [Catch(CatchKind.EXCEPTION, 0x20), Catch(CatchKind.TRIPLE_FAULT)]
    IntLogSource(stream).feed((INTLOG / "events64.log").read_bytes())
    assert stream.caught is None
    IntLogSource(stream).feed((INTLOG / "stackoverflow64.log").read_bytes())
    seen = stream.take_caught()
    assert seen.catch.kind is CatchKind.TRIPLE_FAULT and seen.event is None
    assert (INTLOG / "stackoverflow64.log").read_text().splitlines()[seen.where - 1] == "Triple fault"


def test_the_follower_reads_only_what_the_log_gained_and_waits_for_partial_lines(tmp_path):
    data = (INTLOG / "events64.log").read_bytes()
    log = tmp_path / "qemu.log"
    follower = LogFollower(log)
    assert follower.poll() == 0, "a log QEMU has not created yet is empty"
    cut = data.find(b": v=0e")  # in the middle of the first #PF's event line
    with log.open("wb") as out:
        out.write(data[:cut])
        out.flush()
        assert follower.poll() == cut
        before = follower.stream.total
        assert 14 not in follower.stream.by_vector
        out.write(data[cut:])
        out.flush()
        assert follower.poll() == len(data) - cut
        assert follower.poll() == 0
    follower.finish()
    assert follower.stream.total == 34 > before and follower.stream.by_vector[14] == 2


def test_a_log_that_shrinks_is_read_again_from_its_start(tmp_path):
    log = tmp_path / "qemu.log"
    log.write_bytes((INTLOG / "events64.log").read_bytes())
    follower = LogFollower(log)
    follower.stream.catches = [Catch(CatchKind.TRIPLE_FAULT)]
    follower.poll()
    log.write_bytes((INTLOG / "stackoverflow64.log").read_bytes())
    follower.poll()
    follower.finish()
    assert follower.stream.total == whole_report("stackoverflow64.log").total_events
    assert follower.stream.caught is not None, "the catchpoints carry over to the new stream"


def test_a_binary_file_is_one_clear_error(tmp_path):
    log = tmp_path / "qemu.log"
    log.write_bytes(b"     0: v=0e\0\0\0")
    with pytest.raises(ParseError, match="NUL byte at offset 12"):
        LogFollower(log).poll()


def test_run_adds_the_gdbstub_the_log_and_the_paused_triple_fault():
    launch = launch_command(["qemu-system-x86_64", "-accel", "tcg", "-smp", "cpus=4,sockets=1", "-kernel", "k"],
                            1234, "/tmp/s/qemu.log", None)
    assert launch.argv[:7] == ["qemu-system-x86_64", "-accel", "tcg", "-smp", "cpus=4,sockets=1", "-kernel", "k"]
    assert launch.added == ["-gdb", "tcp:127.0.0.1:1234", "-S", "-d", "int,cpu_reset", "-D", "/tmp/s/qemu.log",
                            "-no-reboot", "-action", ACTION, "-serial", "stdio"]
    assert (launch.cpus, launch.kvm, launch.notes, launch.log) == (4, False, [], "/tmp/s/qemu.log")


def test_run_adapts_the_users_log_options_and_does_not_repeat_theirs():
    launch = launch_command(["qemu", "--d", "guest_errors,int", "-D", "mine.log", "-S", "-no-reboot", "-smp", "2",
                             "-serial", "file:s.txt", "-enable-kvm"], 9, "/tmp/x.log", None)
    assert launch.added == ["-gdb", "tcp:127.0.0.1:9", "-d", "guest_errors,int,cpu_reset", "-action", ACTION]
    assert launch.log == "mine.log" and launch.cpus == 2 and launch.kvm
    assert launch.notes == ["your -D mine.log is the session log", KVM_LOSS]
    assert "-D" not in launch.argv and launch.argv.count("-S") == 1
    assert launch_command(["qemu", "-M", "q35,accel=kvm"], 9, "l", "f").kvm
    assert launch_command(["qemu", "-serial", "null"], 9, "l", None).added[-2:] == ["-action", ACTION]
    assert launch_command(["qemu"], 9, "l", "out.txt").added[-2:] == ["-serial", "file:out.txt"]


def test_run_adds_the_plugin_beside_the_log_and_keeps_the_log():
    option = plugin_option(Path("/c/idtscope_trace.so"), trace_path("/tmp/s/qemu.log"))
    assert option == "/c/idtscope_trace.so,out=/tmp/s/qemu.trace"
    assert plugin_option(Path("/c/p.so"), trace_path("/tmp/a,b/x.trace")) == "/c/p.so,out=/tmp/a,,b/x.trace.trace"
    launch = launch_command(["qemu", "-kernel", "k"], 9, "/tmp/s/qemu.log", None, option)
    assert launch.added == ["-gdb", "tcp:127.0.0.1:9", "-S", "-d", "int,cpu_reset", "-D", "/tmp/s/qemu.log",
                            "-plugin", option, "-no-reboot", "-action", ACTION, "-serial", "stdio"]
    assert plugin_for(["qemu", "-enable-kvm"], True, None) == (None, "KVM runs the guest: TCG plugins see nothing")


@pytest.mark.parametrize("argv, message", [
    (["qemu", "-s"], "drop -s"),
    (["qemu", "-gdb", "tcp::1234"], "drop -gdb"),
    (["qemu", "-action", "panic=pause,reboot=reset"], "drop -action"),
    (["qemu", "-daemonize"], "drop -daemonize"),
    (["qemu", "-serial", "stdio"], "--serial and the QEMU command's own -serial"),
    (["qemu", "-D"], "-D needs a value"),
    ([], "needs a QEMU command line"),
])
def test_run_refuses_what_collides_in_one_line(argv, message):
    with pytest.raises(UsageError, match=message) as error:
        launch_command(argv, 1, "l", "f.txt")
    assert "\n" not in str(error.value)


def test_the_prompt_counts_the_followed_stream_and_a_catch_sees_only_what_comes_after_it(tmp_path):
    from shell.session import Session

    log = tmp_path / "qemu.log"
    data = (INTLOG / "events64.log").read_bytes()
    first_pf = data.find(b": v=0e")
    cut = data.rfind(b"\n", 0, data.find(b": v=0e", first_pf + 1))  # after the first #PF, before the second
    log.write_bytes(data[:cut + 1])
    session = Session()
    session.follow(str(log))
    assert session.status() == "offline ev 8 (#BP 2)"
    session.run("catch exception 14")
    log.write_bytes(data)
    caught = session.core.caught()
    assert caught and caught[0].data["event"]["cr2"] == 0xDEADB000, "the #PF logged before the catch is not caught"
    assert session.status() == "offline ev 34 (0x20 25)"
