; scenarios.asm - the ready point, the idle loop and the scenarios (see layout.json).

bits 32

%define SCENARIO_COUNT  8

global guest_ready
guest_ready:
    lea esi, [msg_ready]
    call serial_puts

global idle_loop
idle_loop:
    sti
    hlt
    mov eax, [scenario]
    test eax, eax
    jz idle_loop
    cli
    call run_scenario
    jmp idle_loop

; run_scenario: eax = N.
run_scenario:
    mov dword [scenario], 0
    cmp eax, SCENARIO_COUNT
    ja unknown_scenario
    mov edx, [scenario_table + eax * 4]
    test edx, edx
    jz unknown_scenario
    push eax
    call edx
    pop eax
    mov [last_scenario_done], eax
    push eax
    lea esi, [msg_scenario]
    call serial_puts
    pop eax
    call serial_dec
    lea esi, [msg_done]
    call serial_puts
global scenario_done
scenario_done:
    ret
unknown_scenario:
    lea esi, [msg_unknown_scenario]
    call serial_puts
    ret

; 1: int3 in the kernel; the trap gate returns to the next instruction.
scenario_1:
global scn_bp_kernel, scn_bp_kernel_next
scn_bp_kernel:
    int3
scn_bp_kernel_next:
    ret

; 6: divide by zero -> #DE, resumed by exception_common.
scenario_6:
    mov dword [resume_eip], scenario_6_resume
    xor eax, eax
    xor edx, edx
    xor ecx, ecx
global scn_de_div
scn_de_div:
    div ecx
scenario_6_resume:
    ret

; 7: int 0x30 while gates 0x30 and 0x0b (#NP) are not present -> #DF through
; the task gate; df_task_entry sends this task to resume_eip.
; set_gates_present P: the P bit of every gate in scenarios.7.cleared_gates.
%macro set_gates_present 1
%assign g 0
%rep SCENARIOS_7_CLEARED_GATES_COUNT
%if %1
    or byte [IDT_BASE + SCENARIOS_7_CLEARED_GATES_%[g] * 8 + 5], 0x80
%else
    and byte [IDT_BASE + SCENARIOS_7_CLEARED_GATES_%[g] * 8 + 5], 0x7f
%endif
%assign g g + 1
%endrep
%endmacro

scenario_7:
    mov dword [resume_eip], scenario_7_resume
    set_gates_present 0
global scn_df_int
scn_df_int:
    int SCENARIOS_7_RAISED_VECTOR
scenario_7_resume:
    set_gates_present 1
    ret

%ifdef VARIANT_PAE
; 8: the PAE probes of paging.probes, in order. Each one clears what the
; handlers record, points resume_eip past the access, makes it, and stores
; the vector taken (0xffffffff for none), the error code and CR2 in
; probe_results. A fetch jumps (no push), so a fault leaves the stack as it was.
%macro probe 2
    mov dword [last_vector], -1
    mov dword [last_error_code], 0
    mov dword [last_cr2], 0
    mov dword [resume_eip], %%after
    %2
%%after:
    mov dword [resume_eip], 0
    mov eax, [last_vector]
    mov [probe_results + %1 * 12], eax
    mov eax, [last_error_code]
    mov [probe_results + %1 * 12 + 4], eax
    mov eax, [last_cr2]
    mov [probe_results + %1 * 12 + 8], eax
%endmacro

scenario_8:
    mov word [PAGING_CODE_PAGE], 0x25ff         ; jmp [resume_eip]
    mov dword [PAGING_CODE_PAGE + 2], resume_eip
    probe 0, {mov eax, [PAGING_PROBES_0_ADDRESS]}
    probe 1, {mov dword [PAGING_PROBES_1_ADDRESS], 0}
    probe 2, {mov eax, [PAGING_PROBES_2_ADDRESS]}
    mov eax, PAGING_PROBES_3_ADDRESS
    probe 3, {jmp eax}
    probe 4, {mov eax, [PAGING_PROBES_4_ADDRESS]}
    probe 5, {mov eax, [PAGING_PROBES_5_ADDRESS]}
    mov eax, PAGING_PROBES_6_ADDRESS
    probe 6, {jmp eax}
    ret
%endif
