; scenarios.asm - the ready point, the idle loop and the scenarios.
;
; A debugger stops at guest_ready (or anywhere), writes the 8-byte `scenario`
; and continues. The idle loop wakes on the next timer tick, clears
; `scenario`, runs that scenario once, records last_scenario_done and passes
; scenario_done. What each scenario raises is documented in layout.json
; ("scenarios"); the values the code needs (addresses, selector, vectors) come
; from there too.
;
; A scenario that faults stores its resume label in resume_rip first;
; exception_common returns there (see isr.asm). Scenarios that run user code
; enter ring 3 through enter_user and come back the same way.

bits 64
default rel

%define SCENARIO_COUNT  20

global guest_ready
guest_ready:
    lea rsi, [msg_ready]
    call serial_puts

global idle_loop
idle_loop:
    sti
    hlt
    mov rax, [scenario]
    test rax, rax
    jz idle_loop
    cli
    call run_scenario
    jmp idle_loop

; run_scenario: rax = N.
run_scenario:
    mov qword [scenario], 0
    cmp rax, SCENARIO_COUNT
    ja unknown_scenario
    push rax
    lea rdx, [scenario_table]
    call [rdx + rax * 8]
    pop rax
    mov [last_scenario_done], rax
    push rax
    lea rsi, [msg_scenario]
    call serial_puts
    pop rax
    call serial_dec
    lea rsi, [msg_done]
    call serial_puts
global scenario_done
scenario_done:
    ret
unknown_scenario:
    lea rsi, [msg_unknown_scenario]
    call serial_puts
    ret

; set_resume LABEL: where exception_common sends the next fault.
%macro set_resume 1
    lea rax, [%1]
    mov [resume_rip], rax
%endmacro

; enter_user: iretq to ring 3 at rax, on the user stack, interrupts on.
enter_user:
    mov [saved_kernel_rsp], rsp
    push SELECTORS_USER_DATA
    push MEMORY_USER_STACK_PAGE + 0x1000
    push 0x202
    push SELECTORS_USER_CODE
    push rax
    iretq

; 1: int3 in the kernel; the trap gate returns to the next instruction.
scenario_1:
global scn_bp_kernel, scn_bp_kernel_next
scn_bp_kernel:
    int3
scn_bp_kernel_next:
    ret

; 2: ring 3 writes to a not-present user page -> #PF(0x6).
scenario_2:
    set_resume scenario_2_resume
    lea rax, [user_pf_entry]
    jmp enter_user
scenario_2_resume:
    ret

; 3: kernel write to a read-only page with CR0.WP=1 -> #PF(0x3).
scenario_3:
    set_resume scenario_3_resume
    mov rdi, SCENARIOS_3_EVENTS_0_CR2
global scn_ro_write
scn_ro_write:
    mov qword [rdi], 1
scenario_3_resume:
    ret

; 4: jump into the NX page -> #PF(0x11) at the page itself.
scenario_4:
    set_resume scenario_4_resume
    mov rax, SCENARIOS_4_EVENTS_0_CR2
global scn_nx_jump
scn_nx_jump:
    jmp rax
scenario_4_resume:
    ret

; 5: load DS with an execute-only code segment -> #GP(selector).
scenario_5:
    set_resume scenario_5_resume
    mov ax, SCENARIOS_5_EVENTS_0_ERROR_CODE
global scn_gp_load_ds
scn_gp_load_ds:
    mov ds, ax
scenario_5_resume:
    ret

; 6: divide by zero -> #DE.
scenario_6:
    set_resume scenario_6_resume
    xor eax, eax
    xor edx, edx
    xor ecx, ecx
global scn_de_div
scn_de_div:
    div ecx
scenario_6_resume:
    ret

; 7: int 0x30 while gates 0x30 and 0x0b (#NP) are not present -> #NP, #NP -> #DF on IST1.
; set_gates_present N, P: the P bit of every gate in scenarios.N.cleared_gates.
%macro set_gates_present 2
%assign g 0
%rep SCENARIOS_%1_CLEARED_GATES_COUNT
    mov rdi, IDT_BASE + SCENARIOS_%1_CLEARED_GATES_%[g] * 16 + 5
%if %2
    or byte [rdi], 0x80
%else
    and byte [rdi], 0x7f
%endif
%assign g g + 1
%endrep
%endmacro

scenario_7:
    set_resume scenario_7_resume
    set_gates_present 7, 0
global scn_df_int
scn_df_int:
    int SCENARIOS_7_RAISED_VECTOR
scenario_7_resume:
    set_gates_present 7, 1
    ret

; 8: int3 and int 0x80 from ring 3; int 0x80 brings the CPU back here.
scenario_8:
    set_resume scenario_8_resume
    lea rax, [user_bp_int3]
    jmp enter_user
scenario_8_resume:
    ret

; 9: self-IPI on the missing-EOI vector; wait (interrupts on) until it ran.
%define SCN9_WAIT_SPINS 100000000
scenario_9:
    lea rsi, [missing_eoi_count]
    mov r8, [rsi]
    mov rdx, LAPIC_BASE
    mov dword [rdx + APIC_REG_ICR_HI], 0
    mov dword [rdx + APIC_REG_ICR_LO], ICR_SELF | ICR_ASSERT | LAPIC_MISSING_EOI_VECTOR
    mov ecx, SCN9_WAIT_SPINS
    jmp wait_for_delivery

; wait_for_delivery: with interrupts on, spin until the counter at rsi differs
; from r8 (a handler ran) or ecx spins pass; return with interrupts off.
wait_for_delivery:
    sti
.wait:
    cmp [rsi], r8
    jne .delivered
    pause
    dec ecx
    jnz .wait
.delivered:
    cli
    ret

; 10: an empty IDT, then int3 -> #GP -> #DF -> triple fault (shutdown).
scenario_10:
    lidt [null_idt_pointer]
global scn_triple_int3
scn_triple_int3:
    int3
    jmp halt_forever

; 11: the same IDT with limit 0xffff, as Linux loads it; the CPU still uses 256 gates.
scenario_11:
    lidt [linux_idt_pointer]
    ret

; 12: back to the documented limit.
scenario_12:
    lidt [idt_pointer]
    ret

; 13: shrink the GDT limit below the TSS descriptors (TR keeps its cached base).
scenario_13:
    lgdt [short_gdt_pointer]
    ret

; 14: the documented GDT limit again.
scenario_14:
    lgdt [gdt_pointer]
    ret

; 15: the PIT's IRQ0 through the master 8259A, routed to this CPU by LINT0 in
; ExtINT mode (virtual wire, SDM Vol. 3A 10.5.1); isr_irq0 sends no EOI. Wait
; (interrupts on) until it ran, then mask IRQ0 and LINT0 again: the master keeps
; IRQ0 in service.
%define SCN15_WAIT_SPINS 400000000
scenario_15:
    lea rsi, [pic_irq0_count]
    mov r8, [rsi]
    mov rdx, LAPIC_BASE
    mov dword [rdx + APIC_REG_LVT_LINT0], SCENARIOS_15_LVT_LINT0
    mov al, PIC_MASTER_IMR & ~1
    out PIC1_DATA, al
    mov ecx, SCN15_WAIT_SPINS
    call wait_for_delivery
    mov al, PIC_MASTER_IMR
    out PIC1_DATA, al
    mov rdx, LAPIC_BASE
    mov dword [rdx + APIC_REG_LVT_LINT0], LAPIC_REGISTERS_LVT_LINT0
    ret

; 16-19 end in a triple fault; QEMU resets (or pauses, with -action shutdown=pause).
; Each leaves the tables as they were at the crash for a post-mortem to read.
%define GATE_IST_BYTE   4
%define DF_GATE         (IDT_BASE + 8 * 16)
%define PF_GATE         (IDT_BASE + 14 * 16)

; 16: scenario 7 with the #DF gate not present as well -> #NP while delivering #DF.
scenario_16:
    set_gates_present 16, 0
global scn_df_absent_int
scn_df_absent_int:
    int SCENARIOS_16_RAISED_VECTOR
    jmp halt_forever

; 17: scenario 7 with IST1 pointing at an unmapped page -> #PF while pushing the #DF frame.
scenario_17:
    mov rax, SCENARIOS_17_IST1_TOP
    mov [CPUS_0_TSS + TSS64_IST1], rax
    set_gates_present 17, 0
global scn_ist_unmapped_int
scn_ist_unmapped_int:
    int SCENARIOS_17_RAISED_VECTOR
    jmp halt_forever

; 18: the #DF gate loses its IST, then endless recursion runs the kernel stack into
; its guard page: #PF, #PF pushing its frame there (#DF), #DF on the same stack.
scenario_18:
    and byte [DF_GATE + GATE_IST_BYTE], 0xf8
global scn_recurse
scn_recurse:
    call scn_recurse

; 19: the #PF gate enters the NX page and #DF has no IST; a write to the
; read-only page faults, and so does every fetch of the handler, each pushing a
; frame until the stack runs into its guard page (#DF on the same stack).
scenario_19:
    and byte [DF_GATE + GATE_IST_BYTE], 0xf8
    mov rax, SCENARIOS_19_PF_HANDLER
    mov [PF_GATE], ax
    shr rax, 16
    mov [PF_GATE + 6], ax
    shr rax, 16
    mov [PF_GATE + 8], eax
    mov rdi, MEMORY_RO_PAGE
global scn_pf_nx_write
scn_pf_nx_write:
    mov qword [rdi], 1
    jmp halt_forever

; 20: int3 with interrupts on; the #BP handler waits for this CPU's next timer tick
; before it returns (bp_wait_tick), so the tick's handler runs nested in #BP's: its
; trap gate leaves IF set (SDM Vol. 3A 6.12.1.3).
scenario_20:
    mov qword [bp_wait_tick], 1
    sti
global scn_bp_nested
scn_bp_nested:
    int3
global scn_bp_nested_next
scn_bp_nested_next:
    cli
    ret
