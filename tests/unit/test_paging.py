"""Tests for gdbext.model.paging: page walks in every paging mode (SDM Vol. 3A ch. 4).

Page tables are built by ``PageTables`` in a dict-backed physical memory that
implements the PhysicalMemory protocol; the walker then reads them like it
would read a guest.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdbext.errors import DecodeError, TargetError, UsageError
from gdbext.model.control import Cr0, Cr4, Efer
from gdbext.model.paging import (
    Access,
    EntryBit,
    PagingLevel,
    PagingMode,
    paging_mode,
    translate,
    walk,
)

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30
EFER_LMA = 1 << 10
CR0_PE = 1 << 0

P, RW, US, PS, XD = EntryBit.P, EntryBit.RW, EntryBit.US, EntryBit.PS, EntryBit.XD
URW = P | RW | US


class FakeMemory:
    """Sparse physical memory: 4-KiB pages that exist; reading any other raises TargetError."""

    def __init__(self) -> None:
        self.pages: dict[int, bytearray] = {}

    def read(self, address: int, size: int) -> bytes:
        out = bytearray()
        for byte_address in range(address, address + size):
            page = self.pages.get(byte_address & ~0xFFF)
            if page is None:
                raise TargetError(f"physical address {byte_address:#x} is not backed")
            out.append(page[byte_address & 0xFFF])
        return bytes(out)

    def write(self, address: int, value: int, size: int) -> None:
        page = self.pages.setdefault(address & ~0xFFF, bytearray(4096))
        offset = address & 0xFFF
        page[offset : offset + size] = value.to_bytes(size, "little")


@dataclass(frozen=True)
class Layout:
    """A level as the test sees it: entry name, index position and width, entry size."""

    name: str
    shift: int
    index_bits: int
    entry_size: int


LAYOUTS = {
    PagingMode.BITS32: (Layout("PDE", 22, 10, 4), Layout("PTE", 12, 10, 4)),
    PagingMode.PAE: (Layout("PDPTE", 30, 2, 8), Layout("PDE", 21, 9, 8), Layout("PTE", 12, 9, 8)),
    PagingMode.LEVEL4: (
        Layout("PML4E", 39, 9, 8),
        Layout("PDPTE", 30, 9, 8),
        Layout("PDE", 21, 9, 8),
        Layout("PTE", 12, 9, 8),
    ),
    PagingMode.LEVEL5: (
        Layout("PML5E", 48, 9, 8),
        Layout("PML4E", 39, 9, 8),
        Layout("PDPTE", 30, 9, 8),
        Layout("PDE", 21, 9, 8),
        Layout("PTE", 12, 9, 8),
    ),
}

# (cr0, cr4, efer) that select each mode; WP on, NXE on where it exists.
REGS = {
    PagingMode.BITS32: (Cr0.PG | Cr0.WP | CR0_PE, Cr4.PSE, 0),
    PagingMode.PAE: (Cr0.PG | Cr0.WP | CR0_PE, Cr4.PAE, Efer.NXE),
    PagingMode.LEVEL4: (
        Cr0.PG | Cr0.WP | CR0_PE,
        Cr4.PAE,
        Efer.LME | EFER_LMA | Efer.NXE,
    ),
    PagingMode.LEVEL5: (
        Cr0.PG | Cr0.WP | CR0_PE,
        Cr4.PAE | Cr4.LA57,
        Efer.LME | EFER_LMA | Efer.NXE,
    ),
}


class PageTables:
    """Builds the paging structures of one mode in a FakeMemory, one mapping at a time."""

    def __init__(self, mode: PagingMode, root: int = 0x10_0000) -> None:
        self.mode = mode
        self.mem = FakeMemory()
        self.levels = LAYOUTS[mode]
        self.next_table = 0x20_0000
        self.cr3 = root
        self.mem.write(root & ~0xFFF, 0, 8)
        self.tables: dict[tuple[int, int], int] = {(0, 0): root}

    def walk(self, linear: int, access: Access = Access(), **kwargs):
        cr0, cr4, efer = REGS[self.mode]
        regs = {"cr0": cr0, "cr4": cr4, "efer": efer}
        regs.update(kwargs)
        return walk(self.mem, linear, self.cr3, access=access, **regs)

    def _width(self) -> int:
        top = self.levels[0]
        return top.shift + top.index_bits

    def _prefix(self, depth: int, linear: int) -> int:
        level = self.levels[depth]
        return (linear & ((1 << self._width()) - 1)) >> (level.shift + level.index_bits)

    def entry_address(self, name: str, linear: int) -> int:
        """Where the entry called ``name`` for ``linear`` lives (its table must exist)."""
        depth = [level.name for level in self.levels].index(name)
        level = self.levels[depth]
        table = self.tables[(depth, self._prefix(depth, linear))]
        index = (linear >> level.shift) & ((1 << level.index_bits) - 1)
        return table + index * level.entry_size

    def set_entry(self, name: str, linear: int, value: int) -> None:
        depth = [level.name for level in self.levels].index(name)
        self.mem.write(self.entry_address(name, linear), value, self.levels[depth].entry_size)

    def get_entry(self, name: str, linear: int) -> int:
        depth = [level.name for level in self.levels].index(name)
        size = self.levels[depth].entry_size
        return int.from_bytes(self.mem.read(self.entry_address(name, linear), size), "little")

    def map(
        self,
        linear: int,
        physical: int,
        size: int = 4 * KIB,
        flags: int = URW,
        upper: int = URW,
        key: int = 0,
    ) -> None:
        """Map ``linear`` to ``physical`` with a page of ``size``; ``upper`` goes in directories."""
        for depth, level in enumerate(self.levels):
            if 1 << level.shift == size:
                self.set_entry(level.name, linear, self._leaf(physical, size, flags, key))
                return
            child = (depth + 1, self._prefix(depth + 1, linear))
            if child not in self.tables:
                self.tables[child] = self.next_table
                self.mem.write(self.next_table, 0, 8)
                self.next_table += 4 * KIB
                directory = P if self.mode is PagingMode.PAE and level.name == "PDPTE" else upper
                self.set_entry(level.name, linear, self.tables[child] | directory)
        raise AssertionError(f"no level maps {size:#x}-byte pages in {self.mode.value} paging")

    def _leaf(self, physical: int, size: int, flags: int, key: int) -> int:
        if size == 4 * KIB:
            return physical | flags | key << 59
        if self.mode is PagingMode.BITS32:
            return (physical & 0xFFC0_0000) | ((physical >> 32) & 0xFF) << 13 | flags | PS
        return physical | flags | PS | key << 59

    def fault_level(self, linear: int) -> str:
        """The level whose entry is missing for an unmapped ``linear``."""
        depth = 0
        while depth + 1 < len(self.levels):
            if (depth + 1, self._prefix(depth + 1, linear)) not in self.tables:
                break
            depth += 1
        return self.levels[depth].name


# --- paging_mode (SDM 3A 4.1.1 Table 4-1) -------------------------------------------


def test_paging_mode_follows_table_4_1():
    pg = Cr0.PG
    assert paging_mode(0, Cr4.PAE, Efer.LME) is PagingMode.NONE
    assert paging_mode(pg, 0, 0) is PagingMode.BITS32
    assert paging_mode(pg, Cr4.PAE | Cr4.LA57, 0) is PagingMode.PAE
    assert paging_mode(pg, Cr4.PAE, Efer.LME) is PagingMode.LEVEL4
    assert paging_mode(pg, Cr4.PAE | Cr4.LA57, Efer.LME) is PagingMode.LEVEL5
    assert PagingMode.LEVEL4.value == "4-level"


def test_paging_mode_refuses_long_mode_without_pae():
    with pytest.raises(DecodeError, match="CR4.PAE=1"):
        paging_mode(Cr0.PG, 0, Efer.LME)


# --- Access (SDM 3A 4.7) ------------------------------------------------------------


def test_access_from_error_code_reads_w_us_id():
    assert Access.from_error_code(0x6) == Access(write=True, user=True)
    assert Access.from_error_code(0x15) == Access(user=True, fetch=True)
    assert Access.from_error_code(0x9) == Access()
    assert Access.from_error_code(0x15).kind == "instruction fetch"
    assert Access.from_error_code(0x2).privilege == "supervisor"


def test_access_from_error_code_rejects_write_and_fetch_together():
    with pytest.raises(DecodeError, match="W/R and I/D"):
        Access.from_error_code(0x12)
    with pytest.raises(DecodeError, match="32 bits"):
        Access.from_error_code(1 << 32)


def test_access_rejects_contradictions():
    with pytest.raises(UsageError, match="write and an instruction fetch"):
        Access(write=True, fetch=True)
    with pytest.raises(UsageError, match="implicit supervisor"):
        Access(user=True, implicit_supervisor=True)


# --- the examples (4-level) ------------------------------------------------------

USER_WRITE = Access(write=True, user=True)
ADDR = 0x40_1000


def four_level(**map_kwargs) -> PageTables:
    tables = PageTables(PagingMode.LEVEL4)
    tables.map(ADDR, 0x7654_3000, **map_kwargs)
    return tables


def test_user_write_to_not_present_pte_is_error_6():
    tables = four_level()
    tables.set_entry("PTE", ADDR, 0)
    result = tables.walk(ADDR, USER_WRITE)
    assert result.fault is not None
    assert (result.fault.level, result.fault.bit, result.fault.error_code) == (PagingLevel.PTE, "P", 0x6)
    assert result.fault.reason == "PTE not present (P=0)"
    assert result.fault.vector == 14
    assert result.physical is None and not result.allowed
    assert [step.level.value for step in result.steps] == ["PML4E", "PDPTE", "PDE", "PTE"]


def test_not_present_stops_at_the_first_missing_level():
    tables = PageTables(PagingMode.LEVEL4)
    result = tables.walk(ADDR, USER_WRITE)
    assert result.fault.level == PagingLevel.PML4E
    assert len(result.steps) == 1
    assert result.fault.error_code == 0x6


def test_user_write_to_read_only_page_is_error_7():
    result = four_level(flags=P | US).walk(ADDR, USER_WRITE)
    assert (result.fault.level, result.fault.bit, result.fault.error_code) == (PagingLevel.PTE, "R/W", 0x7)
    assert result.fault.reason == "PTE is read-only (R/W=0): user write"
    assert result.physical == 0x7654_3000
    assert result.writable is False and result.user is True


def test_read_only_directory_refuses_the_write_at_its_level():
    tables = four_level()
    tables.set_entry("PDE", ADDR, tables.get_entry("PDE", ADDR) & ~RW)
    result = tables.walk(ADDR, USER_WRITE)
    assert result.fault.level == PagingLevel.PDE
    assert result.fault.error_code == 0x7
    assert tables.walk(ADDR, Access(user=True)).allowed


def test_user_fetch_from_nx_page_is_error_15():
    result = four_level(flags=URW | XD).walk(ADDR, Access(user=True, fetch=True))
    assert (result.fault.level, result.fault.bit, result.fault.error_code) == (PagingLevel.PTE, "XD", 0x15)
    assert result.fault.reason == "NX: PTE has XD=1 and EFER.NXE=1 for an instruction fetch"
    assert result.executable is False


def test_xd_in_a_directory_forbids_fetch():
    tables = four_level()
    tables.set_entry("PDPTE", ADDR, tables.get_entry("PDPTE", ADDR) | XD)
    result = tables.walk(ADDR, Access(fetch=True))
    assert result.fault.level == PagingLevel.PDPTE
    assert result.fault.error_code == 0x11
    assert tables.walk(ADDR, Access(write=True)).allowed


def test_supervisor_write_to_read_only_page_depends_on_cr0_wp():
    tables = four_level(flags=P)
    cr0, _, _ = REGS[PagingMode.LEVEL4]
    refused = tables.walk(ADDR, Access(write=True))
    assert (refused.fault.bit, refused.fault.error_code) == ("R/W", 0x3)
    assert refused.fault.reason == "PTE is read-only (R/W=0) and CR0.WP=1 for a supervisor write"
    allowed = tables.walk(ADDR, Access(write=True), cr0=cr0 & ~Cr0.WP)
    assert allowed.allowed and allowed.fault is None
    assert allowed.physical == 0x7654_3000


def test_user_access_to_supervisor_page_names_the_level():
    tables = four_level()
    tables.set_entry("PML4E", ADDR, tables.get_entry("PML4E", ADDR) & ~US)
    result = tables.walk(ADDR, Access(user=True))
    assert result.fault.reason == "PML4E has U/S=0: user access to a supervisor page"
    assert (result.fault.bit, result.fault.error_code) == ("U/S", 0x5)
    assert result.user is False


def test_smep_refuses_supervisor_fetch_from_user_page():
    tables = four_level()
    _, cr4, _ = REGS[PagingMode.LEVEL4]
    assert tables.walk(ADDR, Access(fetch=True)).allowed
    result = tables.walk(ADDR, Access(fetch=True), cr4=cr4 | Cr4.SMEP)
    assert (result.fault.bit, result.fault.error_code) == ("SMEP", 0x11)
    assert result.fault.reason == "SMEP: supervisor instruction fetch from a user page"


def test_smap_refuses_supervisor_data_access_unless_ac_and_explicit():
    tables = four_level()
    _, cr4, _ = REGS[PagingMode.LEVEL4]
    smap = cr4 | Cr4.SMAP
    read = tables.walk(ADDR, Access(), cr4=smap)
    assert (read.fault.bit, read.fault.error_code) == ("SMAP", 0x1)
    assert read.fault.reason.startswith("SMAP: supervisor read of a user page")
    write = tables.walk(ADDR, Access(write=True), cr4=smap)
    assert write.fault.error_code == 0x3
    assert tables.walk(ADDR, Access(rflags_ac=True), cr4=smap).allowed
    assert tables.walk(ADDR, Access(write=True, rflags_ac=True), cr4=smap).allowed
    implicit = tables.walk(ADDR, Access(implicit_supervisor=True, rflags_ac=True), cr4=smap)
    assert implicit.fault.bit == "SMAP"
    assert "implicit" in implicit.fault.reason
    assert tables.walk(ADDR, Access(), cr4=cr4).allowed


def test_smap_leaves_supervisor_pages_alone():
    tables = four_level(flags=P | RW)
    _, cr4, _ = REGS[PagingMode.LEVEL4]
    assert tables.walk(ADDR, Access(write=True), cr4=cr4 | Cr4.SMAP).allowed


# --- reserved bits (RSVD) ------------------------------------------------------------


def test_reserved_address_bit_is_rsvd_error_9():
    tables = four_level()
    tables.set_entry("PDE", ADDR, tables.get_entry("PDE", ADDR) | 1 << 51)
    result = tables.walk(ADDR, Access(), maxphyaddr=48)
    assert result.fault.reason == "reserved bit 51 set in PDE"
    assert (result.fault.bit, result.fault.error_code) == ("RSVD", 0x9)
    assert result.notes == ("QEMU (TCG) pushes error code 0x8 for this fault: it leaves P clear on "
                            "reserved-bit faults, where a CPU sets it (SDM 3A 4.7)",)
    assert result.steps[-1].reserved_bits_set == 1 << 51
    assert result.steps[-1].level == PagingLevel.PDE
    wide = tables.walk(ADDR, Access(), maxphyaddr=52)
    assert wide.fault is None
    assert wide.steps[-1].level == PagingLevel.PTE and wide.steps[-1].table_address >> 51 == 1


def test_xd_is_reserved_while_nxe_is_off():
    tables = four_level(flags=URW | XD)
    result = tables.walk(ADDR, USER_WRITE, efer=Efer.LME | EFER_LMA)
    assert result.fault.bit == "RSVD"
    assert result.fault.error_code == 0xF
    assert "63" in result.fault.reason and "EFER.NXE=0" in result.fault.reason


def test_ps_in_a_pml4e_is_reserved():
    tables = four_level()
    tables.set_entry("PML4E", ADDR, tables.get_entry("PML4E", ADDR) | PS)
    result = tables.walk(ADDR)
    assert result.fault.level == PagingLevel.PML4E
    assert result.fault.bit == "RSVD"
    assert result.steps[0].page_size is False


def test_large_page_low_address_bits_are_reserved():
    tables = PageTables(PagingMode.LEVEL4)
    tables.map(0x4000_0000, 0x8000_0000, size=2 * MIB)
    tables.set_entry("PDE", 0x4000_0000, tables.get_entry("PDE", 0x4000_0000) | 1 << 13)
    result = tables.walk(0x4000_0000, Access(user=True))
    assert result.fault.reason == "reserved bit 13 set in PDE"
    assert result.fault.error_code == 0xD


def test_reserved_bits_are_not_checked_when_not_present():
    tables = four_level()
    tables.set_entry("PTE", ADDR, 1 << 51)
    result = tables.walk(ADDR, maxphyaddr=40)
    assert result.fault.bit == "P"
    assert result.steps[-1].reserved_bits_set == 0


def test_pae_entries_reserve_bits_62_to_maxphyaddr_but_4_level_ignores_them():
    pae = PageTables(PagingMode.PAE)
    pae.map(ADDR, 0x1234_5000)
    pae.set_entry("PTE", ADDR, pae.get_entry("PTE", ADDR) | 1 << 62)
    assert pae.walk(ADDR).fault.reason == "reserved bit 62 set in PTE"
    long = four_level()
    long.set_entry("PTE", ADDR, long.get_entry("PTE", ADDR) | 1 << 62)
    assert long.walk(ADDR).allowed


def test_pae_pdpte_high_reserved_bits_refuse_the_walk_as_qemu_does():
    tables = PageTables(PagingMode.PAE)
    tables.map(ADDR, 0x1234_5000)
    tables.set_entry("PDPTE", ADDR, tables.get_entry("PDPTE", ADDR) | 1 << 45)
    result = tables.walk(ADDR, maxphyaddr=40)
    assert result.fault.reason == "reserved bit 45 set in PDPTE"
    assert result.fault.error_code == 0x9
    assert any("#GP(0)" in note for note in result.notes) and len(result.notes) == 2


def test_pae_pdpte_xd_is_reserved_even_with_nxe():
    tables = PageTables(PagingMode.PAE)
    tables.map(ADDR, 0x1234_5000)
    tables.set_entry("PDPTE", ADDR, tables.get_entry("PDPTE", ADDR) | 1 << 63)
    assert tables.walk(ADDR).fault.reason == "reserved bit 63 set in PDPTE"


def test_pae_pdpte_accessed_bit_as_qemu_sets_it_is_a_note_not_a_fault():
    """QEMU's walker ORs bit 5 into each PAE PDPTE it reads (a PDPTE of 0x...021)."""
    tables = PageTables(PagingMode.PAE)
    tables.map(ADDR, 0x1234_5000)
    tables.set_entry("PDPTE", ADDR, tables.get_entry("PDPTE", ADDR) | 1 << 5)
    result = tables.walk(ADDR)
    assert result.allowed and result.physical == 0x1234_5000 | (ADDR & 0xFFF)
    assert result.steps[0].reserved_bits_set == 0
    assert len(result.notes) == 1 and "QEMU sets it" in result.notes[0]


@pytest.mark.parametrize("bit", [1, 2, 6, 7, 8])
def test_pae_pdpte_bits_checked_at_cr3_load_are_a_note(bit):
    tables = PageTables(PagingMode.PAE)
    tables.map(ADDR, 0x1234_5000)
    tables.set_entry("PDPTE", ADDR, tables.get_entry("PDPTE", ADDR) | 1 << bit)
    result = tables.walk(ADDR, Access(write=True))
    assert result.allowed
    assert result.notes == (f"reserved bit {bit} set in PDPTE: a CPU refuses this PDPTE when CR3 is loaded "
                            "(#GP(0), SDM 3A 4.4.1), not during a walk; QEMU ignores them",)


def test_pae_pdpte_notes_stay_with_a_later_fault():
    tables = PageTables(PagingMode.PAE)
    tables.map(ADDR, 0x1234_5000, flags=P)
    tables.set_entry("PDPTE", ADDR, tables.get_entry("PDPTE", ADDR) | 1 << 5 | 1 << 2)
    result = tables.walk(ADDR, Access(write=True))
    assert result.fault.bit == "R/W" and result.fault.level == PagingLevel.PTE
    assert len(result.notes) == 2


def test_not_present_pdpte_has_no_notes():
    tables = PageTables(PagingMode.PAE)
    tables.set_entry("PDPTE", ADDR, 1 << 5 | 1 << 2)
    result = tables.walk(ADDR)
    assert result.fault.bit == "P" and result.notes == ()


# --- page sizes and modes ------------------------------------------------------------


def test_2mib_page_translates():
    tables = PageTables(PagingMode.LEVEL4)
    tables.map(0x20_0000, 0x1_4060_0000, size=2 * MIB)
    result = tables.walk(0x2A_BCDE)
    assert result.physical == 0x1_406A_BCDE
    assert result.page_size == 2 * MIB
    assert [step.level.value for step in result.steps] == ["PML4E", "PDPTE", "PDE"]
    assert result.steps[-1].page_size and result.steps[-1].leaf


def test_1gib_page_translates():
    tables = PageTables(PagingMode.LEVEL4)
    tables.map(0xFFFF_FF80_0000_0000, 0x3_C000_0000, size=GIB)
    result = tables.walk(0xFFFF_FF80_1234_5678)
    assert result.physical == 0x3_D234_5678
    assert result.page_size == GIB
    assert result.steps[-1].level == PagingLevel.PDPTE


def test_4mib_page_translates_with_pse_and_pse36_high_bits():
    tables = PageTables(PagingMode.BITS32)
    tables.map(0xC000_0000, 0x5_0080_0000, size=4 * MIB)
    result = tables.walk(0xC012_3456)
    assert result.physical == 0x5_0092_3456
    assert result.page_size == 4 * MIB
    assert result.steps[-1].frame == 0x5_0080_0000


def test_32bit_ps_is_ignored_without_cr4_pse():
    tables = PageTables(PagingMode.BITS32)
    tables.map(0xC000_0000, 0x80_0000, size=4 * MIB)
    result = tables.walk(0xC000_0000, cr4=0)
    assert result.steps[0].page_size is False
    assert result.steps[-1].level == PagingLevel.PTE
    assert result.unreadable.startswith("page-table page at 0x800000 unreadable")


def test_32bit_pse36_reserved_bits_follow_maxphyaddr():
    tables = PageTables(PagingMode.BITS32)
    tables.map(0xC000_0000, 0x80_0000, size=4 * MIB)
    tables.set_entry("PDE", 0xC000_0000, tables.get_entry("PDE", 0xC000_0000) | 1 << 17)
    assert tables.walk(0xC000_0000, maxphyaddr=40).physical == 0x10_0080_0000
    result = tables.walk(0xC000_0000, maxphyaddr=36)
    assert result.fault.reason == "reserved bit 17 set in PDE"
    assert result.fault.error_code == 0x9


def test_32bit_4kib_page_and_fields():
    tables = PageTables(PagingMode.BITS32)
    flags = URW | EntryBit.A | EntryBit.D | EntryBit.G | EntryBit.PWT | 1 << 7
    tables.map(0x0804_8000, 0x0030_0000, flags=flags)
    result = tables.walk(0x0804_8123, Access(user=True, fetch=True))
    assert result.allowed
    assert result.physical == 0x30_0123
    pte = result.steps[-1]
    assert (pte.level, pte.index, pte.accessed, pte.dirty) == (PagingLevel.PTE, 0x48, True, True)
    assert (pte.global_, pte.pwt, pte.pcd, pte.pat) == (True, True, False, True)
    assert (pte.nx, pte.protection_key, pte.frame) == (None, None, 0x30_0000)
    pde = result.steps[0]
    assert pde.entry_address == tables.cr3 + 0x20 * 4
    assert (pde.dirty, pde.global_, pde.pat) == (None, None, None)


def test_32bit_fetch_sets_id_only_with_smep():
    tables = PageTables(PagingMode.BITS32)
    _, cr4, _ = REGS[PagingMode.BITS32]
    without_smep = tables.walk(0x1000, Access(user=True, fetch=True), efer=Efer.NXE)
    assert without_smep.fault.error_code == 0x4
    with_smep = tables.walk(0x1000, Access(user=True, fetch=True), cr4=cr4 | Cr4.SMEP)
    assert with_smep.fault.error_code == 0x14


def test_pae_translates_through_the_pdpt_at_cr3_31_5():
    tables = PageTables(PagingMode.PAE, root=0x10_0020)
    tables.map(0xBFE0_1000, 0x9_8765_4000, flags=P | RW)
    result = tables.walk(0xBFE0_1ABC)
    assert result.physical == 0x9_8765_4ABC
    pdpte = result.steps[0]
    assert pdpte.level == PagingLevel.PDPTE
    assert pdpte.entry_address == 0x10_0020 + 2 * 8
    assert (pdpte.writable, pdpte.user, pdpte.nx, pdpte.accessed) == (None, None, None, None)
    assert result.user is False


def test_pae_2mib_page_translates():
    tables = PageTables(PagingMode.PAE)
    tables.map(0xC060_0000, 0x4_0020_0000, size=2 * MIB)
    assert tables.walk(0xC07F_FFFF).physical == 0x4_003F_FFFF


def test_5_level_walk_uses_pml5e():
    tables = PageTables(PagingMode.LEVEL5)
    linear = 0x00AB_CDEF_1234_5000
    tables.map(linear, 0x2_0000_1000)
    result = tables.walk(linear + 0x10)
    assert result.physical == 0x2_0000_1010
    assert [step.level.value for step in result.steps] == ["PML5E", "PML4E", "PDPTE", "PDE", "PTE"]
    assert result.steps[0].index == 0xAB


def test_non_canonical_address_is_gp_not_pf():
    four = PageTables(PagingMode.LEVEL4)
    result = four.walk(0x0000_8000_0000_0000)
    assert result.fault.bit == "canonical"
    assert (result.fault.vector, result.fault.error_code, result.fault.level) == (13, None, None)
    assert "#GP(0)" in result.fault.reason
    assert result.steps == ()
    five = PageTables(PagingMode.LEVEL5)
    assert five.walk(0x0000_8000_0000_0000).fault.bit == "P"
    assert five.walk(0x0100_0000_0000_0000).fault.bit == "canonical"


def test_paging_off_maps_linear_to_physical():
    result = walk(FakeMemory(), 0xB8000, 0, 0, 0, 0)
    assert result.mode is PagingMode.NONE
    assert result.allowed and result.physical == 0xB8000
    assert result.steps == ()


def test_translate_returns_the_physical_address_or_none():
    tables = four_level(flags=P)
    cr0, cr4, efer = REGS[PagingMode.LEVEL4]
    assert translate(tables.mem, ADDR + 5, tables.cr3, cr0, cr4, efer) == 0x7654_3005
    assert translate(tables.mem, ADDR + 0x1000, tables.cr3, cr0, cr4, efer) is None


# --- unreadable tables --------------------------------------------------------------


def test_unreadable_root_table_is_reported_as_a_step():
    result = walk(FakeMemory(), ADDR, 0x5000, *REGS[PagingMode.LEVEL4])
    assert result.fault is None and result.physical is None and not result.allowed
    assert result.unreadable is not None
    assert result.unreadable.startswith("page-table page at 0x5000 unreadable")
    assert result.steps[-1].entry is None and result.steps[-1].level == PagingLevel.PML4E


def test_unreadable_lower_table_stops_the_walk():
    tables = four_level()
    tables.set_entry("PDE", ADDR, 0x7777_0000 | URW)
    result = tables.walk(ADDR)
    assert "0x77770000" in result.unreadable
    assert [step.level.value for step in result.steps] == ["PML4E", "PDPTE", "PDE", "PTE"]


def test_short_read_is_unreadable():
    class ShortMemory:
        def read(self, address: int, size: int) -> bytes:
            return b"\x01"

    result = walk(ShortMemory(), ADDR, 0x1000, *REGS[PagingMode.LEVEL4])
    assert "got 1 bytes instead of 8" in result.unreadable


# --- protection keys (SDM 3A 4.6.2) ---------------------------------------------------


def pku_tables() -> tuple[PageTables, int]:
    tables = PageTables(PagingMode.LEVEL4)
    tables.map(ADDR, 0x5000, key=3)
    _, cr4, _ = REGS[PagingMode.LEVEL4]
    return tables, cr4 | Cr4.PKE


def test_pkru_access_disable_refuses_reads():
    tables, cr4 = pku_tables()
    result = tables.walk(ADDR, Access(user=True), cr4=cr4, pkru=1 << 6)
    assert result.fault.reason == "protection key 3 denies read (PKRU AD3=1)"
    assert (result.fault.bit, result.fault.error_code) == ("PK", 0x25)
    assert result.steps[-1].protection_key == 3
    assert tables.walk(ADDR, Access(user=True, fetch=True), cr4=cr4, pkru=1 << 6).allowed


def test_pkru_write_disable_and_cr0_wp():
    tables, cr4 = pku_tables()
    cr0, _, _ = REGS[PagingMode.LEVEL4]
    wd3 = 1 << 7
    user = tables.walk(ADDR, USER_WRITE, cr4=cr4, pkru=wd3)
    assert user.fault.reason == "protection key 3 denies write (PKRU WD3=1)"
    assert user.fault.error_code == 0x27
    assert tables.walk(ADDR, Access(user=True), cr4=cr4, pkru=wd3).allowed
    assert tables.walk(ADDR, Access(write=True), cr4=cr4, cr0=cr0 & ~Cr0.WP, pkru=wd3).allowed
    assert tables.walk(ADDR, Access(write=True), cr4=cr4, pkru=wd3).fault.bit == "PK"


def test_pk_bit_joins_another_protection_fault():
    tables, cr4 = pku_tables()
    tables.set_entry("PTE", ADDR, tables.get_entry("PTE", ADDR) & ~RW)
    result = tables.walk(ADDR, USER_WRITE, cr4=cr4, pkru=1 << 7)
    assert result.fault.bit == "R/W"
    assert result.fault.error_code == 0x27


def test_unknown_pkru_is_noted_not_guessed():
    tables, cr4 = pku_tables()
    result = tables.walk(ADDR, Access(user=True), cr4=cr4)
    assert result.allowed
    assert any("protection key 3" in note and "PKRU is unknown" in note for note in result.notes)


def test_protection_key_is_ignored_without_pke():
    tables, _ = pku_tables()
    result = tables.walk(ADDR, Access(user=True), pkru=0xFFFF_FFFF)
    assert result.allowed and result.steps[-1].protection_key is None


# --- bad arguments ------------------------------------------------------------------


def test_bad_arguments_are_usage_errors():
    tables = PageTables(PagingMode.BITS32)
    with pytest.raises(UsageError, match="32 bits"):
        tables.walk(1 << 32)
    with pytest.raises(UsageError, match="MAXPHYADDR"):
        tables.walk(0, maxphyaddr=60)
    with pytest.raises(UsageError, match="PKRU"):
        tables.walk(0, pkru=1 << 32)
    with pytest.raises(UsageError, match="CR3"):
        walk(FakeMemory(), 0, -1, 0, 0, 0)


# --- random mappings (hypothesis) -------------------------------------------------------

MODES = list(LAYOUTS)


def large_sizes(mode: PagingMode) -> list[int]:
    return {
        PagingMode.BITS32: [4 * KIB, 4 * MIB],
        PagingMode.PAE: [4 * KIB, 2 * MIB],
        PagingMode.LEVEL4: [4 * KIB, 2 * MIB, GIB],
        PagingMode.LEVEL5: [4 * KIB, 2 * MIB, GIB],
    }[mode]


def linear_from(mode: PagingMode, indices: list[int], offset: int) -> int:
    """A linear address from small per-level indices (so mappings share tables)."""
    layout = LAYOUTS[mode]
    linear = offset
    for level, index in zip(layout, indices):
        linear |= (index % (1 << level.index_bits)) << level.shift
    width = layout[0].shift + layout[0].index_bits
    if width > 32 and linear >> (width - 1) & 1:
        linear |= ((1 << 64) - 1) ^ ((1 << width) - 1)
    return linear


@st.composite
def mapped_tables(draw):
    mode = draw(st.sampled_from(MODES))
    depth = len(LAYOUTS[mode])
    index = st.sampled_from([0, 1, 2, 511, 1023])
    tables = PageTables(mode)
    mappings: list[tuple[int, int, int]] = []
    for _ in range(draw(st.integers(1, 8))):
        size = draw(st.sampled_from(large_sizes(mode)))
        linear = linear_from(mode, [draw(index) for _ in range(depth)], 0) & ~(size - 1)
        if any(linear < start + length and start < linear + size for start, _, length in mappings):
            continue
        reach = 32 if mode is PagingMode.BITS32 and size == 4 * KIB else 36
        physical = draw(st.integers(1, (1 << reach) // size - 1)) * size
        tables.map(linear, physical, size=size)
        mappings.append((linear, physical, size))
    probes = [
        linear_from(mode, [draw(index) for _ in range(depth)], draw(st.integers(0, 4095)))
        for _ in range(8)
    ]
    return tables, mappings, probes


@settings(max_examples=150, deadline=None)
@given(mapped_tables(), st.integers(0, (1 << 12) - 1))
def test_random_mappings_translate_and_unmapped_fault_at_the_right_level(built, offset):
    tables, mappings, probes = built
    for linear, physical, size in mappings:
        result = tables.walk(linear + offset % size)
        assert result.allowed, result.fault
        assert result.physical == physical + offset % size
        assert result.page_size == size
    for probe in probes:
        hit = [m for m in mappings if m[0] <= probe < m[0] + m[2]]
        result = tables.walk(probe, USER_WRITE)
        if hit:
            linear, physical, _ = hit[0]
            assert result.physical == physical + probe - linear
        else:
            assert result.fault.bit == "P"
            assert result.fault.level.value == tables.fault_level(probe)
            assert result.fault.error_code == 0x6


ACCESSES = st.builds(
    Access, write=st.booleans(), user=st.booleans(), rflags_ac=st.booleans()
) | st.builds(Access, user=st.booleans(), fetch=st.just(True))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(MODES), ACCESSES, *[st.booleans()] * 5)
def test_fault_error_code_describes_the_access(mode, access, rw, us, xd, smep, smap):
    tables = PageTables(mode)
    flags = P | (RW if rw else 0) | (US if us else 0)
    if xd and mode is not PagingMode.BITS32:
        flags |= XD
    tables.map(0x1000, 0x9000, flags=flags)
    _, cr4, _ = REGS[mode]
    cr4 |= (Cr4.SMEP if smep else 0) | (Cr4.SMAP if smap else 0)
    result = tables.walk(0x1000, access, cr4=cr4)
    assert result.physical == 0x9000
    refused = (
        (access.user and not us)
        or (access.write and not rw)
        or (access.fetch and flags & XD)
        or (access.fetch and not access.user and smep and us)
        or (not access.fetch and not access.user and smap and us and not access.rflags_ac)
    )
    assert (result.fault is not None) == bool(refused)
    if result.fault is None:
        return
    assert result.fault.error_code & 0x1 == 0x1
    decoded = Access.from_error_code(result.fault.error_code)
    assert (decoded.write, decoded.user) == (access.write, access.user)
    assert decoded.fetch == (access.fetch and (smep or mode is not PagingMode.BITS32))
