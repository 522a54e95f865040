; host_calls.s: talks to the host with `ecalli`.
;
; 1. log (host call 100, JIP-1): a0 = level, a1/a2 = target pointer/length,
;    a3/a4 = message pointer/length. Both strings live in read-only data.
; 2. gas (host call 0): returns the gas left in a0.
; Halts with a0 = the gas the host reported, or traps if the log call did not return OK (0).

.equ LOG, 100
.equ GAS, 0
.equ DEBUG, 3      ; JIP-1 levels: 0 error, 1 warn, 2 info, 3 debug, 4 trace

.ro_data
target:
    .string "pvmbox"
target_end:
message:
    .string "hello from the guest"
message_end:

.code
    load_imm a0, DEBUG
    load_imm a1, target                     ; labels in data are addresses (0x10000…)
    load_imm a2, target_end - target
    load_imm a3, message
    load_imm a4, message_end - message
    ecalli LOG                              ; the host answers in a0
    branch_ne_imm a0, 0, failed             ; anything but OK: give up

    ecalli GAS                              ; a0 = gas left, as the host sees it
    jump_ind ra, 0                          ; halt; the result is in a0

failed:
    trap
