; call.s: function calls through the jump table, with a recursive factorial.
;
; A call is `load_imm_jump ra, &back, function`: it puts the jump address of `back` in ra and
; jumps to `function`, which returns with `jump_ind ra, 0`. `&label` is a label's jump address,
; 2 * (its index in the jump table + 1); labels used that way join the table by themselves.
; Halts with a0 = N! (20! is the largest that fits in 64 bits).

.stack_size 0x1000
.equ N, 20

main:
    move_reg s1, ra                         ; keep the halt address (0xFFFF0000)
    load_imm a0, N
    load_imm_jump ra, &after_call, factorial
after_call:
    move_reg ra, s1
    jump_ind ra, 0                          ; halt with the result in a0

; factorial(a0) -> a0; keeps ra and n on the stack around the recursive call
factorial:
    branch_ge_u_imm a0, 2, recurse
    load_imm a0, 1                          ; 0! = 1! = 1
    jump_ind ra, 0
recurse:
    add_imm_64 sp, sp, -16
    store_ind_u64 [sp + 8], ra
    store_ind_u64 [sp], a0
    add_imm_64 a0, a0, -1
    load_imm_jump ra, &returned, factorial
returned:
    load_ind_u64 t0, [sp]                   ; n
    mul_64 a0, a0, t0                       ; (n - 1)! * n
    load_ind_u64 ra, [sp + 8]
    add_imm_64 sp, sp, 16
    jump_ind ra, 0
