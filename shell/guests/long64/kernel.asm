; long64 - the 64-bit test guest of idtscope.
;
; Every address, selector, gate and register value used here comes from
; layout.json through the generated layout.inc; change the layout, not this code.
;
; Boot path
;   QEMU's multiboot loader enters multiboot_entry in 32-bit protected mode with
;   paging off (boot32.asm). The stub copies the GDT to its fixed address, builds
;   identity page tables and enters long mode at long_entry (long.asm), which
;   builds the IDT, remaps the PICs, sets up this CPU (TSS, IDT, local APIC) and
;   starts the application processor through the real-mode trampoline
;   (trampoline.asm). Then the BSP reaches guest_ready and idles in idle_loop,
;   running whatever scenario (scenarios.asm) a debugger writes into `scenario`.
;
; Memory
;   The image is linked at boot.kernel_base: .text (code, ending with the
;   user-mode page(s) of user.asm, mapped user-accessible), then .rodata
;   (tables, messages) and .data (variables). The tables the CPU uses (GDT,
;   IDT, TSSs, page tables, stacks) live at fixed addresses outside the image,
;   zeroed at boot.

%include "x86.inc"
%include "layout.inc"

section .text align=4096

kernel_start:

%include "boot32.asm"
%include "trampoline.asm"
%include "long.asm"
%include "isr.asm"
%include "scenarios.asm"
%include "serial.asm"
%include "user.asm"
%include "data.asm"

section .note.GNU-stack noalloc noexec nowrite progbits
