; boot32.asm - multiboot header and the 32-bit stub that enters long mode.
;
; QEMU hands over in 32-bit protected mode, paging off, interrupts off
; (Multiboot Specification 0.6.96 §3.2). The stub:
;   1. zeroes the fixed memory ranges the guest owns (memory.zero_ranges);
;   2. copies the GDT template to gdt.base and loads it;
;   3. builds the identity page tables (paging.*);
;   4. enables PAE, long mode, NX, write protection and paging
;      (SDM Vol. 3A §9.8.5 "Initializing IA-32e Mode") and jumps to long_entry.

bits 32

; The multiboot header with the load addresses filled in (flag bit 16): QEMU
; refuses ELF64 images, so it boots the flat copy of this image instead.
align 4
multiboot_header:
    dd MB_MAGIC
    dd MB_HAS_ADDR
    dd -(MB_MAGIC + MB_HAS_ADDR)
    dd multiboot_header         ; header_addr
    dd kernel_start             ; load_addr
    dd 0                        ; load_end_addr: the whole file
    dd 0                        ; bss_end_addr: no bss
    dd multiboot_entry          ; entry_addr

; enter_long_mode TARGET: from 32-bit protected mode with flat data segments,
; switch paging on with the guest's page tables and far-jump to 64-bit TARGET.
; Shared by the BSP's stub and the AP trampoline.
%macro enter_long_mode 1
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, PAGING_CR3
    mov cr3, eax
    mov ecx, IA32_EFER
    rdmsr
    or eax, EFER_LME | EFER_NXE
    wrmsr
    mov eax, cr0
    or eax, CR0_PG | CR0_WP
    mov cr0, eax
    jmp SELECTORS_KERNEL_CODE:%1
%endmacro

global multiboot_entry
multiboot_entry:
    cli
    cld
    mov esp, CPUS_0_STACKS_KERNEL_TOP

%assign r 0
%rep MEMORY_ZERO_RANGES_COUNT
    mov edi, MEMORY_ZERO_RANGES_%[r]_0
    mov ecx, (MEMORY_ZERO_RANGES_%[r]_1 - MEMORY_ZERO_RANGES_%[r]_0) / 4
    xor eax, eax
    rep stosd
%assign r r + 1
%endrep

    mov esi, gdt_template
    mov edi, GDT_BASE
    mov ecx, gdt_template_end - gdt_template
    rep movsb
    lgdt [gdt_pointer]              ; the low 6 bytes: limit and a 32-bit base
    jmp SELECTORS_CODE32:.flat
.flat:
    mov ax, SELECTORS_KERNEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax

    call build_page_tables
    enter_long_mode long_entry

; pte_lo / pte_hi ADDRESS: the two dwords of the 4 KiB page-table entry mapping ADDRESS.
%define pte_lo(address) dword [PAGING_PT_LOW + ((address) >> 12) * 8]
%define pte_hi(address) dword [PAGING_PT_LOW + ((address) >> 12) * 8 + 4]

%if PAGING_SMALL_PAGES_END != 0x400000
%error "boot32.asm maps exactly 4 MiB with 4 KiB pages (two page tables)"
%endif

; unmap_guard CPU, STACK: clear the PTE of that stack's guard page, if it has one.
%macro unmap_guard 2
%ifdef CPUS_%1_STACKS_%2_GUARD_PAGE
    mov pte_lo(CPUS_%1_STACKS_%2_GUARD_PAGE), 0
%endif
%endmacro

build_page_tables:
    ; PML4[0] -> PDPT; PDPT[0] -> low PD (0-1 GiB); PDPT[3] -> APIC PD (3-4 GiB).
    ; Upper levels leading to the 4 KiB tables allow user access; leaves decide.
    mov dword [PAGING_PML4], PAGING_PDPT | PG_P | PG_RW | PG_US
    mov dword [PAGING_PDPT], PAGING_PD_LOW | PG_P | PG_RW | PG_US
    mov dword [PAGING_PDPT + 3 * 8], PAGING_PD_APIC | PG_P | PG_RW
    mov dword [PAGING_PD_LOW], PAGING_PT_LOW | PG_P | PG_RW | PG_US
    mov dword [PAGING_PD_LOW + 8], (PAGING_PT_LOW + 0x1000) | PG_P | PG_RW | PG_US

    ; 4 MiB .. large_pages_end: 2 MiB pages, supervisor, writable
    mov edi, PAGING_PD_LOW + (PAGING_SMALL_PAGES_END >> 21) * 8
    mov eax, PAGING_SMALL_PAGES_END
.large:
    mov edx, eax
    or edx, PG_P | PG_RW | PG_PS
    mov [edi], edx
    add edi, 8
    add eax, 0x200000
    cmp eax, PAGING_LARGE_PAGES_END
    jb .large

    ; the local APIC registers: one uncached 2 MiB page
    mov dword [PAGING_PD_APIC + ((LAPIC_BASE >> 21) & 511) * 8], \
        LAPIC_BASE | PG_P | PG_RW | PG_PS | PG_PCD | PG_PWT

    ; 0 .. 4 MiB: 4 KiB pages, supervisor, writable, executable
    mov edi, PAGING_PT_LOW
    mov eax, PG_P | PG_RW
.small:
    mov [edi], eax
    add edi, 8
    add eax, 0x1000
    cmp edi, PAGING_PT_LOW + 1024 * 8
    jb .small

    ; the user-mode code at the end of the image: user, read-only, executable
    mov eax, user_text_start
.user:
    mov edx, eax
    shr edx, 12
    mov ecx, eax
    or ecx, PG_P | PG_US
    mov [PAGING_PT_LOW + edx * 8], ecx
    add eax, 0x1000
    cmp eax, user_text_end
    jb .user

    ; the special pages of paging.pages
%assign i 0
%rep PAGING_PAGES_COUNT
%if PAGING_PAGES_%[i]_PRESENT
    mov pte_lo(PAGING_PAGES_%[i]_ADDRESS), PAGING_PAGES_%[i]_ADDRESS | PG_P \
        | (PAGING_PAGES_%[i]_WRITABLE * PG_RW) | (PAGING_PAGES_%[i]_USER * PG_US)
    mov pte_hi(PAGING_PAGES_%[i]_ADDRESS), PAGING_PAGES_%[i]_NX * PG_XD_HIGH
%else
    mov pte_lo(PAGING_PAGES_%[i]_ADDRESS), 0
%endif
%assign i i + 1
%endrep

    ; the guard page below each stack that has one
%assign c 0
%rep CPUS_COUNT
    unmap_guard %[c], RSP0
    unmap_guard %[c], IST1
    unmap_guard %[c], IST2
    unmap_guard %[c], IST3
    unmap_guard %[c], KERNEL
%assign c c + 1
%endrep
    ret
