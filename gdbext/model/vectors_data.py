"""The facts behind :mod:`gdbext.model.vectors`, as plain literals.

Kept apart from the code so the table reads like the manuals it comes from:

- Intel SDM Vol. 3A, "Interrupt and Exception Handling" (chapter 6; chapter 7
  in 2024+ editions): Table 6-1 "Protected-Mode Exceptions and Interrupts",
  section 6.5 "Exception Classifications", section 6.13 "Error Code",
  section 6.15 "Exception and Interrupt Reference" with Tables 6-4/6-5
  (benign, contributory and page-fault classes for the double-fault rules).
- AMD APM Vol. 2, chapter 8 "Exceptions and Interrupts", Table 8-1 and
  section 8.2 (one subsection per vector), for #XF, #HV, #VC and #SX.
- Linux (common OS use, x86_64): arch/x86/include/asm/irq_vectors.h,
  arch/x86/include/asm/idtentry.h, arch/x86/kernel/idt.c and
  arch/x86/kernel/traps.c of the 6.x series. ``handler`` is the symbol an
  IDT gate points at; the C body has the same name without ``asm_``.

Enum-valued fields hold the enum *values* (``"fault"``, ``"selector"``...);
``vectors.py`` turns every row into a frozen ``Vector``.
"""

# Rows 0-31. linux = (handler, signal or None, note) or None.
EXCEPTIONS = (
    {
        "number": 0, "mnemonic": "#DE", "name": "Divide Error",
        "vector_class": "fault", "error_code": "none", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "contributory",
        "source": "DIV and IDIV instructions (and AAM with a zero immediate)",
        "description": (
            "The divisor was zero, or the quotient does not fit in the destination "
            "register (for example IDIV of the most negative number by -1). The saved "
            "RIP points at the dividing instruction, so returning without fixing the "
            "cause repeats the fault."
        ),
        "intel": None,
        "amd": "AMD calls it Divide-by-Zero-Error.",
        "linux": ("asm_exc_divide_error", "SIGFPE",
                  "si_code FPE_INTDIV; in kernel mode an oops ('divide error')"),
    },
    {
        "number": 1, "mnemonic": "#DB", "name": "Debug Exception",
        "vector_class": "fault-or-trap", "error_code": "none",
        "saved_ip": "depends on the condition",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "Debug registers DR0-DR3/DR7, single-step (EFLAGS.TF), task-switch T flag, INT1 (ICEBP)",
        "description": (
            "A debug condition was met; DR6 says which one. Instruction breakpoints and "
            "general detect (DR7.GD) are faults (saved RIP = that instruction); "
            "single-step, data and I/O breakpoints, the task-switch trap and INT1 are "
            "traps (saved RIP = the next instruction)."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_debug", "SIGTRAP",
                  "runs on its own IST stack when raised in kernel mode; serves ptrace "
                  "single-step, hardware breakpoints and watchpoints, and kgdb"),
    },
    {
        "number": 2, "mnemonic": "NMI", "name": "Non-Maskable Interrupt",
        "vector_class": "interrupt", "error_code": "none", "saved_ip": "next instruction",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "NMI pin or LINT1, NMI IPIs, watchdog or performance-counter overflow set to NMI delivery",
        "description": (
            "A hardware interrupt that EFLAGS.IF cannot block, used for watchdogs, "
            "profiling and fatal hardware errors. After delivering one the CPU holds "
            "back further NMIs until the next IRET executes."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_nmi", None,
                  "NMI_VECTOR; runs on its own IST stack; used by the NMI watchdog, perf "
                  "and backtrace/crash IPIs"),
    },
    {
        "number": 3, "mnemonic": "#BP", "name": "Breakpoint",
        "vector_class": "trap", "error_code": "none", "saved_ip": "next instruction",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "INT3 instruction (opcode 0xCC)",
        "description": (
            "Software breakpoint: a debugger overwrites the first byte of an "
            "instruction with INT3. As a trap it saves the address just after the "
            "0xCC byte, so the debugger steps RIP back by one before resuming; the "
            "gate's DPL must be 3 for user-mode INT3 to reach it (otherwise #GP)."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_int3", "SIGTRAP",
                  "gate DPL 3 so user INT3 works; in the kernel, kprobes, live text "
                  "patching and kgdb use INT3"),
    },
    {
        "number": 4, "mnemonic": "#OF", "name": "Overflow",
        "vector_class": "trap", "error_code": "none", "saved_ip": "next instruction",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "INTO instruction with EFLAGS.OF = 1",
        "description": (
            "INTO found the overflow flag set. INTO does not exist in 64-bit mode "
            "(it is #UD there), so only 16- and 32-bit code can raise it."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_overflow", "SIGSEGV",
                  "gate DPL 3; only 32-bit processes can raise it"),
    },
    {
        "number": 5, "mnemonic": "#BR", "name": "BOUND Range Exceeded",
        "vector_class": "fault", "error_code": "none", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "BOUND instruction",
        "description": (
            "BOUND found an array index outside the limits stored in memory. BOUND is "
            "invalid in 64-bit mode, so a 64-bit kernel normally never sees this vector."
        ),
        "intel": "Intel MPX bound checks also raised it; MPX is gone from current CPUs.",
        "amd": None,
        "linux": ("asm_exc_bounds", "SIGSEGV", "a kernel-mode #BR is fatal (die)"),
    },
    {
        "number": 6, "mnemonic": "#UD", "name": "Invalid Opcode",
        "vector_class": "fault", "error_code": "none", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "UD0/UD1/UD2, reserved opcodes, instructions invalid in the current mode",
        "description": (
            "The CPU could not execute the opcode: it is undefined, unsupported by this "
            "CPU, not enabled (for example SSE with CR4.OSFXSR clear) or invalid in the "
            "current mode. UD2 raises it on purpose."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_invalid_op", "SIGILL",
                  "si_code ILL_ILLOPN; the kernel's BUG() and WARN() are UD2 "
                  "instructions, so a kernel-mode #UD is usually a BUG/WARN report"),
    },
    {
        "number": 7, "mnemonic": "#NM", "name": "Device Not Available",
        "vector_class": "fault", "error_code": "none", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "x87/MMX/SSE instructions with CR0.TS or CR0.EM set; WAIT/FWAIT with CR0.TS and CR0.MP set",
        "description": (
            "The floating-point or vector unit is marked unavailable (Intel's older "
            "name: No Math Coprocessor). Kernels once set CR0.TS at task switch and "
            "used this fault to switch FPU state lazily; on recent Intel CPUs it also "
            "reports first use of a state component disabled by XFD, such as AMX."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_device_not_available", None,
                  "FPU state is switched eagerly, so #NM only comes from XFD (first AMX "
                  "use; SIGILL without permission); any other #NM is a kernel bug (die)"),
    },
    {
        "number": 8, "mnemonic": "#DF", "name": "Double Fault",
        "vector_class": "abort", "error_code": "zero", "saved_ip": "undefined",
        "origin": "architectural", "double_fault_class": "none",
        "source": "A second exception while delivering the first (see the benign/contributory/page-fault rules)",
        "description": (
            "The CPU could not deliver an exception because another one happened on the "
            "way, typically a #PF or #GP while pushing onto a bad stack; its handler "
            "needs a known-good stack (an IST stack in 64-bit mode) and a fault while "
            "delivering #DF is a triple fault, which resets the machine. If the 8259 PIC "
            "still has the BIOS base 0x08, timer IRQ0 also arrives here: remap the PIC."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_double_fault", None,
                  "runs on its own IST stack; prints 'double fault' (often a kernel stack "
                  "overflow into its guard page) and panics"),
    },
    {
        "number": 9, "mnemonic": None, "name": "Coprocessor Segment Overrun",
        "vector_class": "fault", "error_code": "none", "saved_ip": "faulting instruction",
        "origin": "reserved", "double_fault_class": "benign",
        "source": "x87 operand running past a segment limit (Intel386 with a 387 coprocessor only)",
        "description": (
            "Only the Intel386 with an external 387 raised it, when an x87 operand ran "
            "past a segment limit. Later processors report that case as #GP or #PF, so "
            "the vector is effectively reserved."
        ),
        "intel": "Reserved since the Intel486.",
        "amd": "Reserved (the discontinued Coprocessor-Segment-Overrun exception).",
        "linux": ("asm_exc_coproc_segment_overrun", "SIGFPE",
                  "kept for completeness; modern CPUs never raise it"),
    },
    {
        "number": 10, "mnemonic": "#TS", "name": "Invalid TSS",
        "vector_class": "fault", "error_code": "selector", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "contributory",
        "source": "Task switch or TSS access",
        "description": (
            "A task switch or a privilege-level stack switch found a bad TSS or a bad "
            "segment named in it; the error code holds the selector at fault. 64-bit "
            "mode has no hardware task switching, so there it mostly means a TSS limit "
            "too small for the RSPn/ISTn field being read."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_invalid_tss", "SIGSEGV", "a kernel-mode #TS is fatal (die)"),
    },
    {
        "number": 11, "mnemonic": "#NP", "name": "Segment Not Present",
        "vector_class": "fault", "error_code": "selector", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "contributory",
        "source": "Loading CS/DS/ES/FS/GS, or using a gate, LDT or TSS descriptor, whose present bit is 0",
        "description": (
            "A segment or gate descriptor with P = 0 was used. An interrupt through a "
            "not-present IDT gate also raises #NP, with the IDT bit set in the error "
            "code; loading SS with a not-present segment raises #SS instead."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_segment_not_present", "SIGBUS", "user mode gets SIGBUS, not SIGSEGV"),
    },
    {
        "number": 12, "mnemonic": "#SS", "name": "Stack-Segment Fault",
        "vector_class": "fault", "error_code": "selector", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "contributory",
        "source": "Stack operations, SS loads, memory references based on RSP or RBP",
        "description": (
            "A stack access broke the stack-segment limit or, in 64-bit mode, used a "
            "non-canonical address, or SS was loaded with a not-present segment. The "
            "error code is that selector in the not-present case and 0 otherwise."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_stack_segment", "SIGBUS", "user mode gets SIGBUS, not SIGSEGV"),
    },
    {
        "number": 13, "mnemonic": "#GP", "name": "General Protection",
        "vector_class": "fault", "error_code": "selector", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "contributory",
        "source": "Any memory reference and many other protection checks",
        "description": (
            "The catch-all protection fault: a privileged instruction at CPL > 0, a "
            "non-canonical address, a segment limit or type violation, reserved bits "
            "written to a control register or MSR, INT n through a gate whose DPL is "
            "below CPL, and more. The error code is a selector when a descriptor caused "
            "it and 0 otherwise."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_general_protection", "SIGSEGV",
                  "in kernel mode an oops ('general protection fault'), with a hint when "
                  "the address was non-canonical"),
    },
    {
        "number": 14, "mnemonic": "#PF", "name": "Page Fault",
        "vector_class": "fault", "error_code": "page-fault", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "page-fault",
        "source": "Any memory reference or instruction fetch that goes through paging",
        "description": (
            "Address translation failed: the page is not present, or the access broke "
            "its protection (write to read-only, user access to a supervisor page, fetch "
            "from a no-execute page, protection keys, shadow stack). CR2 holds the "
            "faulting linear address and the error code says why."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_page_fault", "SIGSEGV",
                  "most faults are resolved silently (demand paging, copy-on-write, "
                  "swap-in); a bad user access gets SIGSEGV (SIGBUS e.g. past the end of "
                  "a mapped file); a bad kernel access oopses"),
    },
    {
        "number": 15, "mnemonic": None, "name": "Reserved",
        "vector_class": "interrupt", "error_code": "none", "saved_ip": "next instruction",
        "origin": "reserved", "double_fault_class": "none",
        "source": "Not raised by the CPU; only INT 15 or an interrupt source programmed with vector 15",
        "description": (
            "Reserved by Intel and AMD. Seeing it usually means a misprogrammed "
            "interrupt controller or a stray INT 15."
        ),
        "intel": "Intel reserved; do not use.",
        "amd": "Reserved.",
        "linux": ("asm_exc_spurious_interrupt_bug", None,
                  "empty handler: a Pentium Pro erratum could deliver spurious local APIC "
                  "interrupts on vector 15"),
    },
    {
        "number": 16, "mnemonic": "#MF", "name": "x87 FPU Floating-Point Error",
        "vector_class": "fault", "error_code": "none", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "x87 FPU instructions and WAIT/FWAIT, with CR0.NE = 1",
        "description": (
            "An unmasked x87 exception (invalid operation, zero divide, overflow...) is "
            "pending. It is reported at the next waiting x87 instruction, which is where "
            "the saved RIP points; the x87 last-instruction pointer holds the one that "
            "caused it. With CR0.NE = 0 the error goes out as external IRQ13 instead."
        ),
        "intel": "Intel's full name: x87 FPU Floating-Point Error (Math Fault).",
        "amd": "AMD calls it x87 Floating-Point Exception-Pending.",
        "linux": ("asm_exc_coprocessor_error", "SIGFPE",
                  "si_code from the x87 status word (FPE_FLTDIV, FPE_FLTOVF...)"),
    },
    {
        "number": 17, "mnemonic": "#AC", "name": "Alignment Check",
        "vector_class": "fault", "error_code": "zero", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "Misaligned data reference at CPL 3 with CR0.AM = 1 and EFLAGS.AC = 1",
        "description": (
            "A user-mode data access was misaligned while alignment checking was on. "
            "The error code is always 0."
        ),
        "intel": ("CPUs with split-lock detection also raise it for a locked access that "
                  "spans two cache lines, at any privilege level."),
        "amd": None,
        "linux": ("asm_exc_alignment_check", "SIGBUS",
                  "si_code BUS_ADRALN; also used for split-lock detection, where a split "
                  "lock in the kernel is fatal"),
    },
    {
        "number": 18, "mnemonic": "#MC", "name": "Machine Check",
        "vector_class": "abort", "error_code": "none", "saved_ip": "undefined",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "Hardware errors (memory ECC, caches, buses), model specific, logged in the MCA banks",
        "description": (
            "The CPU detected a hardware error; details are in the IA32_MCi_STATUS "
            "banks. MCG_STATUS.RIPV and EIPV say whether the saved RIP can be trusted "
            "for resuming, and with CR4.MCE clear the processor shuts down instead."
        ),
        "intel": None,
        "amd": None,
        "linux": ("asm_exc_machine_check", "SIGBUS",
                  "runs on its own IST stack; a recoverable memory error in a user page "
                  "kills only that process (SIGBUS, BUS_MCEERR_AR); others panic"),
    },
    {
        "number": 19, "mnemonic": "#XM", "name": "SIMD Floating-Point Exception",
        "vector_class": "fault", "error_code": "none", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "SSE/AVX floating-point instructions",
        "description": (
            "An unmasked SSE/AVX floating-point exception, as flagged in MXCSR. It needs "
            "CR4.OSXMMEXCPT = 1; without it the CPU raises #UD instead."
        ),
        "intel": None,
        "amd": "AMD names it #XF (SIMD Floating-Point), as does Linux (X86_TRAP_XF).",
        "linux": ("asm_exc_simd_coprocessor_error", "SIGFPE", "si_code from MXCSR"),
    },
    {
        "number": 20, "mnemonic": "#VE", "name": "Virtualization Exception",
        "vector_class": "fault", "error_code": "none", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "page-fault",
        "source": ("EPT violations in a VMX guest (when EPT-violation #VE is enabled); "
                   "intercepted operations in a TDX guest"),
        "description": (
            "Raised inside a virtual machine instead of a VM exit, so the guest itself "
            "can handle an EPT violation (or, in an Intel TDX guest, an intercepted "
            "instruction). Details come from the virtualization-exception information "
            "area, not from an error code."
        ),
        "intel": "Intel only: the VMX 'EPT-violation #VE' control, and every TDX guest.",
        "amd": "Reserved on AMD.",
        "linux": ("asm_exc_virtualization_exception", "SIGSEGV",
                  "TDX guests only: the kernel emulates the operation; an unhandled #VE "
                  "from user mode gets SIGSEGV"),
    },
    {
        "number": 21, "mnemonic": "#CP", "name": "Control Protection Exception",
        "vector_class": "fault", "error_code": "control-protection",
        "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "contributory",
        "source": ("RET, IRET, RSTORSSP, SETSSBSY with CET shadow stacks; "
                   "a missing ENDBRANCH with indirect-branch tracking"),
        "description": (
            "Control-flow enforcement caught a mismatch: a return address differs from "
            "the shadow stack copy, a shadow-stack token is invalid, or an indirect "
            "CALL/JMP landed somewhere other than ENDBR32/ENDBR64. The error code says "
            "which (1 near RET, 2 far RET/IRET, 3 ENDBRANCH, 4 RSTORSSP, 5 SETSSBSY; "
            "bit 15 = inside an SGX enclave)."
        ),
        "intel": "Intel CET: shadow stacks and indirect-branch tracking.",
        "amd": "AMD implements CET shadow stacks (Zen 3 and later) but not indirect-branch tracking.",
        "linux": ("asm_exc_control_protection", "SIGSEGV",
                  "CONFIG_X86_CET: a user shadow-stack violation gets SIGSEGV "
                  "(SEGV_CPERR); a missing ENDBR in the kernel (IBT) is a BUG"),
    },
    {
        "number": 28, "mnemonic": "#HV", "name": "Hypervisor Injection Exception",
        "vector_class": "interrupt", "error_code": "none", "saved_ip": "next instruction",
        "origin": "architectural", "double_fault_class": "benign",
        "source": "Injected by the hypervisor into an SEV-SNP guest",
        "description": (
            "A doorbell from the hypervisor to an SEV-SNP guest running with Restricted "
            "Injection: it tells the guest to look at a shared page for pending events. "
            "It is injected between instructions and pushes no error code."
        ),
        "intel": "Reserved on Intel.",
        "amd": "AMD SEV-SNP (Restricted Injection); the APM calls it a benign exception.",
        "linux": None,
    },
    {
        "number": 29, "mnemonic": "#VC", "name": "VMM Communication Exception",
        "vector_class": "fault", "error_code": "exit-code", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "contributory",
        "source": "Non-automatic exits (CPUID, RDMSR/WRMSR, port and MMIO I/O...) in an SEV-ES or SEV-SNP guest",
        "description": (
            "In an encrypted-state guest the hypervisor cannot read guest registers, so "
            "instructions it would intercept raise #VC inside the guest instead. The "
            "error code is the SVM exit code (0x72 for CPUID, for example); the handler "
            "shares the needed state through the GHCB and calls VMGEXIT."
        ),
        "intel": "Reserved on Intel.",
        "amd": "AMD SEV-ES and SEV-SNP guests only.",
        "linux": ("asm_exc_vmm_communication", "SIGBUS",
                  "SEV-ES/SNP guests (CONFIG_AMD_MEM_ENCRYPT); runs on its own IST stack; "
                  "a user-mode #VC the kernel cannot handle gets SIGBUS"),
    },
    {
        "number": 30, "mnemonic": "#SX", "name": "Security Exception",
        "vector_class": "fault", "error_code": "security", "saved_ip": "faulting instruction",
        "origin": "architectural", "double_fault_class": "contributory",
        "source": "Security-sensitive events in an SVM host; today only a redirected INIT",
        "description": (
            "Lets a hypervisor deal with an event that could undermine its guests as an "
            "exception rather than its normal effect. The only such event so far is an "
            "INIT signal redirected because VM_CR.R_INIT is set (error code 1)."
        ),
        "intel": "Reserved on Intel.",
        "amd": "AMD SVM only.",
        "linux": None,
    },
)

# Reserved rows: 22-27 and 31 (15 is written out above for its Linux handler).
RESERVED_NUMBERS = (22, 23, 24, 25, 26, 27, 31)
RESERVED_SOURCE = "Not raised by the CPU; only INT n or an interrupt source programmed with this vector"
RESERVED_DESCRIPTION = (
    "Reserved by Intel and AMD for future exceptions. Seeing it usually means a "
    "misprogrammed interrupt controller or a stray INT n."
)
RESERVED_INTEL = "Intel reserved; do not use."
RESERVED_AMD = "Reserved."

# Rows 32-255.
USER_DEFINED_NAME = "User-Defined Interrupt"
USER_DEFINED_SOURCE = "External interrupt (8259 PIC, I/O APIC, MSI, local APIC, IPI) or INT n"
USER_DEFINED_DESCRIPTION = (
    "Free for the operating system: any external interrupt source or an INT n "
    "instruction can use it. No error code is pushed and the saved RIP is the next "
    "instruction."
)
COMMON_REMAP_MASTER = 0x20
COMMON_REMAP_SLAVE = 0x28
SPECIAL_DESCRIPTIONS = {
    0x80: (
        "Common OS use: the INT 0x80 system-call gate (Linux's 32-bit ABI). Its gate "
        "DPL must be 3, or INT 0x80 from user mode raises #GP."
    ),
    0xFF: (
        "Common choice for the local APIC spurious-interrupt vector: on P6-family and "
        "Pentium APICs the low four bits of that vector are fixed to 1111b, so 0xFF "
        "works everywhere. No error code is pushed."
    ),
}

# The 8259 PIC inputs on a PC/AT (Intel 8259A datasheet, ICW2: the base is a
# multiple of 8 and IR0-IR7 map to base+0..base+7). (irq, device, chip).
LEGACY_IRQS = (
    (0, "PIT timer (8254)", "master"),
    (1, "PS/2 keyboard", "master"),
    (2, "cascade from slave 8259", "master"),
    (3, "COM2/COM4", "master"),
    (4, "COM1/COM3", "master"),
    (5, "LPT2 / sound", "master"),
    (6, "floppy", "master"),
    (7, "LPT1 / spurious master", "master"),
    (8, "RTC (CMOS)", "slave"),
    (9, "ACPI SCI / free", "slave"),
    (10, "free", "slave"),
    (11, "free", "slave"),
    (12, "PS/2 mouse", "slave"),
    (13, "FPU / coprocessor error", "slave"),
    (14, "primary ATA", "slave"),
    (15, "secondary ATA / spurious slave", "slave"),
)

# Linux x86_64 system vectors (irq_vectors.h): vector -> (constant, handler, what).
LINUX_SYSTEM_VECTORS = {
    0x80: ("IA32_SYSCALL_VECTOR", "asm_int80_emulation",
           "32-bit system calls through INT 0x80 (gate DPL 3); older kernels point it "
           "at entry_INT80_compat"),
    0xDF: ("POSTED_MSI_NOTIFICATION_VECTOR", "asm_sysvec_posted_msi_notification",
           "posted-MSI notification with CONFIG_X86_POSTED_MSI; otherwise an ordinary "
           "device vector"),
    0xEC: ("LOCAL_TIMER_VECTOR", "asm_sysvec_apic_timer_interrupt",
           "the local APIC timer tick"),
    0xED: ("HYPERV_STIMER0_VECTOR", "asm_sysvec_hyperv_stimer0",
           "Hyper-V synthetic timer (Hyper-V guests only)"),
    0xEE: ("HYPERV_REENLIGHTENMENT_VECTOR", "asm_sysvec_hyperv_reenlightenment",
           "Hyper-V re-enlightenment notice after migration (Hyper-V guests only)"),
    0xEF: ("MANAGED_IRQ_SHUTDOWN_VECTOR", "spurious_entries_start",
           "parks interrupts whose managed IRQ was shut down; arrivals count as spurious"),
    0xF0: ("POSTED_INTR_NESTED_VECTOR", "asm_sysvec_kvm_posted_intr_nested_ipi",
           "KVM hosts: posted interrupt for a nested guest"),
    0xF1: ("POSTED_INTR_WAKEUP_VECTOR", "asm_sysvec_kvm_posted_intr_wakeup_ipi",
           "KVM hosts: wakes a blocked vCPU that got a posted interrupt"),
    0xF2: ("POSTED_INTR_VECTOR", "asm_sysvec_kvm_posted_intr_ipi",
           "KVM hosts: posted-interrupt notification"),
    0xF3: ("HYPERVISOR_CALLBACK_VECTOR", "asm_sysvec_kvm_asyncpf_interrupt",
           "hypervisor callback; a KVM guest uses it for async page faults (Xen HVM, "
           "Hyper-V and ACRN guests install their own sysvec_*_callback)"),
    0xF4: ("DEFERRED_ERROR_VECTOR", "asm_sysvec_deferred_error",
           "AMD machine-check deferred errors"),
    0xF6: ("IRQ_WORK_VECTOR", "asm_sysvec_irq_work",
           "self-IPI that runs irq_work callbacks"),
    0xF7: ("X86_PLATFORM_IPI_VECTOR", "asm_sysvec_x86_platform_ipi",
           "generic platform-specific IPI"),
    0xF8: ("REBOOT_VECTOR", "asm_sysvec_reboot",
           "IPI that stops the other CPUs at reboot or panic"),
    0xF9: ("THRESHOLD_APIC_VECTOR", "asm_sysvec_threshold",
           "machine-check error-threshold interrupt"),
    0xFA: ("THERMAL_APIC_VECTOR", "asm_sysvec_thermal",
           "thermal-monitor interrupt from the local APIC"),
    0xFB: ("CALL_FUNCTION_SINGLE_VECTOR", "asm_sysvec_call_function_single",
           "IPI: run a function on one CPU (smp_call_function_single)"),
    0xFC: ("CALL_FUNCTION_VECTOR", "asm_sysvec_call_function",
           "IPI: run a function on several CPUs (smp_call_function)"),
    0xFD: ("RESCHEDULE_VECTOR", "asm_sysvec_reschedule_ipi",
           "IPI asking another CPU to reschedule"),
    0xFE: ("ERROR_APIC_VECTOR", "asm_sysvec_error_interrupt",
           "local APIC error interrupt (LVT error)"),
    0xFF: ("SPURIOUS_APIC_VECTOR", "asm_sysvec_spurious_apic_interrupt",
           "local APIC spurious interrupt"),
}

# Linux device vectors: FIRST_EXTERNAL_VECTOR up to LOCAL_TIMER_VECTOR - 1.
LINUX_FIRST_EXTERNAL_VECTOR = 0x20
LINUX_FIRST_SYSTEM_VECTOR = 0xEC
LINUX_ISA_IRQ_BASE = 0x30
LINUX_DEVICE_HANDLER = "irq_entries_start"
LINUX_DEVICE_NOTE = (
    "device interrupt, vector assigned at run time (see /proc/interrupts); the "
    "per-vector stub in irq_entries_start jumps to asm_common_interrupt"
)
LINUX_ISA_NOTE = (
    "ISA_IRQ_VECTOR({irq}), legacy IRQ{irq} = {device}: Linux programs the 8259 with "
    "base 0x30, so the ISA IRQs start out on 0x30-0x3f; with an I/O APIC they may be "
    "moved later"
)
LINUX_SPURIOUS_HANDLER = "spurious_entries_start"
LINUX_SPURIOUS_NOTE = (
    "unassigned system vector; the stub in spurious_entries_start counts arrivals as "
    "spurious interrupts"
)

# What Linux does with a vector, from the entry point its gate enters (asm/idtentry.h,
# asm/irq_vectors.h, arch/x86/kernel/idt.c, head_64.S / head_32.S): entry symbol -> meaning.
LINUX_ENTRY_MEANINGS = {
    "asm_sysvec_apic_timer_interrupt": "local APIC timer",
    "asm_sysvec_reschedule_ipi": "reschedule IPI",
    "asm_sysvec_call_function": "call-function IPI",
    "asm_sysvec_call_function_single": "call-function-single IPI",
    "asm_sysvec_spurious_apic_interrupt": "spurious APIC interrupt",
    "asm_sysvec_error_interrupt": "local APIC error",
    "asm_sysvec_thermal": "thermal event",
    "asm_sysvec_threshold": "machine-check threshold",
    "asm_sysvec_deferred_error": "machine-check deferred error",
    "asm_sysvec_irq_work": "irq_work self-IPI",
    "asm_sysvec_x86_platform_ipi": "platform IPI",
    "asm_sysvec_reboot": "reboot IPI (stops the CPU)",
    "asm_sysvec_irq_move_cleanup": "IRQ move cleanup IPI",
    "asm_sysvec_kvm_asyncpf_interrupt": "KVM async page fault",
    "asm_sysvec_kvm_posted_intr_ipi": "KVM posted interrupt",
    "asm_sysvec_kvm_posted_intr_wakeup_ipi": "KVM posted-interrupt wakeup",
    "asm_sysvec_kvm_posted_intr_nested_ipi": "KVM nested posted interrupt",
    "asm_sysvec_hyperv_callback": "Hyper-V callback",
    "asm_sysvec_hyperv_stimer0": "Hyper-V synthetic timer",
    "asm_sysvec_hyperv_reenlightenment": "Hyper-V re-enlightenment",
    "asm_sysvec_xen_hvm_callback": "Xen callback",
    "asm_sysvec_acrn_hv_callback": "ACRN callback",
    "asm_sysvec_posted_msi_notification": "posted-MSI notification",
    "irq_entries_start": "device interrupt",
    "spurious_entries_start": "unused system vector (spurious)",
    "asm_int80_emulation": "32-bit system call (INT 0x80)",
    "entry_INT80_compat": "32-bit system call (INT 0x80)",
    "entry_INT80_32": "system call (INT 0x80)",
    "early_idt_handler_array": "boot-time stub (never set up)",
}

# Extra spellings accepted by lookup(), on top of mnemonics, names and the
# Linux constants and handler symbols above.
ALIASES = {
    0: ("divide by zero", "divide-by-zero error", "divide-by-zero", "div0"),
    1: ("debug", "icebp"),
    2: ("nmi interrupt",),
    3: ("bp", "software breakpoint"),
    4: ("into",),
    5: ("bound", "bound range"),
    6: ("invalid opcode exception", "undefined opcode", "illegal instruction", "ud2"),
    7: ("no math coprocessor", "fpu not available"),
    9: ("cso",),
    10: ("invalid tss exception",),
    11: ("not present",),
    12: ("stack fault", "stack segment fault", "stack exception"),
    13: ("gpf", "general protection fault", "general protection exception"),
    14: ("page fault exception",),
    16: ("x87", "math fault", "fpu error", "x87 floating-point exception"),
    17: ("alignment check exception",),
    18: ("machine check exception", "mce"),
    19: ("#XF", "simd", "simd floating-point"),
    20: ("virtualization",),
    21: ("control protection", "cet"),
    28: ("hypervisor injection",),
    29: ("vmm communication",),
    30: ("security",),
}
