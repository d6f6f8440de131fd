; long.asm - 64-bit set-up: IDT, PICs, per-CPU state, AP start-up.

bits 64
default rel

; Offsets in a cpu_table row (one row per vCPU, see data.asm)
%define ROW_TSS         0
%define ROW_TR          8
%define ROW_RSP0        16
%define ROW_IST1        24
%define ROW_IST2        32
%define ROW_IST3        40
%define ROW_KERNEL      48
%define ROW_SIZE        64

; How long the BSP waits for the APs: iterations of a pause loop
%define AP_WAIT_SPINS   200000000
; Pause-loop iterations between INIT and the STARTUP IPIs
%define IPI_DELAY_SPINS 1000000

global long_entry
long_entry:
    mov ax, SELECTORS_KERNEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, CPUS_0_STACKS_KERNEL_TOP
    lea rsi, [msg_boot]
    call serial_puts

    call build_idt
    call pic_init
    xor edi, edi
    call cpu_init
    call start_aps
    jmp guest_ready

; build_idt: write the 256 gates of idt_spec (data.asm) to idt.base
; (SDM Vol. 3A §6.14.1 "64-Bit Mode IDT", Figure 6-8).
build_idt:
    lea rsi, [idt_spec]
    mov rdi, IDT_BASE
    mov ecx, 256
.gate:
    mov rax, [rsi]                  ; handler, or 0 for an absent gate
    xor edx, edx
    mov [rdi], rdx
    mov [rdi + 8], rdx
    test rax, rax
    jz .next
    mov [rdi], ax                   ; offset 15:0
    mov dx, [rsi + 8]
    mov [rdi + 2], dx               ; segment selector
    mov dl, [rsi + 10]
    mov [rdi + 4], dl               ; IST
    mov dl, [rsi + 11]
    mov [rdi + 5], dl               ; P, DPL, type
    shr rax, 16
    mov [rdi + 6], ax               ; offset 31:16
    shr rax, 16
    mov [rdi + 8], eax              ; offset 63:32
.next:
    add rsi, 16
    add rdi, 16
    dec ecx
    jnz .gate
    ret

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

; cpu_init: load the GDT, this CPU's TSS and the IDT; program its local APIC.
; In: edi = CPU index (= APIC ID).
cpu_init:
    lgdt [gdt_pointer]
    push SELECTORS_KERNEL_CODE
    lea rax, [.reloaded]
    push rax
    o64 retf
.reloaded:
    mov ax, SELECTORS_KERNEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax

    imul ebx, edi, ROW_SIZE
    lea rax, [cpu_table]
    add rbx, rax                    ; rbx = this CPU's cpu_table row
    mov rdi, [rbx + ROW_TSS]
    mov rax, [rbx + ROW_RSP0]
    mov [rdi + TSS64_RSP0], rax
    mov rax, [rbx + ROW_IST1]
    mov [rdi + TSS64_IST1], rax
    mov rax, [rbx + ROW_IST2]
    mov [rdi + TSS64_IST1 + 8], rax
    mov rax, [rbx + ROW_IST3]
    mov [rdi + TSS64_IST1 + 16], rax
    mov word [rdi + TSS64_IOPB], TSS_IOPB_OFFSET

    ; I/O permission bitmap: deny every port (plus the 0xff terminator byte),
    ; then allow the tss.io_allowed ranges (SDM Vol. 3A §19.5.2 "I/O Permission Bit Map")
    lea rdx, [rdi + TSS_IOPB_OFFSET]
    push rdi
    mov rdi, rdx
    mov ecx, TSS_IOPB_BYTES + 1
    mov al, 0xff
    rep stosb
    pop rdi
%assign r 0
%rep TSS_IO_ALLOWED_COUNT
    mov eax, TSS_IO_ALLOWED_%[r]_0
.allow_%[r]:
    btr dword [rdx], eax
    inc eax
    cmp eax, TSS_IO_ALLOWED_%[r]_1
    jbe .allow_%[r]
%assign r r + 1
%endrep

%ifndef VARIANT_RING0
    mov ax, [rbx + ROW_TR]
    ltr ax
%endif
    lidt [idt_pointer]

    ; local APIC (SDM Vol. 3A §11.4.7, §11.5.1, §11.5.4, §11.9)
    mov rdx, LAPIC_BASE
    mov dword [rdx + APIC_REG_TPR], LAPIC_REGISTERS_TPR
    mov dword [rdx + APIC_REG_SVR], LAPIC_REGISTERS_SVR
    mov dword [rdx + APIC_REG_LVT_LINT0], LAPIC_REGISTERS_LVT_LINT0
    mov dword [rdx + APIC_REG_LVT_LINT1], LAPIC_REGISTERS_LVT_LINT1
    mov dword [rdx + APIC_REG_LVT_ERROR], LAPIC_REGISTERS_LVT_ERROR
    mov dword [rdx + APIC_REG_TIMER_DCR], LAPIC_REGISTERS_TIMER_DCR
    mov dword [rdx + APIC_REG_LVT_TIMER], LAPIC_REGISTERS_LVT_TIMER
    mov dword [rdx + APIC_REG_TIMER_ICR], LAPIC_REGISTERS_TIMER_INITIAL_COUNT
    ret

; start_aps: copy the trampoline below 1 MiB, send INIT-SIPI-SIPI to all other
; CPUs and wait until smp - 1 of them have checked in (or give up and say so).
start_aps:
    lea rsi, [ap_trampoline]
    mov rdi, MEMORY_TRAMPOLINE
    mov ecx, ap_trampoline_end - ap_trampoline
    rep movsb

    mov eax, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT
    call send_ipi
    mov ecx, IPI_DELAY_SPINS
    call spin
    mov eax, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP | (MEMORY_TRAMPOLINE >> 12)
    call send_ipi
    mov ecx, IPI_DELAY_SPINS
    call spin
    mov eax, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP | (MEMORY_TRAMPOLINE >> 12)
    call send_ipi

    mov ecx, AP_WAIT_SPINS
.wait:
    cmp qword [ap_ready_count], SMP - 1
    je .done
    pause
    dec ecx
    jnz .wait
    lea rsi, [msg_ap_missing]
    call serial_puts
.done:
    ret

; send_ipi: write eax to the ICR (low half) and wait until it is delivered.
send_ipi:
    mov rdx, LAPIC_BASE
    mov dword [rdx + APIC_REG_ICR_HI], 0
    mov [rdx + APIC_REG_ICR_LO], eax
.pending:
    pause
    test dword [rdx + APIC_REG_ICR_LO], ICR_PENDING
    jnz .pending
    ret

; spin: ecx iterations of pause.
spin:
    pause
    dec ecx
    jnz spin
    ret

; ap_long_entry: an AP arrives here from the trampoline, in long mode.
global ap_long_entry
ap_long_entry:
    mov ax, SELECTORS_KERNEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rdx, LAPIC_BASE
    mov edi, [rdx + APIC_REG_ID]
    shr edi, 24
    cmp edi, CPUS_COUNT
    jae halt_forever                ; an APIC ID the layout has no row for
    imul eax, edi, ROW_SIZE
    lea rsp, [cpu_table]
    mov rsp, [rsp + rax + ROW_KERNEL]
    call cpu_init
    lea rsi, [msg_ap_up]
    call serial_puts
    lock inc qword [ap_ready_count]
global ap_idle
ap_idle:
    sti
    hlt
    jmp ap_idle
