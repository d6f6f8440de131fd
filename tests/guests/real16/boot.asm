; real16 - the real-mode test guest of idtscope: one 512-byte boot sector.
;
; SeaBIOS loads it at 0000:7c00. It installs the IVT entries of layout.json
; (ivt.installed); at guest_ready it says "real16: ready" on COM1 and sets the
; ready marker; then it idles with interrupts on (the BIOS timer wakes it), running the scenario a
; debugger writes into the `scenario` byte. There is no ELF: every label a
; test needs is pinned at its layout.json address (labels).

%include "x86.inc"
%include "layout.inc"

bits 16
org BOOT_LOAD_ADDRESS

; pinned LABEL, NAME: pad with nop up to labels.NAME and put LABEL there.
; Assembly fails (negative TIMES count) if the code before it is too long.
%macro pinned 2
    times (LABELS_%2 - BOOT_LOAD_ADDRESS) - ($ - $$) nop
%1:
%endmacro

start:
    jmp 0:flat                      ; CS:IP = 0000:7cxx, whatever SeaBIOS used
flat:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, STACK_SP

%assign i 0
%rep IVT_INSTALLED_COUNT
    mov word [IVT_INSTALLED_%[i]_VECTOR * 4], IVT_INSTALLED_%[i]_OFFSET
    mov word [IVT_INSTALLED_%[i]_VECTOR * 4 + 2], IVT_INSTALLED_%[i]_SEGMENT
%assign i i + 1
%endrep

pinned guest_ready, GUEST_READY
    mov si, msg_ready
    call serial_puts
    mov byte [ready_marker], READY_MARKER_VALUE

pinned idle_loop, IDLE_LOOP
    sti
    hlt
    mov al, [scenario]
    test al, al
    jz idle_loop
    mov byte [scenario], 0
    cmp al, 1
    je .int60
    cmp al, 2
    jne idle_loop
    int 0x61
    jmp .done
.int60:
    int 0x60
.done:
    mov [last_scenario_done], al
    mov si, msg_scenario
    call serial_puts
    add al, '0'
    call serial_putc
    mov si, msg_done
    call serial_puts

pinned scenario_done, SCENARIO_DONE
    jmp idle_loop

; int 0x60 (through 0000:isr_int60) and int 0x61 (through 07c0:offset):
; count the call, addressing through CS, which differs between the two.
pinned isr_int60, ISR_INT60
    inc word [cs:int60_count]
    iret

pinned isr_int61, ISR_INT61
    inc word [cs:int61_count - IVT_INSTALLED_1_SEGMENT * 16]
    iret

; serial_putc: send al on COM1. serial_puts: the zero-terminated string at si.
serial_putc:
    push dx
    push ax
    mov dx, COM1_LSR
.busy:
    in al, dx
    test al, LSR_THRE
    jz .busy
    pop ax
    mov dx, COM1
    out dx, al
    pop dx
    ret

serial_puts:
    push ax
.next:
    lodsb
    test al, al
    jz .end
    call serial_putc
    jmp .next
.end:
    pop ax
    ret

msg_ready:      db "real16: ready", 10, 0
msg_scenario:   db "real16: scenario ", 0
msg_done:       db " done", 10, 0

pinned scenario, SCENARIO
    db 0
pinned last_scenario_done, LAST_SCENARIO_DONE
    db 0
pinned ready_marker, READY_MARKER
    db 0
pinned int60_count, INT60_COUNT
    dw 0
pinned int61_count, INT61_COUNT
    dw 0

    times 510 - ($ - $$) db 0
    dw 0xaa55
