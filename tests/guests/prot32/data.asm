; data.asm - variables a debugger reads or writes (.data), and the tables built
; from layout.json and the messages (.rodata).

section .data

align 4

; the scenario interface (see scenarios.asm)
global scenario, last_scenario_done, resume_eip
scenario:               dd 0    ; written by the debugger: run scenario N
last_scenario_done:     dd 0    ; the last N that completed
resume_eip:             dd 0    ; where the next fault (or #DF task) resumes

; what the handlers saw last, and IRQ0 ticks
global last_vector, last_error_code, last_cr2, timer_ticks
last_vector:            dd 0
last_error_code:        dd 0
last_cr2:               dd 0
timer_ticks:            dd 0

%ifdef VARIANT_PAE
; scenario 8: vector, error code and CR2 of each of paging.probes
global probe_results
probe_results:          times PAGING_PROBES_COUNT * 3 dd 0
%endif

section .rodata

gdt_pointer:            dw GDT_LIMIT
                        dd GDT_BASE
idt_pointer:            dw IDT_LIMIT
                        dd IDT_BASE

scenario_table:
    dd 0, scenario_1, 0, 0, 0, 0, scenario_6, scenario_7
%ifdef VARIANT_PAE
    dd scenario_8
%else
    dd 0
%endif

; gdt.entries, copied to gdt.base at boot
align 8
global gdt_template
gdt_template:
    gdt_template_table
gdt_template_end:

; The 256 gates of the layout, 8 bytes each: offset from the base of the
; gate's code segment (0 for a task gate), selector, 0, P|DPL|type (0 = absent).
align 8
idt_spec:
%assign v 0
%rep 256
%if IDT_GATE_%[v]_PRESENT
%ifdef IDT_GATE_%[v]_HANDLER
%assign segment_index IDT_GATE_%[v]_SELECTOR >> 3
    dd IDT_GATE_%[v]_HANDLER - GDT_ENTRIES_%[segment_index]_BASE
%else
    dd 0
%endif
    dw IDT_GATE_%[v]_SELECTOR
    db 0
    db 0x80 | (IDT_GATE_%[v]_DPL << 5) | IDT_GATE_%[v]_TYPE
%else
    times 8 db 0
%endif
%assign v v + 1
%endrep

; Absolute symbols for the fixed memory, so a debugger can name those addresses.
global gdt_table, idt_table, tss_main, tss_df, page_directory
gdt_table               equ GDT_BASE
idt_table               equ IDT_BASE
tss_main                equ TSS_MAIN_BASE
tss_df                  equ TSS_DF_BASE
page_directory          equ PAGING_PAGE_DIRECTORY

msg_boot:               db "prot32: booting", 10, 0
msg_ready:              db "prot32: ready", 10, 0
msg_scenario:           db "prot32: scenario ", 0
msg_done:               db " done", 10, 0
msg_unknown_scenario:   db "prot32: unknown scenario", 10, 0
msg_vector:             db "prot32: vector 0x", 0
msg_error:              db " error 0x", 0
msg_eip:                db " eip 0x", 0
msg_df_task:            db "prot32: #DF task", 10, 0
msg_unexpected:         db "prot32: unexpected, halting", 10, 0
msg_newline:            db 10, 0
