; serial.asm - polled output on COM1 (the log QEMU writes to serial.log).
; All routines preserve every register except rax, rcx, rsi.

bits 64
default rel

; serial_putc: send the byte in al.
serial_putc:
    push rdx
    push rax
    mov dx, COM1_LSR
.busy:
    in al, dx
    test al, LSR_THRE
    jz .busy
    pop rax
    mov dx, COM1
    out dx, al
    pop rdx
    ret

; serial_puts: send the zero-terminated string at rsi.
serial_puts:
    lodsb
    test al, al
    jz .end
    call serial_putc
    jmp serial_puts
.end:
    ret

; serial_hex64 / serial_hex8: rax as 16 / 2 lower-case hex digits.
serial_hex64:
    mov ecx, 16
    jmp serial_hex
serial_hex8:
    mov ecx, 2
serial_hex:
    push rdx
    mov rdx, rax
    lea eax, [ecx * 4]
    push rcx
    mov ecx, 64
    sub ecx, eax
    shl rdx, cl                     ; the wanted digits at the top of rdx
    pop rcx
.digit:
    rol rdx, 4
    mov eax, edx
    and eax, 0xf
    cmp al, 10
    jb .decimal
    add al, 'a' - 10 - '0'
.decimal:
    add al, '0'
    call serial_putc
    dec ecx
    jnz .digit
    pop rdx
    ret

; serial_dec: rax (0-99) in decimal.
serial_dec:
    push rdx
    xor edx, edx
    mov ecx, 10
    div rcx
    test eax, eax
    jz .units
    add al, '0'
    call serial_putc
.units:
    mov eax, edx
    add al, '0'
    call serial_putc
    pop rdx
    ret
