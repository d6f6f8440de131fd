; prot32 - the 32-bit protected-mode test guest of idtscope.
;
; Every address, selector, gate and register value used here comes from
; layout.json through the generated layout.inc.
;
; Boot path
;   QEMU's multiboot loader enters multiboot_entry (boot.asm) in 32-bit
;   protected mode. The kernel copies the GDT to its fixed address, fills both
;   TSSs, builds the IDT (8-byte gates, a task gate on #DF), turns on 4 MiB
;   paging, remaps the PICs, starts the PIT and reaches guest_ready; then
;   idle_loop (scenarios.asm) runs whatever scenario a debugger writes.

%include "x86.inc"
%include "layout.inc"

section .text align=4096

kernel_start:

%include "boot.asm"
%include "isr.asm"
%include "scenarios.asm"
%include "serial.asm"
%include "data.asm"

section .note.GNU-stack noalloc noexec nowrite progbits
