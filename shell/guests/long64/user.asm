; user.asm - the code scenarios 2 and 8 run in ring 3.
;
; It fills the last page(s) of the image on its own, so boot32.asm can map
; exactly user_text_start..user_text_end user-accessible (read-only, executable).

section .text
bits 64

align 4096
global user_text_start
user_text_start:

; scenario 2: write to a not-present user page
global user_pf_entry, user_pf_write
user_pf_entry:
    mov eax, 0x5a
user_pf_write:
    mov [abs SCENARIOS_2_EVENTS_0_CR2], rax
    jmp user_pf_write

; scenario 8: int3 (returns here), then int 0x80 (returns to the kernel)
global user_bp_int3, user_syscall, user_syscall_next
user_bp_int3:
    int3
user_syscall:
    int 0x80
user_syscall_next:
    jmp user_syscall_next

align 4096
global user_text_end
user_text_end:
