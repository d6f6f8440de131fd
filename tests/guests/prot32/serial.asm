; serial.asm - polled output on COM1 (the log QEMU writes to serial.log).
; All routines preserve every register except eax, ecx, esi.

bits 32

; serial_putc: send the byte in al.
serial_putc:
    push edx
    push eax
    mov dx, COM1_LSR
.busy:
    in al, dx
    test al, LSR_THRE
    jz .busy
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

; serial_puts: send the zero-terminated string at esi.
serial_puts:
    lodsb
    test al, al
    jz .end
    call serial_putc
    jmp serial_puts
.end:
    ret

; serial_hex32 / serial_hex8: eax as 8 / 2 lower-case hex digits.
serial_hex32:
    mov ecx, 8
    jmp serial_hex
serial_hex8:
    mov ecx, 2
    shl eax, 24
serial_hex:
    push edx
    mov edx, eax
.digit:
    rol edx, 4
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
    pop edx
    ret

; serial_dec: eax (0-99) in decimal.
serial_dec:
    push edx
    xor edx, edx
    mov ecx, 10
    div ecx
    test eax, eax
    jz .units
    add al, '0'
    call serial_putc
.units:
    mov eax, edx
    add al, '0'
    call serial_putc
    pop edx
    ret
