; boot.asm - multiboot header and set-up.

bits 32

align 4
multiboot_header:
    dd MB_MAGIC
    dd 0
    dd -MB_MAGIC

global multiboot_entry
multiboot_entry:
    cli
    cld
    mov esp, STACKS_KERNEL_TOP

%assign r 0
%rep MEMORY_ZERO_RANGES_COUNT
    mov edi, MEMORY_ZERO_RANGES_%[r]_0
    mov ecx, (MEMORY_ZERO_RANGES_%[r]_1 - MEMORY_ZERO_RANGES_%[r]_0) / 4
    xor eax, eax
    rep stosd
%assign r r + 1
%endrep

    ; the GDT (SDM Vol. 3A §3.5.1)
    mov esi, gdt_template
    mov edi, GDT_BASE
    mov ecx, gdt_template_end - gdt_template
    rep movsb
    lgdt [gdt_pointer]
    jmp SELECTORS_KERNEL_CODE:.reloaded
.reloaded:
    mov ax, SELECTORS_KERNEL_DATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax

    call fill_tss
%ifndef VARIANT_RING0
    mov ax, TSS_MAIN_SELECTOR
    ltr ax
%endif
    call build_idt
    lidt [idt_pointer]
    call enable_paging
    call pic_init
    call pit_init
    lea esi, [msg_boot]
    call serial_puts
    jmp guest_ready

; fill_tss: the main task's ring-0 stack and the complete #DF task
; (SDM Vol. 3A §8.2.1 "Task-State Segment (TSS)", Figure 8-2).
fill_tss:
    mov edi, TSS_MAIN_BASE
    mov dword [edi + TSS32_ESP0], TSS_MAIN_ESP0
    mov dword [edi + TSS32_SS0], TSS_MAIN_SS0
    mov dword [edi + TSS32_CR3], TSS_MAIN_CR3
    mov word [edi + TSS32_IOPB], TSS_MAIN_IOPB

    mov edi, TSS_DF_BASE
    mov dword [edi + TSS32_ESP0], TSS_DF_ESP0
    mov dword [edi + TSS32_SS0], TSS_DF_SS0
    mov dword [edi + TSS32_CR3], TSS_DF_CR3
    mov dword [edi + TSS32_EIP], df_task_entry
    mov dword [edi + TSS32_EFLAGS], TSS_DF_EFLAGS
    mov dword [edi + TSS32_ESP], TSS_DF_ESP
    mov dword [edi + TSS32_ES], TSS_DF_ES
    mov dword [edi + TSS32_CS], TSS_DF_CS
    mov dword [edi + TSS32_SS], TSS_DF_SS
    mov dword [edi + TSS32_DS], TSS_DF_DS
    mov dword [edi + TSS32_FS], TSS_DF_FS
    mov dword [edi + TSS32_GS], TSS_DF_GS
    mov word [edi + TSS32_IOPB], TSS_DF_IOPB
    ret

; build_idt: write the 256 gates of idt_spec (data.asm) to idt.base.
build_idt:
    mov esi, idt_spec
    mov edi, IDT_BASE
    mov ecx, 256
.gate:
    mov eax, [esi]                  ; offset (0 for a task gate)
    mov [edi], ax                   ; offset 15:0
    shr eax, 16
    mov [edi + 6], ax               ; offset 31:16
    mov ax, [esi + 4]
    mov [edi + 2], ax               ; selector (a TSS selector for a task gate)
    mov byte [edi + 4], 0
    mov al, [esi + 7]
    mov [edi + 5], al               ; P, DPL, type; 0 for an absent gate
    add esi, 8
    add edi, 8
    dec ecx
    jnz .gate
    ret

%ifdef VARIANT_PAE
; enable_paging: PAE paging (SDM Vol. 3A §4.4): PDPTE 0 -> one page directory
; of 2 MiB pages, one 4 KiB page table for paging.table_region, reserved bit 62
; in the 2 MiB page of paging.reserved_region; then EFER.NXE for the XD bit.
%define PDE_OF(linear) (PAGING_PAGE_DIRECTORY + ((linear) >> 21) * 8)
%define PTE_OF(linear) (PAGING_PAGE_TABLE + (((linear) >> 12) & 0x1ff) * 8)
enable_paging:
    mov dword [PAGING_PDPT], PAGING_PAGE_DIRECTORY | PG_P
    mov edi, PAGING_PAGE_DIRECTORY
    mov eax, PG_P | PG_RW | PG_PS
.pde:
    mov [edi], eax
    add edi, 8
    add eax, 0x200000
    cmp eax, PAGING_LARGE_PAGES_END
    jb .pde
    mov edi, PAGING_PAGE_TABLE
    mov eax, PAGING_TABLE_REGION | PG_P | PG_RW
.pte:
    mov [edi], eax
    add edi, 8
    add eax, 0x1000
    cmp edi, PAGING_PAGE_TABLE + 0x1000
    jb .pte
    mov dword [PDE_OF(PAGING_TABLE_REGION)], PAGING_PAGE_TABLE | PG_P | PG_RW
    and dword [PTE_OF(PAGING_READ_ONLY_PAGE)], ~PG_RW
    mov dword [PTE_OF(PAGING_ABSENT_PAGE)], 0
    or dword [PTE_OF(PAGING_NX_PAGE) + 4], PG_XD_HIGH
    or dword [PDE_OF(PAGING_RESERVED_REGION) + 4], 1 << (62 - 32)
    mov ecx, IA32_EFER
    rdmsr
    or eax, EFER_NXE
    wrmsr
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, PAGING_CR3
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG | CR0_WP
    mov cr0, eax
    ret
%else
; enable_paging: identity map with 4 MiB pages (SDM Vol. 3A §4.3, Figure 4-4).
enable_paging:
    mov edi, PAGING_PAGE_DIRECTORY
    mov eax, PG_P | PG_RW | PG_PS
.pde:
    mov [edi], eax
    add edi, 4
    add eax, 0x400000
    cmp eax, PAGING_LARGE_PAGES_END
    jb .pde
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, PAGING_CR3
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG | CR0_WP
    mov cr0, eax
    ret
%endif

; pic_init: remap both 8259s (ICW1-ICW4) and load the masks (OCW1).
pic_init:
    mov al, PIC_ICW1_INIT
    out PIC1_CMD, al
    out PIC2_CMD, al
    mov al, PIC_MASTER_BASE
    out PIC1_DATA, al
    mov al, PIC_SLAVE_BASE
    out PIC2_DATA, al
    mov al, 1 << 2                  ; master: a slave on IR2
    out PIC1_DATA, al
    mov al, 2                       ; slave: cascade identity 2
    out PIC2_DATA, al
    mov al, PIC_ICW4_8086
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov al, PIC_MASTER_IMR
    out PIC1_DATA, al
    mov al, PIC_SLAVE_IMR
    out PIC2_DATA, al
    ret

; pit_init: channel 0, lobyte/hibyte, mode 2, binary.
pit_init:
    mov al, 0x34
    out PIT_CMD, al
    mov al, PIT_DIVISOR & 0xff
    out PIT_CH0, al
    mov al, PIT_DIVISOR >> 8
    out PIT_CH0, al
    ret
