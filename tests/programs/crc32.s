; crc32.s: halts with a0 = the CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) of the
; argument bytes. Each byte goes through a subroutine called via the jump table, so the program
; exercises dynamic jumps as well as shifts, masks and conditional moves.

.stack_size 0x1000
.equ POLY, 0xEDB88320

main:
    move_reg a5, ra                         ; keep the halt address
    load_imm s0, -1                         ; crc: only its low 32 bits matter until the end
    load_imm s1, POLY
    add_64 a2, a0, a1                       ; a2 = end of the argument
    branch_eq a0, a2, done                  ; empty argument
next_byte:
    load_ind_u8 t0, [a0]
    load_imm_jump ra, &returned, update     ; crc = update(crc, byte)
returned:
    add_imm_64 a0, a0, 1
    branch_ne a0, a2, next_byte
done:
    xor_imm s0, s0, -1                      ; final inversion
    shlo_l_imm_64 a0, s0, 32                ; zero-extend the low 32 bits
    shlo_r_imm_64 a0, a0, 32
    move_reg ra, a5
    jump_ind ra, 0                          ; halt with the CRC in a0

; update: s0 ^= t0, then 8 rounds of s0 = (s0 >> 1) ^ (s0 & 1 ? POLY : 0); returns to ra
update:
    xor s0, s0, t0
    load_imm t1, 8
    fallthrough
round:
    and_imm t0, s0, 1
    shlo_r_imm_32 s0, s0, 1
    load_imm t2, 0
    cmov_nz t2, s1, t0                      ; t2 = POLY when the low bit was set
    xor s0, s0, t2
    add_imm_64 t1, t1, -1
    branch_ne_imm t1, 0, round
    jump_ind ra, 0
