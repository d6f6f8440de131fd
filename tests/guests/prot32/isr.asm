; isr.asm - one handler per present IDT gate, and the #DF task.
;
; Every handler's first instruction carries its own global symbol, so a
; breakpoint there sees the frame as the CPU pushed it (SDM Vol. 3A §6.12.1,
; Figure 6-4): [ESP] = error code (if any), EIP, CS, EFLAGS.

bits 32

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

; IRQ0, the PIT: count the tick, EOI the master PIC.
global isr_irq0
isr_irq0:
    push eax
    lock inc dword [timer_ticks]
    mov al, PIC_EOI
    out PIC1_CMD, al
    pop eax
    iretd

; The 16-bit interrupt gate's target in the 16-bit code segment; never raised.
bits 16
global isr_gate16
isr_gate16:
    iret
bits 32

; The #DF task (SDM Vol. 3A §6.12.2 "Interrupt Tasks"). Entered by a task
; switch with the error code pushed on this task's stack; the interrupted
; task's state is in tss_main. Send that task to resume_eip, then return to it
; with iret (NT=1). The next #DF continues after the iret, hence the loop.
global df_task_entry
df_task_entry:
    add esp, 4                      ; the error code (0)
    mov dword [last_vector], 8
    mov dword [last_error_code], 0
    lea esi, [msg_df_task]
    call serial_puts
    mov eax, [resume_eip]
    mov dword [resume_eip], 0
    mov [TSS_MAIN_BASE + TSS32_EIP], eax
    iretd
    jmp df_task_entry

; exception_common: log and record the event, then
;   #BP                          -> return to the next instruction;
;   resume_eip set               -> return there instead;
;   int 0x80 without resume_eip  -> return;
;   anything else                -> unexpected: say so and halt.
%define SAVED_REGS  4
%define F_VECTOR    (SAVED_REGS * 4)
%define F_ERROR     (F_VECTOR + 4)
%define F_EIP       (F_VECTOR + 8)

exception_common:
    push eax
    push ecx
    push edx
    push esi
    mov eax, [esp + F_VECTOR]
    mov [last_vector], eax
    mov eax, [esp + F_ERROR]
    mov [last_error_code], eax
    mov eax, cr2
    mov [last_cr2], eax

    lea esi, [msg_vector]
    call serial_puts
    mov eax, [esp + F_VECTOR]
    call serial_hex8
    lea esi, [msg_error]
    call serial_puts
    mov eax, [esp + F_ERROR]
    call serial_hex32
    lea esi, [msg_eip]
    call serial_puts
    mov eax, [esp + F_EIP]
    call serial_hex32
    lea esi, [msg_newline]
    call serial_puts

    mov eax, [esp + F_VECTOR]
    cmp eax, 3
    je .return
    mov edx, [resume_eip]
    test edx, edx
    jz .no_resume
    mov [esp + F_EIP], edx
    mov dword [resume_eip], 0
.return:
    pop esi
    pop edx
    pop ecx
    pop eax
    add esp, 8                      ; vector and error code
    iretd
.no_resume:
    cmp eax, 0x80
    je .return
    lea esi, [msg_unexpected]
    call serial_puts
global halt_forever
halt_forever:
    cli
    hlt
    jmp halt_forever
