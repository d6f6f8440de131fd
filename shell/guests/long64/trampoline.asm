; trampoline.asm - where an application processor starts.
;
; start_aps copies ap_trampoline..ap_trampoline_end to memory.trampoline (below
; 1 MiB, 4 KiB aligned) and sends INIT-SIPI-SIPI with vector trampoline >> 12
; (SDM Vol. 3A §9.4.4 "MP Initialization Example"). The AP starts here in real
; mode at CS:IP = (trampoline >> 4):0000, loads the guest's GDT, goes through
; 32-bit protected mode into long mode and jumps to ap_long_entry in the image.
; The symbols below are the image copy's addresses; the code runs at the copy.

; tramp(LABEL): where LABEL lands in the copy
%define tramp(label) (MEMORY_TRAMPOLINE + (label) - ap_trampoline)

bits 16
global ap_trampoline
ap_trampoline:
    cli
    cld
    xor ax, ax
    mov ds, ax
    o32 lgdt [tramp(ap_gdt_pointer)]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword SELECTORS_CODE32:tramp(ap_protected)

bits 32
ap_protected:
    mov ax, SELECTORS_KERNEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    enter_long_mode ap_long_entry

align 4
ap_gdt_pointer:
    dw GDT_LIMIT
    dd GDT_BASE
ap_trampoline_end:
