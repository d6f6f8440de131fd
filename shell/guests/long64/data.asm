; data.asm - variables a debugger reads or writes (.data), and the tables built
; from layout.json and the messages (.rodata).

section .data

align 8

; the scenario interface (see scenarios.asm)
global scenario, last_scenario_done, resume_rip, saved_kernel_rsp
scenario:               dq 0    ; written by the debugger: run scenario N
last_scenario_done:     dq 0    ; the last N that completed
resume_rip:             dq 0    ; where exception_common sends the next fault
saved_kernel_rsp:       dq 0    ; kernel RSP while a scenario runs user code
global bp_wait_tick
bp_wait_tick:           dq 0    ; set: the next #BP waits for a timer tick (scenario 20)

; the last vector a scenario raised, as its handler saw it
global last_vector, last_error_code, last_cr2
last_vector:            dq 0
last_error_code:        dq 0
last_cr2:               dq 0

; counters
global timer_ticks, ap_ready_count, missing_eoi_count, pic_irq0_count
timer_ticks:            times CPUS_COUNT dq 0   ; local APIC timer ticks, indexed by APIC ID
ap_ready_count:         dq 0    ; APs that finished cpu_init
missing_eoi_count:      dq 0    ; deliveries of the missing-EOI vector
pic_irq0_count:         dq 0    ; deliveries of the 8259A's IRQ0 (scenario 15)

section .rodata

; Pseudo-descriptors for lgdt / lidt: a 16-bit limit then the base. In 32-bit
; code lgdt reads the low 32 bits of the base (SDM Vol. 3A §3.5.1).
gdt_pointer:            dw GDT_LIMIT
                        dq GDT_BASE
idt_pointer:            dw IDT_LIMIT
                        dq IDT_BASE
null_idt_pointer:       dw 0
                        dq 0
linux_idt_pointer:      dw 0xffff               ; Linux loads IDTR with limit 0xffff
                        dq IDT_BASE
short_gdt_pointer:      dw 0x3f                 ; 8 descriptors: TR's (0x40, 0x50) now lie past the limit
                        dq GDT_BASE

scenario_table:
    dq 0
%assign n 1
%rep SCENARIO_COUNT
    dq scenario_%[n]
%assign n n + 1
%endrep

; gdt.entries, copied to gdt.base at boot
align 8
global gdt_template
gdt_template:
    gdt_template_table
gdt_template_end:

; One row per vCPU (offsets ROW_* in long.asm): its TSS, TR and stack tops.
align 8
cpu_table:
%assign c 0
%rep CPUS_COUNT
    dq CPUS_%[c]_TSS
    dq CPUS_%[c]_TR
    dq CPUS_%[c]_STACKS_RSP0_TOP
    dq CPUS_%[c]_STACKS_IST1_TOP
    dq CPUS_%[c]_STACKS_IST2_TOP
    dq CPUS_%[c]_STACKS_IST3_TOP
    dq CPUS_%[c]_STACKS_KERNEL_TOP
    dq 0
%assign c c + 1
%endrep

; The 256 gates of the layout, one 16-byte row each: handler (0 = absent
; gate), selector, IST, P|DPL|type. build_idt (long.asm) turns them into gates.
align 8
idt_spec:
%assign v 0
%rep 256
%if IDT_GATE_%[v]_PRESENT
    dq IDT_GATE_%[v]_HANDLER
    dw IDT_GATE_%[v]_SELECTOR
    db IDT_GATE_%[v]_IST
    db 0x80 | (IDT_GATE_%[v]_DPL << 5) | IDT_GATE_%[v]_TYPE
    dd 0
%else
    times 16 db 0
%endif
%assign v v + 1
%endrep

; Absolute symbols for the fixed memory, so a debugger can name those addresses.
global gdt_table, idt_table, ro_page, nx_page, user_stack_page, user_unmapped_page
gdt_table               equ GDT_BASE
idt_table               equ IDT_BASE
ro_page                 equ MEMORY_RO_PAGE
nx_page                 equ MEMORY_NX_PAGE
user_stack_page         equ MEMORY_USER_STACK_PAGE
user_unmapped_page      equ MEMORY_USER_UNMAPPED_PAGE
%assign c 0
%rep CPUS_COUNT
global tss_cpu%[c]
tss_cpu%[c]             equ CPUS_%[c]_TSS
%assign c c + 1
%endrep

msg_boot:
%ifdef VARIANT_BROKEN
    db "long64 (broken variant): booting", 10, 0
%else
    db "long64: booting", 10, 0
%endif
msg_ap_up:              db "long64: AP up", 10, 0
msg_ap_missing:         db "long64: an AP did not start", 10, 0
msg_ready:              db "long64: ready", 10, 0
msg_scenario:           db "long64: scenario ", 0
msg_done:               db " done", 10, 0
msg_unknown_scenario:   db "long64: unknown scenario", 10, 0
msg_vector:             db "long64: vector 0x", 0
msg_error:              db " error 0x", 0
msg_rip:                db " rip 0x", 0
msg_cs:                 db " cs 0x", 0
msg_unexpected:         db "long64: unexpected, halting", 10, 0
msg_newline:            db 10, 0
