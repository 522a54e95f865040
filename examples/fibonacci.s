; fibonacci.s: leaves fib(n) in a0 and halts.
;
; n is the first byte of the argument, or 20 when the program gets no argument.
; Build and run:  pvmbox asm examples/fibonacci.s -o fib.pvm
;
; `.stack_size` makes this a JAM standard program, so standard initialization runs:
; ra = 0xFFFF0000 (jumping there halts), a0 = argument address, a1 = argument length.

.stack_size 0x1000
.equ DEFAULT_N, 20

    load_imm t0, DEFAULT_N
    branch_eq_imm a1, 0, start      ; no argument: keep the default
    load_ind_u8 t0, [a0]            ; n = first byte of the argument
    fallthrough                     ; ends the block, so that `start` may be a branch target

start:
    load_imm a0, 0                  ; a0 = fib(i), starting at i = 0
    load_imm a1, 1                  ; a1 = fib(i + 1)
    branch_eq_imm t0, 0, done       ; fib(0) = 0

loop:
    add_64 t1, a0, a1               ; t1 = fib(i + 2)
    move_reg a0, a1
    move_reg a1, t1
    add_imm_64 t0, t0, -1
    branch_ne_imm t0, 0, loop

done:
    jump_ind ra, 0                  ; return to 0xFFFF0000: halt with the result in a0
