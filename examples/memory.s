; memory.s: read-only data, read-write data, the heap (sbrk), loads and stores.
;
; Builds an output buffer on the heap: the text "squares:" copied from read-only data,
; then COUNT little-endian u64 squares 0, 1, 4, 9, … where COUNT comes from read-write data.
; Halts with a0 = buffer address and a1 = its length, the JAM convention for a result.

.stack_size 0x1000

.ro_data
title:
    .string "squares:"
title_end:

.rw_data
count:
    .u32 8                                  ; how many squares to write
written:
    .u64 0                                  ; updated with the bytes written, for the host

.code
    ; length = |title| + 8 * count
    load_u32 s0, [count]
    shlo_l_imm_64 t0, s0, 3
    add_imm_64 t0, t0, title_end - title
    sbrk a0, t0                             ; a0 = start of t0 fresh heap bytes
    store_u64 [written], t0
    move_reg a1, t0

    ; copy the title, byte by byte
    load_imm t0, 0
    fallthrough
copy:
    load_ind_u8 t1, [t0 + title]
    add_64 t2, a0, t0
    store_ind_u8 [t2], t1
    add_imm_64 t0, t0, 1
    branch_lt_u_imm t0, title_end - title, copy

    ; then the squares, i * i for i = 0 … count - 1
    add_imm_64 t2, a0, title_end - title    ; t2 = where the next square goes
    load_imm t0, 0
    fallthrough
square:
    mul_64 t1, t0, t0
    store_ind_u64 [t2], t1
    add_imm_64 t2, t2, 8
    add_imm_64 t0, t0, 1
    branch_lt_u t0, s0, square

    jump_ind ra, 0                          ; halt: output = [a0, a0 + a1)
