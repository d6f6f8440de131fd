; isr.asm - one handler per present IDT gate.
;
; Every handler's first instruction carries its own global symbol, so a
; breakpoint there sees the frame exactly as the CPU pushed it (SDM Vol. 3A
; §6.14.2 "64-Bit Mode Stack Frame"): [RSP] = error code (if the vector has
; one), then RIP, CS, RFLAGS, RSP, SS.
;
; Exceptions, the syscall gate and the PIC vectors push a dummy error code if
; the CPU pushed none, then the vector, and join exception_common. The local
; APIC vectors (timer, missing-EOI, spurious) and IRQ0 have their own short handlers.

bits 64
default rel

; vector_entry NAME, VECTOR, CPU_PUSHES_ERROR_CODE
%macro vector_entry 3
global %1
%1:
%if %3 == 0
    push 0
%endif
    push %2
    jmp exception_common
%endmacro

vector_entry isr_de,      0x00, 0
vector_entry isr_db,      0x01, 0
vector_entry isr_nmi,     0x02, 0
vector_entry isr_bp,      0x03, 0
vector_entry isr_of,      0x04, 0
vector_entry isr_br,      0x05, 0
vector_entry isr_ud,      0x06, 0
vector_entry isr_nm,      0x07, 0
vector_entry isr_df,      0x08, 1
vector_entry isr_cso,     0x09, 0
vector_entry isr_ts,      0x0a, 1
vector_entry isr_np,      0x0b, 1
vector_entry isr_ss,      0x0c, 1
vector_entry isr_gp,      0x0d, 1
vector_entry isr_pf,      0x0e, 1
vector_entry isr_mf,      0x10, 0
vector_entry isr_ac,      0x11, 1
vector_entry isr_mc,      0x12, 0
vector_entry isr_xm,      0x13, 0
vector_entry isr_ve,      0x14, 0
vector_entry isr_cp,      0x15, 1
vector_entry isr_hv,      0x1c, 0
vector_entry isr_vc,      0x1d, 1
vector_entry isr_sx,      0x1e, 1
vector_entry isr_irq1,    0x21, 0
vector_entry isr_irq4,    0x24, 0
vector_entry isr_irq7,    0x27, 0
vector_entry isr_irq15,   0x2f, 0
vector_entry isr_syscall, 0x80, 0

; isr_vec_0xNN: the gates the layout gives the default handler
%assign v 0
%rep 256
%if IDT_GATE_%[v]_PRESENT
%if IDT_GATE_%[v]_GENERIC
    vector_entry IDT_GATE_%[v]_HANDLER, v, 0
%endif
%endif
%assign v v + 1
%endrep

; The local APIC timer: count this CPU's tick, then EOI.
global isr_apic_timer
isr_apic_timer:
    push rax
    push rdx
    mov rdx, LAPIC_BASE
    mov eax, [rdx + APIC_REG_ID]
    shr eax, 24
    lea rdx, [timer_ticks]
    lock inc qword [rdx + rax * 8]
    mov rdx, LAPIC_BASE
    mov dword [rdx + APIC_REG_EOI], 0
    pop rdx
    pop rax
    iretq

; Scenario 9's vector: recorded and counted, deliberately NOT acknowledged, so
; it stays set in the local APIC's in-service register.
global isr_missing_eoi
isr_missing_eoi:
    mov qword [last_vector], LAPIC_MISSING_EOI_VECTOR
    mov qword [last_error_code], 0
    lock inc qword [missing_eoi_count]
    iretq

; IRQ0 of the master 8259A (the PIT), which reaches a CPU only in scenario 15:
; recorded and counted, deliberately NOT acknowledged (no OCW2 EOI), so the
; master keeps IRQ0 in its in-service register.
global isr_irq0
isr_irq0:
    mov qword [last_vector], PIC_MASTER_BASE
    mov qword [last_error_code], 0
    lock inc qword [pic_irq0_count]
    iretq

; The APIC spurious vector: no EOI (SDM Vol. 3A §11.9 "Spurious Interrupt").
global isr_spurious
isr_spurious:
    iretq

; exception_common: log the event, record it, then
;   #BP                          -> return to the next instruction (when bp_wait_tick
;                                   is set, first clear it and wait, interrupts on,
;                                   for this CPU's next timer tick: scenario 20);
;   resume_rip set               -> return there instead (from CPL 3: with the
;                                   kernel CS, SS and the saved kernel RSP);
;   int 0x80 without resume_rip  -> return;
;   anything else                -> unexpected: say so and halt this CPU.
%define SAVED_REGS  9
%define F_VECTOR    (SAVED_REGS * 8)
%define F_ERROR     (F_VECTOR + 8)
%define F_RIP       (F_VECTOR + 16)
%define F_CS        (F_VECTOR + 24)
%define F_RFLAGS    (F_VECTOR + 32)
%define F_RSP       (F_VECTOR + 40)
%define F_SS        (F_VECTOR + 48)
; how long #BP waits for a timer tick in scenario 20 (pause-loop iterations)
%define BP_TICK_WAIT_SPINS 100000000

exception_common:
    push rax
    push rcx
    push rdx
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11

    mov rax, [rsp + F_VECTOR]
    mov [last_vector], rax
    mov rax, [rsp + F_ERROR]
    mov [last_error_code], rax
    mov rax, cr2
    mov [last_cr2], rax

    lea rsi, [msg_vector]
    call serial_puts
    mov rax, [rsp + F_VECTOR]
    call serial_hex8
    lea rsi, [msg_error]
    call serial_puts
    mov rax, [rsp + F_ERROR]
    call serial_hex64
    lea rsi, [msg_rip]
    call serial_puts
    mov rax, [rsp + F_RIP]
    call serial_hex64
    lea rsi, [msg_cs]
    call serial_puts
    mov rax, [rsp + F_CS]
    call serial_hex8
    lea rsi, [msg_newline]
    call serial_puts

    mov rax, [rsp + F_VECTOR]
    cmp rax, 3
    je .breakpoint
    mov rdx, [resume_rip]
    test rdx, rdx
    jz .no_resume
    mov [rsp + F_RIP], rdx
    mov qword [resume_rip], 0
    test qword [rsp + F_CS], 3
    jz .return
    mov qword [rsp + F_CS], SELECTORS_KERNEL_CODE
    mov qword [rsp + F_SS], SELECTORS_KERNEL_DATA
    mov rdx, [saved_kernel_rsp]
    mov [rsp + F_RSP], rdx
    mov qword [rsp + F_RFLAGS], 0x2
.return:
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rax
    add rsp, 16                     ; vector and error code
    iretq
.breakpoint:
    cmp qword [bp_wait_tick], 0
    je .return
    mov qword [bp_wait_tick], 0
    mov rdx, LAPIC_BASE
    mov eax, [rdx + APIC_REG_ID]
    shr eax, 24
    lea rsi, [timer_ticks]
    lea rsi, [rsi + rax * 8]
    mov r8, [rsi]
    mov ecx, BP_TICK_WAIT_SPINS
    call wait_for_delivery
    jmp .return
.no_resume:
    cmp rax, 0x80
    je .return
    lea rsi, [msg_unexpected]
    call serial_puts
global halt_forever
halt_forever:
    cli
    hlt
    jmp halt_forever
