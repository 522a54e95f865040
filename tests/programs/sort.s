; sort.s: fills the heap with N pseudo-random 32-bit words, sorts them (insertion sort) and halts
; with a0 = Σ (i + 1) · v[i] over the sorted words (mod 2^64), a checksum that depends on the order.
;
; The words come from x ← x · 1103515245 + 12345 (mod 2^32), starting at x = SEED, or at the first
; byte of the argument when there is one.

.stack_size 0x1000
.equ N, 300
.equ SEED, 12345

.code
    load_imm s0, SEED
    branch_eq_imm a1, 0, allocate           ; no argument: keep the default seed
    load_ind_u8 s0, [a0]
    fallthrough
allocate:
    load_imm t0, N * 4
    sbrk a2, t0                             ; a2 = the words, N · 4 fresh heap bytes

    ; fill: v[i] = the next x, for i = 0 … N - 1
    load_imm t0, 0
    fallthrough
fill:
    mul_imm_32 s0, s0, 1103515245
    add_imm_32 s0, s0, 12345
    shlo_l_imm_64 t1, t0, 2
    add_64 t1, t1, a2
    store_ind_u32 [t1], s0
    add_imm_64 t0, t0, 1
    branch_lt_u_imm t0, N, fill

    ; insertion sort: for i = 1 … N - 1, move v[i] left past every larger word
    load_imm t0, 1
    fallthrough
outer:
    shlo_l_imm_64 t1, t0, 2
    add_64 t1, t1, a2
    load_ind_u32 s0, [t1]                   ; the word being placed
    move_reg t2, t0                         ; j = i
    fallthrough
inner:
    branch_eq_imm t2, 0, place
    shlo_l_imm_64 t1, t2, 2
    add_64 t1, t1, a2
    load_ind_u32 s1, [t1 - 4]               ; v[j - 1]
    branch_ge_u s0, s1, place
    store_ind_u32 [t1], s1                  ; v[j] = v[j - 1]
    add_imm_64 t2, t2, -1
    jump inner
place:
    shlo_l_imm_64 t1, t2, 2
    add_64 t1, t1, a2
    store_ind_u32 [t1], s0
    add_imm_64 t0, t0, 1
    branch_lt_u_imm t0, N, outer

    ; checksum
    load_imm t0, 0
    load_imm a0, 0
    fallthrough
sum:
    shlo_l_imm_64 t1, t0, 2
    add_64 t1, t1, a2
    load_ind_u32 s0, [t1]
    add_imm_64 t0, t0, 1
    mul_64 s0, s0, t0
    add_64 a0, a0, s0
    branch_lt_u_imm t0, N, sum
    jump_ind ra, 0                          ; halt with the checksum in a0
