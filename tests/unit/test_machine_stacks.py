"""gdbext.machine.stacks on the snapshot fixtures: each stack a TSS names, its users, extent
and guard page, against layout.json (long64's stacks are 8 KiB behind unmapped pages)."""

from gdbext.machine.stacks import read_stacks
from gdbext.machine.tss import read_tss
from tests.unit.snapshot_fixtures import layout, open_fixture


def users(expected, ist):
    return tuple(gate["vector"] for gate in expected["idt"]["gates"] if gate["present"] and gate["ist"] == ist)


def test_long64_stacks_are_the_layouts():
    target, expected = open_fixture("long64"), layout("long64")
    for cpu in expected["cpus"]:
        stacks = {stack.name: stack for stack in read_stacks(target, cpu["index"], read_tss(target, cpu["index"]))}
        assert set(stacks) == {"rsp0", "ist1", "ist2", "ist3"}
        for name, stack in stacks.items():
            want = cpu["stacks"][name]
            assert (stack.top, stack.bottom) == (want["top"], want["bottom"]), name
            assert stack.guard_page == want["guard_page"], name
            assert stack.guard is True and stack.problems == (), name
            assert stack.used_by == (() if name == "rsp0" else users(expected, int(name[3:]))), name


def test_broken_variant_ist2_has_no_guard_and_nmi_uses_an_empty_slot():
    target, expected = open_fixture("long64-broken"), layout("long64-broken")
    stacks = {stack.name: stack for stack in read_stacks(target, 0, read_tss(target, 0))}
    assert expected["cpus"][0]["stacks"]["ist2"]["guard"] is False
    assert stacks["ist2"].guard is False and stacks["ist2"].guard_page is None
    assert stacks["ist4"].top == 0 and 2 in stacks["ist4"].used_by and stacks["ist4"].problems
    assert users(expected, 1) == ()  # the broken #DF gate has IST 0
    assert stacks["ist1"].used_by == ()

