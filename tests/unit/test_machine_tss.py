"""gdbext.machine.tss on the snapshot fixtures: the 64-bit TSS of each long64 vCPU and prot32's
two 32-bit TSSs, field by field against layout.json; TR null is an answer, not an error."""

import pytest

from gdbext.machine.tss import read_tss
from gdbext.model.tss import Tss32, Tss64
from tests.unit.snapshot_fixtures import layout, open_fixture


@pytest.mark.parametrize("fixture", ["long64", "long64-pf"])
def test_each_vcpu_has_its_own_64_bit_tss(fixture):
    target, expected = open_fixture(fixture), layout(fixture)
    for cpu in expected["cpus"]:
        view = read_tss(target, cpu["index"])
        assert isinstance(view.tss, Tss64) and view.error is None and view.absent is None
        assert (view.selector, view.base, view.busy) == (cpu["tr"], cpu["tss"], True)
        assert view.limit == expected["tss"]["limit"]
        assert list(view.tss.rsp) == cpu["tss_fields"]["rsp"]
        assert list(view.tss.ist) == cpu["tss_fields"]["ist"]
        assert view.tss.iopb == expected["tss"]["iopb_offset"] == cpu["tss_fields"]["iopb"]


def test_io_bit_map_allows_exactly_the_layouts_ports():
    target, expected = open_fixture("long64"), layout("long64")
    view = read_tss(target, 0)
    bitmap = view.data[expected["tss"]["iopb_offset"]:expected["tss"]["iopb_offset"] + expected["tss"]["iopb_bytes"]]
    allowed = {port for port in range(len(bitmap) * 8) if not bitmap[port // 8] >> (port % 8) & 1}
    wanted = {port for first, last in expected["tss"]["io_allowed"] for port in range(first, last + 1)}
    assert allowed == wanted
    assert view.data[expected["tss"]["limit"]] == 0xFF


def test_prot32_main_and_double_fault_tasks():
    target, expected = open_fixture("prot32"), layout("prot32")
    main, df = expected["tss"]["main"], expected["tss"]["df"]
    view = read_tss(target, 0)
    assert isinstance(view.tss, Tss32)
    assert (view.selector, view.base, view.limit, view.busy) == (main["selector"], main["base"], main["limit"], True)
    for field in ("esp0", "ss0", "cr3", "iopb"):
        assert getattr(view.tss, field) == main[field], field
    task = read_tss(target, 0, df["selector"])
    assert (task.base, task.limit, task.busy) == (df["base"], df["limit"], False)
    for field in ("esp", "esp0", "ss0", "cs", "ss", "ds", "es", "fs", "gs", "ldt", "cr3", "eflags", "iopb"):
        assert getattr(task.tss, field) == df[field], field
    assert target.symbolize(task.tss.eip) == df["eip_symbol"]


def test_real_mode_has_no_tss():
    view = read_tss(open_fixture("real16"), 0)
    assert view.tss is None and view.selector == 0 and view.absent and "TR is null" in view.absent
