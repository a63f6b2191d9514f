//go:build amd64 && !purego

#include "textflag.h"

// AVX2/FMA/F16C dot-product kernels. Each computes y[r] = (row r of w) · x for rows consecutive
// weight rows of rowBytes bytes. The block kernels are ggml's AVX2 ones (ggml-cpu/arch/x86/quants.c)
// instruction for instruction where it matters for the result — the same integer block sums, the
// same lane-wise FMA accumulation and the same final horizontal sum — so they reproduce ggml's
// vec_dot results bit for bit (TestDotMatchesGGML). The Q8_0-family kernels work on two rows at
// once, sharing the activation loads and overlapping two FMA chains; the k-quant kernels carry
// enough independent integer work per super-block to run one row at a time.
//
// Go assembler operand order is reversed from Intel's: VPMADDUBSW signed, unsigned, dst;
// VPSIGNB sign, src, dst; VFMADD231PS b, a, acc (acc += a·b).

DATA ones16<>+0(SB)/8, $0x0001000100010001
DATA ones16<>+8(SB)/8, $0x0001000100010001
DATA ones16<>+16(SB)/8, $0x0001000100010001
DATA ones16<>+24(SB)/8, $0x0001000100010001
GLOBL ones16<>(SB), RODATA|NOPTR, $32

DATA nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nib<>(SB), RODATA|NOPTR, $32

DATA eights<>+0(SB)/8, $0x0808080808080808
DATA eights<>+8(SB)/8, $0x0808080808080808
DATA eights<>+16(SB)/8, $0x0808080808080808
DATA eights<>+24(SB)/8, $0x0808080808080808
GLOBL eights<>(SB), RODATA|NOPTR, $32

DATA highnib<>+0(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA highnib<>+8(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA highnib<>+16(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA highnib<>+24(SB)/8, $0xf0f0f0f0f0f0f0f0
GLOBL highnib<>(SB), RODATA|NOPTR, $32

DATA bit4<>+0(SB)/8, $0x1010101010101010
DATA bit4<>+8(SB)/8, $0x1010101010101010
DATA bit4<>+16(SB)/8, $0x1010101010101010
DATA bit4<>+24(SB)/8, $0x1010101010101010
GLOBL bit4<>(SB), RODATA|NOPTR, $32

// bytes_from_bits_32: spread byte k/8 of a broadcast uint32 to bytes k, then test bit k%8.
DATA bitshuf<>+0(SB)/8, $0x0000000000000000
DATA bitshuf<>+8(SB)/8, $0x0101010101010101
DATA bitshuf<>+16(SB)/8, $0x0202020202020202
DATA bitshuf<>+24(SB)/8, $0x0303030303030303
GLOBL bitshuf<>(SB), RODATA|NOPTR, $32

DATA bitmask<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA bitmask<>+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA bitmask<>+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA bitmask<>+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL bitmask<>(SB), RODATA|NOPTR, $32

DATA allones<>+0(SB)/8, $0xffffffffffffffff
DATA allones<>+8(SB)/8, $0xffffffffffffffff
DATA allones<>+16(SB)/8, $0xffffffffffffffff
DATA allones<>+24(SB)/8, $0xffffffffffffffff
GLOBL allones<>(SB), RODATA|NOPTR, $32

// Q6_K high-bit masks.
DATA m3<>+0(SB)/8, $0x0303030303030303
DATA m3<>+8(SB)/8, $0x0303030303030303
DATA m3<>+16(SB)/8, $0x0303030303030303
DATA m3<>+24(SB)/8, $0x0303030303030303
GLOBL m3<>(SB), RODATA|NOPTR, $32

DATA m12<>+0(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA m12<>+8(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA m12<>+16(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA m12<>+24(SB)/8, $0x0c0c0c0c0c0c0c0c
GLOBL m12<>(SB), RODATA|NOPTR, $32

DATA m48<>+0(SB)/8, $0x3030303030303030
DATA m48<>+8(SB)/8, $0x3030303030303030
DATA m48<>+16(SB)/8, $0x3030303030303030
DATA m48<>+24(SB)/8, $0x3030303030303030
GLOBL m48<>(SB), RODATA|NOPTR, $32

DATA m192<>+0(SB)/8, $0xc0c0c0c0c0c0c0c0
DATA m192<>+8(SB)/8, $0xc0c0c0c0c0c0c0c0
DATA m192<>+16(SB)/8, $0xc0c0c0c0c0c0c0c0
DATA m192<>+24(SB)/8, $0xc0c0c0c0c0c0c0c0
GLOBL m192<>(SB), RODATA|NOPTR, $32

// get_scale_shuffle_k4(i): int16 scale i broadcast to all 16 words (bytes 2i, 2i+1 repeated).
DATA k4shuf<>+0(SB)/8, $0x0100010001000100
DATA k4shuf<>+8(SB)/8, $0x0100010001000100
DATA k4shuf<>+16(SB)/8, $0x0100010001000100
DATA k4shuf<>+24(SB)/8, $0x0100010001000100
DATA k4shuf<>+32(SB)/8, $0x0302030203020302
DATA k4shuf<>+40(SB)/8, $0x0302030203020302
DATA k4shuf<>+48(SB)/8, $0x0302030203020302
DATA k4shuf<>+56(SB)/8, $0x0302030203020302
DATA k4shuf<>+64(SB)/8, $0x0504050405040504
DATA k4shuf<>+72(SB)/8, $0x0504050405040504
DATA k4shuf<>+80(SB)/8, $0x0504050405040504
DATA k4shuf<>+88(SB)/8, $0x0504050405040504
DATA k4shuf<>+96(SB)/8, $0x0706070607060706
DATA k4shuf<>+104(SB)/8, $0x0706070607060706
DATA k4shuf<>+112(SB)/8, $0x0706070607060706
DATA k4shuf<>+120(SB)/8, $0x0706070607060706
DATA k4shuf<>+128(SB)/8, $0x0908090809080908
DATA k4shuf<>+136(SB)/8, $0x0908090809080908
DATA k4shuf<>+144(SB)/8, $0x0908090809080908
DATA k4shuf<>+152(SB)/8, $0x0908090809080908
DATA k4shuf<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL k4shuf<>(SB), RODATA|NOPTR, $256

// get_scale_shuffle(i): int8 scales 2i and 2i+1, each repeated 8 times.
DATA k6shuf<>+0(SB)/8, $0x0000000000000000
DATA k6shuf<>+8(SB)/8, $0x0101010101010101
DATA k6shuf<>+16(SB)/8, $0x0202020202020202
DATA k6shuf<>+24(SB)/8, $0x0303030303030303
DATA k6shuf<>+32(SB)/8, $0x0404040404040404
DATA k6shuf<>+40(SB)/8, $0x0505050505050505
DATA k6shuf<>+48(SB)/8, $0x0606060606060606
DATA k6shuf<>+56(SB)/8, $0x0707070707070707
DATA k6shuf<>+64(SB)/8, $0x0808080808080808
DATA k6shuf<>+72(SB)/8, $0x0909090909090909
DATA k6shuf<>+80(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA k6shuf<>+88(SB)/8, $0x0b0b0b0b0b0b0b0b
DATA k6shuf<>+96(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA k6shuf<>+104(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA k6shuf<>+112(SB)/8, $0x0e0e0e0e0e0e0e0e
DATA k6shuf<>+120(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL k6shuf<>(SB), RODATA|NOPTR, $128

// Q4_K utmp in vector lanes: shift lane 3 by 4; masks m6/m4 and m3 per lane.
DATA k4shift<>+0(SB)/8, $0x0000000000000000
DATA k4shift<>+8(SB)/8, $0x0000000400000000
GLOBL k4shift<>(SB), RODATA|NOPTR, $16

DATA k4mask64<>+0(SB)/8, $0x0f0f0f0f3f3f3f3f
DATA k4mask64<>+8(SB)/8, $0x0f0f0f0f3f3f3f3f
GLOBL k4mask64<>(SB), RODATA|NOPTR, $16

DATA k4mask3<>+0(SB)/8, $0x0303030300000000
DATA k4mask3<>+8(SB)/8, $0x0303030300000000
GLOBL k4mask3<>(SB), RODATA|NOPTR, $16

// hsum_float_8: the sum of ya's 8 lanes into lane 0 of xt (xa, ya's low half, is clobbered).
#define HSUM8(ya, xa, xt) \
	VEXTRACTF128 $1, ya, xt; \
	VADDPS       xa, xt, xt; \
	VMOVHLPS     xt, xt, xa; \
	VADDPS       xa, xt, xt; \
	VMOVSHDUP    xt, xa; \
	VADDSS       xa, xt, xt

// scale: ya = half at (p) · Y13 (the activation block's d, broadcast), in all 8 lanes.
#define SCALE(p, ya, xa) \
	VPBROADCASTW (p), xa; \
	VCVTPH2PS    xa, ya; \
	VMULPS       Y13, ya, ya

// mul_sum_i8_pairs_float: yb = 8 float sums of yb·Y14 (signed bytes); yc is scratch.
#define MULSUM_I8(yb, yc) \
	VPSIGNB    yb, Y14, yc; \
	VPSIGNB    yb, yb, yb; \
	VPMADDUBSW yc, yb, yb; \
	VPMADDWD   Y15, yb, yb; \
	VCVTDQ2PS  yb, yb

// bytes_from_nibbles_32: yb = the 32 nibbles at p (low nibbles, then high ones); xc is scratch.
#define NIBBLES(p, yb, xb, xc) \
	VMOVDQU     p, xb; \
	VPSRLW      $4, xb, xc; \
	VINSERTI128 $1, xc, yb, yb; \
	VPAND       Y12, yb, yb

// Q8_0: d at 0, 32 int8 quants at 2.
#define BLOCK_Q8_0(p, acc, ya, xa, yb, yc) \
	SCALE(p, ya, xa); \
	VMOVDQU 2(p), yb; \
	MULSUM_I8(yb, yc); \
	VFMADD231PS yb, ya, acc

// Q4_0: d at 0, nibbles at 2, value q-8 (Y11 = 8s).
#define BLOCK_Q4_0(p, acc, ya, xa, yb, xb, yc, xc) \
	SCALE(p, ya, xa); \
	NIBBLES(2(p), yb, xb, xc); \
	VPSUBB Y11, yb, yb; \
	MULSUM_I8(yb, yc); \
	VFMADD231PS yb, ya, acc

// Q5_0: d at 0, qh at 2, nibbles at 6; bytes whose fifth bit is clear get 0xF0 (value q-16).
#define BLOCK_Q5_0(p, acc, ya, xa, yb, xb, yc, xc) \
	SCALE(p, ya, xa); \
	NIBBLES(6(p), yb, xb, xc); \
	VPBROADCASTD 2(p), yc; \
	VPSHUFB      Y10, yc, yc; \
	VPOR         Y9, yc, yc; \
	VPCMPEQB     Y8, yc, yc; \
	VPANDN       Y11, yc, yc; \
	VPOR         yc, yb, yb; \
	MULSUM_I8(yb, yc); \
	VFMADD231PS yb, ya, acc

// The two-row driver for Q8_0-activation kernels: func(w *byte, rowBytes, rows int, xq *int8,
// xd *float32, nb int, y *float32). BLOCK2 does one block of rows SI and DI, BLOCK1 of row SI.
// Row i is paired with row i+rows/2, not i+1: two streams far apart keep the hardware prefetchers
// on both (adjacent rows read block by block in lockstep look like a random walk within a page and
// ran at a quarter of the bandwidth), and an odd last row runs alone.
#define ROWS_Q8_0(BSIZE, BLOCK2, BLOCK1) \
	MOVQ    w+0(FP), R12; \
	MOVQ    rowBytes+8(FP), R10; \
	MOVQ    rows+16(FP), R11; \
	MOVQ    nb+40(FP), R13; \
	MOVQ    y+48(FP), R9; \
	SHRQ    $1, R11; \
	MOVQ    R11, R14; \
	IMULQ   R10, R14; \
	LEAQ    (R11*4), AX; \
pair: \
	TESTQ   R11, R11; \
	JZ      single; \
	MOVQ    R12, SI; \
	LEAQ    (R12)(R14*1), DI; \
	MOVQ    xq+24(FP), BX; \
	MOVQ    xd+32(FP), DX; \
	MOVQ    R13, CX; \
	VXORPS  Y0, Y0, Y0; \
	VXORPS  Y1, Y1, Y1; \
pairblock: \
	VMOVDQU      (BX), Y14; \
	VBROADCASTSS (DX), Y13; \
	BLOCK2; \
	ADDQ    $BSIZE, SI; \
	ADDQ    $BSIZE, DI; \
	ADDQ    $32, BX; \
	ADDQ    $4, DX; \
	DECQ    CX; \
	JNZ     pairblock; \
	HSUM8(Y0, X0, X2); \
	VMOVSS  X2, (R9); \
	HSUM8(Y1, X1, X3); \
	VMOVSS  X3, (R9)(AX*1); \
	ADDQ    $4, R9; \
	ADDQ    R10, R12; \
	DECQ    R11; \
	JMP     pair; \
single: \
	MOVQ    rows+16(FP), BX; \
	TESTQ   $1, BX; \
	JZ      done; \
	LEAQ    (R12)(R14*1), SI; \
	ADDQ    AX, R9; \
	MOVQ    xq+24(FP), BX; \
	MOVQ    xd+32(FP), DX; \
	MOVQ    R13, CX; \
	VXORPS  Y0, Y0, Y0; \
singleblock: \
	VMOVDQU      (BX), Y14; \
	VBROADCASTSS (DX), Y13; \
	BLOCK1; \
	ADDQ    $BSIZE, SI; \
	ADDQ    $32, BX; \
	ADDQ    $4, DX; \
	DECQ    CX; \
	JNZ     singleblock; \
	HSUM8(Y0, X0, X2); \
	VMOVSS  X2, (R9); \
done: \
	VZEROUPPER; \
	RET

// Q4_1: d at 0, m at 2, nibbles at 4; value d·q + m, so Σ = d·d_x·Σq·q_x + m·s_x. summ
// accumulates m·s_x (a scalar FMA, as gcc compiles ggml's summs += m*s).
#define BLOCK_Q4_1(p, acc, summ, ya, xa, yb, xb, yc, xc) \
	SCALE(p, ya, xa); \
	VPBROADCASTW 2(p), xc; \
	VCVTPH2PS    xc, xc; \
	VFMADD231SS  (R8), xc, summ; \
	NIBBLES(4(p), yb, xb, xc); \
	VPMADDUBSW   Y14, yb, yb; \
	VPMADDWD     Y15, yb, yb; \
	VCVTDQ2PS    yb, yb; \
	VFMADD231PS  yb, ya, acc

// Q5_1: d at 0, m at 2, qh at 4, nibbles at 8; the fifth bits are ORed in as 0x10.
#define BLOCK_Q5_1(p, acc, summ, ya, xa, yb, xb, yc, xc) \
	SCALE(p, ya, xa); \
	VPBROADCASTW 2(p), xc; \
	VCVTPH2PS    xc, xc; \
	VFMADD231SS  (R8), xc, summ; \
	NIBBLES(8(p), yb, xb, xc); \
	VPBROADCASTD 4(p), yc; \
	VPSHUFB      Y10, yc, yc; \
	VPOR         Y11, yc, yc; \
	VPCMPEQB     allones<>(SB), yc, yc; \
	VPAND        bit4<>(SB), yc, yc; \
	VPOR         yc, yb, yb; \
	VPMADDUBSW   Y14, yb, yb; \
	VPMADDWD     Y15, yb, yb; \
	VCVTDQ2PS    yb, yb; \
	VFMADD231PS  yb, ya, acc

// The two-row driver for Q8_1-activation kernels: func(w *byte, rowBytes, rows int, xq *int8,
// xd, xs *float32, nb int, y *float32); the m·s sums are in X2 and X3.
#define ROWS_Q8_1(BSIZE, BLOCK2, BLOCK1) \
	MOVQ    w+0(FP), R12; \
	MOVQ    rowBytes+8(FP), R10; \
	MOVQ    rows+16(FP), R11; \
	MOVQ    nb+48(FP), R13; \
	MOVQ    y+56(FP), R9; \
	SHRQ    $1, R11; \
	MOVQ    R11, R14; \
	IMULQ   R10, R14; \
	LEAQ    (R11*4), AX; \
pair: \
	TESTQ   R11, R11; \
	JZ      single; \
	MOVQ    R12, SI; \
	LEAQ    (R12)(R14*1), DI; \
	MOVQ    xq+24(FP), BX; \
	MOVQ    xd+32(FP), DX; \
	MOVQ    xs+40(FP), R8; \
	MOVQ    R13, CX; \
	VXORPS  Y0, Y0, Y0; \
	VXORPS  Y1, Y1, Y1; \
	VXORPS  Y2, Y2, Y2; \
	VXORPS  Y3, Y3, Y3; \
pairblock: \
	VMOVDQU      (BX), Y14; \
	VBROADCASTSS (DX), Y13; \
	BLOCK2; \
	ADDQ    $BSIZE, SI; \
	ADDQ    $BSIZE, DI; \
	ADDQ    $32, BX; \
	ADDQ    $4, DX; \
	ADDQ    $4, R8; \
	DECQ    CX; \
	JNZ     pairblock; \
	HSUM8(Y0, X0, X4); \
	VADDSS  X2, X4, X4; \
	VMOVSS  X4, (R9); \
	HSUM8(Y1, X1, X5); \
	VADDSS  X3, X5, X5; \
	VMOVSS  X5, (R9)(AX*1); \
	ADDQ    $4, R9; \
	ADDQ    R10, R12; \
	DECQ    R11; \
	JMP     pair; \
single: \
	MOVQ    rows+16(FP), BX; \
	TESTQ   $1, BX; \
	JZ      done; \
	LEAQ    (R12)(R14*1), SI; \
	ADDQ    AX, R9; \
	MOVQ    xq+24(FP), BX; \
	MOVQ    xd+32(FP), DX; \
	MOVQ    xs+40(FP), R8; \
	MOVQ    R13, CX; \
	VXORPS  Y0, Y0, Y0; \
	VXORPS  Y2, Y2, Y2; \
singleblock: \
	VMOVDQU      (BX), Y14; \
	VBROADCASTSS (DX), Y13; \
	BLOCK1; \
	ADDQ    $BSIZE, SI; \
	ADDQ    $32, BX; \
	ADDQ    $4, DX; \
	ADDQ    $4, R8; \
	DECQ    CX; \
	JNZ     singleblock; \
	HSUM8(Y0, X0, X4); \
	VADDSS  X2, X4, X4; \
	VMOVSS  X4, (R9); \
done: \
	VZEROUPPER; \
	RET

// Q4_K: one 64-value chunk of the super-block at p: low nibbles of the 32 bytes at qo(p) times the
// activation quants at ao(DI), high nibbles times those at ah(DI), each pair sum scaled by its
// sub-block's 6-bit scale (int16 words broadcast by the k4shuf rows sl and sh from Y7); added to Y9.
#define Q4K_CHUNK(p, sl, sh, qo, ao, ah) \
	VPSHUFB    k4shuf<>+sl(SB), Y7, Y10; \
	VPSHUFB    k4shuf<>+sh(SB), Y7, Y11; \
	VMOVDQU    qo(p), Y12; \
	VPSRLW     $4, Y12, Y13; \
	VPAND      Y15, Y12, Y12; \
	VPAND      Y15, Y13, Y13; \
	VPMADDUBSW ao(DI), Y12, Y12; \
	VPMADDWD   Y10, Y12, Y12; \
	VPMADDUBSW ah(DI), Y13, Y13; \
	VPMADDWD   Y11, Y13, Y13; \
	VPADDD     Y13, Y12, Y12; \
	VPADDD     Y12, Y9, Y9

// Q4K_SHARED: what a Q4_K super-block product needs from the activation alone: Y4 = d_x in all
// lanes, X5 = the eight sums of 32 quants (hadd of the Q8_K sums of 16).
#define Q4K_SHARED \
	VBROADCASTSS (DX), Y4; \
	VMOVDQU      (R8), Y5; \
	VEXTRACTI128 $1, Y5, X10; \
	VPHADDW      X10, X5, X5

// Q4K_ROW: one super-block of the row at p into acc (8 lanes) and accm (the mins, 4 lanes), as
// ggml_vec_dot_q4_K_q8_K. The utmp shuffle of the 12 scale bytes into 8 scales and 8 mins is done
// in vector lanes: X7 = [u0&m6, (u2&m4)|((u0>>6)&m3)<<4, u1&m6, ((u2>>4)&m4)|((u1>>6)&m3)<<4].
#define Q4K_ROW(p, acc, accm) \
	VMOVQ        4(p), X7; \
	VPINSRD      $2, 12(p), X7, X7; \
	VPSHUFD      $0x98, X7, X8; \
	VPSHUFD      $0x50, X7, X9; \
	VPSRLVD      k4shift<>(SB), X8, X8; \
	VPAND        k4mask64<>(SB), X8, X8; \
	VPSRLD       $6, X9, X9; \
	VPAND        k4mask3<>(SB), X9, X9; \
	VPSLLD       $4, X9, X9; \
	VPOR         X9, X8, X7; \
	VPMOVZXBW    X7, Y7; \
	VEXTRACTI128 $1, Y7, X8; \
	VPMADDWD     X5, X8, X8; \
	VCVTDQ2PS    X8, X8; \
	VPBROADCASTW (p), X2; \
	VCVTPH2PS    X2, Y2; \
	VMULPS       Y2, Y4, Y2; \
	VPBROADCASTW 2(p), X3; \
	VCVTPH2PS    X3, X3; \
	VMULPS       X3, X4, X3; \
	VFNMADD231PS X8, X3, accm; \
	VINSERTI128  $1, X7, Y7, Y7; \
	VPXOR        Y9, Y9, Y9; \
	Q4K_CHUNK(p, 0, 32, 16, 0, 32); \
	Q4K_CHUNK(p, 64, 96, 48, 64, 96); \
	Q4K_CHUNK(p, 128, 160, 80, 128, 160); \
	Q4K_CHUNK(p, 192, 224, 112, 192, 224); \
	VCVTDQ2PS    Y9, Y9; \
	VFMADD231PS  Y9, Y2, acc

// Q4K_FINISH: *s = hsum_float_8(acc) + (the 4 mins lanes summed as ggml does), into lane 0 of xt.
#define Q4K_FINISH(acc, xacc, accm, xt, xu) \
	VMOVHLPS  accm, accm, xu; \
	VADDPS    xu, accm, accm; \
	VMOVSHDUP accm, xu; \
	VADDSS    xu, accm, accm; \
	HSUM8(acc, xacc, xt); \
	VADDSS    accm, xt, xt

// Q6_K: one 128-value half of the super-block at p: ql bytes at lo(p) and lo2(p), high bits at
// hi(p), activation quants at a0..a3(DI), int8 scales in X14 picked by k6shuf rows s0..s3.
// Quants are 0..63 here; the -32 comes off once per super-block through the Q8_K sums.
#define Q6K_HALF(p, lo, lo2, hi, a0, a1, a2, a3, s0, s1, s2, s3) \
	VMOVDQU    lo(p), Y3; \
	VMOVDQU    lo2(p), Y4; \
	VMOVDQU    hi(p), Y5; \
	VPAND      m3<>(SB), Y5, Y6; \
	VPSLLW     $4, Y6, Y6; \
	VPAND      m12<>(SB), Y5, Y7; \
	VPSLLW     $2, Y7, Y7; \
	VPAND      m48<>(SB), Y5, Y8; \
	VPAND      m192<>(SB), Y5, Y9; \
	VPSRLW     $2, Y9, Y9; \
	VPAND      Y15, Y3, Y10; \
	VPOR       Y10, Y6, Y6; \
	VPAND      Y15, Y4, Y10; \
	VPOR       Y10, Y7, Y7; \
	VPSRLW     $4, Y3, Y3; \
	VPAND      Y15, Y3, Y3; \
	VPOR       Y3, Y8, Y8; \
	VPSRLW     $4, Y4, Y4; \
	VPAND      Y15, Y4, Y4; \
	VPOR       Y4, Y9, Y9; \
	VPMADDUBSW a0(DI), Y6, Y6; \
	VPMADDUBSW a1(DI), Y7, Y7; \
	VPMADDUBSW a2(DI), Y8, Y8; \
	VPMADDUBSW a3(DI), Y9, Y9; \
	VPSHUFB    k6shuf<>+s0(SB), X14, X10; \
	VPMOVSXBW  X10, Y10; \
	VPMADDWD   Y10, Y6, Y6; \
	VPSHUFB    k6shuf<>+s1(SB), X14, X10; \
	VPMOVSXBW  X10, Y10; \
	VPMADDWD   Y10, Y7, Y7; \
	VPSHUFB    k6shuf<>+s2(SB), X14, X10; \
	VPMOVSXBW  X10, Y10; \
	VPMADDWD   Y10, Y8, Y8; \
	VPSHUFB    k6shuf<>+s3(SB), X14, X10; \
	VPMOVSXBW  X10, Y10; \
	VPMADDWD   Y10, Y9, Y9; \
	VPADDD     Y7, Y6, Y6; \
	VPADDD     Y6, Y1, Y1; \
	VPADDD     Y9, Y8, Y8; \
	VPADDD     Y8, Y1, Y1

#define Q6K_SHARED VBROADCASTSS (DX), Y12

// Q6K_ROW: one super-block of the row at p into acc, as ggml_vec_dot_q6_K_q8_K (Y12 = d_x).
#define Q6K_ROW(p, acc, accm) \
	VPBROADCASTW 208(p), X2; \
	VCVTPH2PS    X2, Y2; \
	VMULPS       Y2, Y12, Y2; \
	VMOVDQU      192(p), X14; \
	VPMOVSXBW    X14, Y13; \
	VPMADDWD     (R8), Y13, Y13; \
	VPSLLD       $5, Y13, Y13; \
	VPXOR        Y1, Y1, Y1; \
	Q6K_HALF(p, 0, 32, 128, 0, 32, 64, 96, 0, 16, 32, 48); \
	Q6K_HALF(p, 64, 96, 160, 128, 160, 192, 224, 64, 80, 96, 112); \
	VPSUBD       Y13, Y1, Y1; \
	VCVTDQ2PS    Y1, Y1; \
	VFMADD231PS  Y1, Y2, acc

#define Q6K_FINISH(acc, xacc, accm, xt, xu) HSUM8(acc, xacc, xt)

// The two-row driver for Q8_K-activation kernels: func(w *byte, rowBytes, rows int, xq *int8,
// xd *float32, bsums *int16, nb int, y *float32). Rows i and i+rows/2 are multiplied together
// (two far-apart streams, see ROWS_Q8_0), super-block by super-block, sharing the activation's
// per-block values; an odd last row runs alone. Row a accumulates in Y0/X1, row b in ACCB/ACCMB.
#define ROWS_Q8_K(BSIZE, SHARED, ROW, FINISH, ACCB, XACCB, ACCMB) \
	MOVQ    w+0(FP), R12; \
	MOVQ    rowBytes+8(FP), R10; \
	MOVQ    rows+16(FP), R11; \
	MOVQ    y+56(FP), R9; \
	SHRQ    $1, R11; \
	MOVQ    R11, R14; \
	IMULQ   R10, R14; \
	LEAQ    (R11*4), R13; \
pair: \
	TESTQ   R11, R11; \
	JZ      single; \
	MOVQ    R12, SI; \
	MOVQ    xq+24(FP), DI; \
	MOVQ    xd+32(FP), DX; \
	MOVQ    bsums+40(FP), R8; \
	MOVQ    nb+48(FP), CX; \
	VXORPS  Y0, Y0, Y0; \
	VXORPS  Y1, Y1, Y1; \
	VXORPS  ACCB, ACCB, ACCB; \
	VXORPS  ACCMB, ACCMB, ACCMB; \
pairblock: \
	LEAQ    (SI)(R14*1), BX; \
	SHARED; \
	ROW(SI, Y0, X1); \
	ROW(BX, ACCB, ACCMB); \
	ADDQ    $BSIZE, SI; \
	ADDQ    $256, DI; \
	ADDQ    $4, DX; \
	ADDQ    $32, R8; \
	DECQ    CX; \
	JNZ     pairblock; \
	FINISH(Y0, X0, X1, X3, X2); \
	VMOVSS  X3, (R9); \
	FINISH(ACCB, XACCB, ACCMB, X3, X2); \
	VMOVSS  X3, (R9)(R13*1); \
	ADDQ    $4, R9; \
	ADDQ    R10, R12; \
	DECQ    R11; \
	JMP     pair; \
single: \
	MOVQ    rows+16(FP), AX; \
	TESTQ   $1, AX; \
	JZ      done; \
	LEAQ    (R12)(R14*1), SI; \
	ADDQ    R13, R9; \
	MOVQ    xq+24(FP), DI; \
	MOVQ    xd+32(FP), DX; \
	MOVQ    bsums+40(FP), R8; \
	MOVQ    nb+48(FP), CX; \
	VXORPS  Y0, Y0, Y0; \
	VXORPS  Y1, Y1, Y1; \
singleblock: \
	SHARED; \
	ROW(SI, Y0, X1); \
	ADDQ    $BSIZE, SI; \
	ADDQ    $256, DI; \
	ADDQ    $4, DX; \
	ADDQ    $32, R8; \
	DECQ    CX; \
	JNZ     singleblock; \
	FINISH(Y0, X0, X1, X3, X2); \
	VMOVSS  X3, (R9); \
done: \
	VZEROUPPER; \
	RET

// The float kernels: func(w *byte, rowBytes, rows int, x *float32, n int, y *float32), rows i and
// i+rows/2 together (row a at SI into Y0-Y3, row b at BX into Y8-Y11). LOAD(p, off, r) widens 8
// weights at off(p) to float32s in r; STEP is the weight bytes per 32 values. The main loop runs
// ggml's GGML_F32/F16 AVX pattern, four 8-lane FMA accumulators over 32 values; REDUCE folds them
// into lane 0 (X0 / X8); the n%32 leftovers are added one by one by TAIL.
#define LOAD_F32(p, off, r) VMOVUPS off(p), r
#define LOAD_F16(p, off, r) VCVTPH2PS off(p), r
#define LOAD_BF16(p, off, r) VPMOVZXWD off(p), r; VPSLLD $16, r, r

// GGML_F32x8_REDUCE: (x0+x2) + (x1+x3), then the halves, then two horizontal adds.
#define REDUCE_HADD(y0, y1, y2, y3, x0, x1) \
	VADDPS       y2, y0, y0; \
	VADDPS       y3, y1, y1; \
	VADDPS       y1, y0, y0; \
	VEXTRACTF128 $1, y0, x1; \
	VADDPS       x1, x0, x0; \
	VHADDPS      x0, x0, x0; \
	VHADDPS      x0, x0, x0

// ggml_vec_dot_bf16's AVX2 reduction: (c1+c3) + (c2+c4), then hsum_float_8.
#define REDUCE_BF16(y0, y1, y2, y3, x0, x1) \
	VADDPS  y2, y0, y0; \
	VADDPS  y3, y1, y1; \
	VADDPS  y1, y0, y0; \
	HSUM8(y0, x0, x1); \
	VMOVAPS x1, x0

// Leftovers of the row at p into lane 0 of acc: F32 accumulates in float32 (sumf += x*y),
// F16/BF16 in float64 (ggml_float). CX counts them down; BX is not touched here.
#define TAIL_F32(p, acc) \
	VMOVSS      (p), X4; \
	VFMADD231SS (DI), X4, acc; \
	ADDQ        $4, p; \
	ADDQ        $4, DI; \
	DECQ        CX; \
	JNZ         -5(PC)

#define TAIL_F16(p, acc) \
	VCVTSS2SD acc, acc, acc; \
	MOVWLZX   (p), AX; \
	VMOVD     AX, X4; \
	VCVTPH2PS X4, X4; \
	VMULSS    (DI), X4, X4; \
	VCVTSS2SD X4, X4, X4; \
	VADDSD    X4, acc, acc; \
	ADDQ      $2, p; \
	ADDQ      $4, DI; \
	DECQ      CX; \
	JNZ       -9(PC); \
	VCVTSD2SS acc, acc, acc

#define TAIL_BF16(p, acc) \
	VCVTSS2SD acc, acc, acc; \
	MOVWLZX   (p), AX; \
	SHLL      $16, AX; \
	VMOVD     AX, X4; \
	VMULSS    (DI), X4, X4; \
	VCVTSS2SD X4, X4, X4; \
	VADDSD    X4, acc, acc; \
	ADDQ      $2, p; \
	ADDQ      $4, DI; \
	DECQ      CX; \
	JNZ       -9(PC); \
	VCVTSD2SS acc, acc, acc

#define ROWS_FLOAT(LOAD, STEP, REDUCE, TAIL) \
	MOVQ    w+0(FP), R12; \
	MOVQ    rowBytes+8(FP), R10; \
	MOVQ    rows+16(FP), R11; \
	MOVQ    y+40(FP), R9; \
	SHRQ    $1, R11; \
	MOVQ    R11, R14; \
	IMULQ   R10, R14; \
	LEAQ    (R11*4), R13; \
pair: \
	TESTQ   R11, R11; \
	JZ      single; \
	MOVQ    R12, SI; \
	LEAQ    (R12)(R14*1), BX; \
	MOVQ    x+24(FP), DI; \
	MOVQ    n+32(FP), CX; \
	VXORPS  Y0, Y0, Y0; \
	VXORPS  Y1, Y1, Y1; \
	VXORPS  Y2, Y2, Y2; \
	VXORPS  Y3, Y3, Y3; \
	VXORPS  Y8, Y8, Y8; \
	VXORPS  Y9, Y9, Y9; \
	VXORPS  Y10, Y10, Y10; \
	VXORPS  Y11, Y11, Y11; \
	CMPQ    CX, $32; \
	JLT     pairreduce; \
pairloop: \
	VMOVUPS 0(DI), Y12; \
	VMOVUPS 32(DI), Y13; \
	VMOVUPS 64(DI), Y14; \
	VMOVUPS 96(DI), Y15; \
	LOAD(SI, 0, Y4); \
	VFMADD231PS Y12, Y4, Y0; \
	LOAD(SI, STEP/4, Y5); \
	VFMADD231PS Y13, Y5, Y1; \
	LOAD(SI, STEP/2, Y6); \
	VFMADD231PS Y14, Y6, Y2; \
	LOAD(SI, 3*STEP/4, Y7); \
	VFMADD231PS Y15, Y7, Y3; \
	LOAD(BX, 0, Y4); \
	VFMADD231PS Y12, Y4, Y8; \
	LOAD(BX, STEP/4, Y5); \
	VFMADD231PS Y13, Y5, Y9; \
	LOAD(BX, STEP/2, Y6); \
	VFMADD231PS Y14, Y6, Y10; \
	LOAD(BX, 3*STEP/4, Y7); \
	VFMADD231PS Y15, Y7, Y11; \
	ADDQ    $STEP, SI; \
	ADDQ    $STEP, BX; \
	ADDQ    $128, DI; \
	SUBQ    $32, CX; \
	CMPQ    CX, $32; \
	JGE     pairloop; \
pairreduce: \
	REDUCE(Y0, Y1, Y2, Y3, X0, X1); \
	REDUCE(Y8, Y9, Y10, Y11, X8, X9); \
	TESTQ   CX, CX; \
	JZ      pairstore; \
	MOVQ    CX, R8; \
	MOVQ    DI, DX; \
	TAIL(SI, X0); \
	MOVQ    R8, CX; \
	MOVQ    DX, DI; \
	TAIL(BX, X8); \
pairstore: \
	VMOVSS  X0, (R9); \
	VMOVSS  X8, (R9)(R13*1); \
	ADDQ    $4, R9; \
	ADDQ    R10, R12; \
	DECQ    R11; \
	JMP     pair; \
single: \
	MOVQ    rows+16(FP), AX; \
	TESTQ   $1, AX; \
	JZ      done; \
	LEAQ    (R12)(R14*1), SI; \
	ADDQ    R13, R9; \
	MOVQ    x+24(FP), DI; \
	MOVQ    n+32(FP), CX; \
	VXORPS  Y0, Y0, Y0; \
	VXORPS  Y1, Y1, Y1; \
	VXORPS  Y2, Y2, Y2; \
	VXORPS  Y3, Y3, Y3; \
	CMPQ    CX, $32; \
	JLT     singlereduce; \
singleloop: \
	LOAD(SI, 0, Y4); \
	VFMADD231PS 0(DI), Y4, Y0; \
	LOAD(SI, STEP/4, Y5); \
	VFMADD231PS 32(DI), Y5, Y1; \
	LOAD(SI, STEP/2, Y6); \
	VFMADD231PS 64(DI), Y6, Y2; \
	LOAD(SI, 3*STEP/4, Y7); \
	VFMADD231PS 96(DI), Y7, Y3; \
	ADDQ    $STEP, SI; \
	ADDQ    $128, DI; \
	SUBQ    $32, CX; \
	CMPQ    CX, $32; \
	JGE     singleloop; \
singlereduce: \
	REDUCE(Y0, Y1, Y2, Y3, X0, X1); \
	TESTQ   CX, CX; \
	JZ      singlestore; \
	TAIL(SI, X0); \
singlestore: \
	VMOVSS  X0, (R9); \
done: \
	VZEROUPPER; \
	RET

// Four activation rows at once for the float kernels (MatMul, n a multiple of 32): func(w *byte,
// rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int), strides in bytes. Each
// weight row is read in two passes — lanes 0-15 of every 32 values, then lanes 16-31 — and every
// load of weights feeds the four activation rows (at DI, DI+R8, DI+2·R8, DI+BX with BX = 3·R8), so
// the weights are read once for four rows instead of once per row. Accumulator k of activation row
// a gets the one-row kernel's FMAs in the same order and the same REDUCE folds them, so the results
// equal ROWS_FLOAT's bit for bit. The first pass's accumulators wait in the frame: acc(a, k) at
// 64a+32k(SP). Output row a is at R9 + a·yStride (R13, 2·R13, DX = 3·R13).
#define FLOAT_X4_PASS(LOAD, STEP, woff, xoff, label) \
	MOVQ    R12, SI; \
	MOVQ    x+24(FP), DI; \
	MOVQ    n+40(FP), CX; \
	SHRQ    $5, CX; \
	VXORPS  Y0, Y0, Y0; \
	VXORPS  Y1, Y1, Y1; \
	VXORPS  Y2, Y2, Y2; \
	VXORPS  Y3, Y3, Y3; \
	VXORPS  Y4, Y4, Y4; \
	VXORPS  Y5, Y5, Y5; \
	VXORPS  Y6, Y6, Y6; \
	VXORPS  Y7, Y7, Y7; \
label: \
	LOAD(SI, woff, Y8); \
	LOAD(SI, woff+STEP/4, Y9); \
	VFMADD231PS xoff(DI), Y8, Y0; \
	VFMADD231PS xoff+32(DI), Y9, Y1; \
	VFMADD231PS xoff(DI)(R8*1), Y8, Y2; \
	VFMADD231PS xoff+32(DI)(R8*1), Y9, Y3; \
	VFMADD231PS xoff(DI)(R8*2), Y8, Y4; \
	VFMADD231PS xoff+32(DI)(R8*2), Y9, Y5; \
	VFMADD231PS xoff(DI)(BX*1), Y8, Y6; \
	VFMADD231PS xoff+32(DI)(BX*1), Y9, Y7; \
	ADDQ    $STEP, SI; \
	ADDQ    $128, DI; \
	DECQ    CX; \
	JNZ     label

// FLOAT_X4_OUT: activation row a's four accumulators (two in the frame, two in Y(2a), Y(2a+1))
// folded and stored at out.
#define FLOAT_X4_OUT(REDUCE, a, ya, yb, out) \
	VMOVUPS (64*a)(SP), Y8; \
	VMOVUPS (64*a+32)(SP), Y9; \
	REDUCE(Y8, Y9, ya, yb, X8, X10); \
	VMOVSS  X8, out

#define ROWS_FLOAT_X4(LOAD, STEP, REDUCE) \
	MOVQ    w+0(FP), R12; \
	MOVQ    rowBytes+8(FP), R10; \
	MOVQ    rows+16(FP), R11; \
	MOVQ    xStride+32(FP), R8; \
	LEAQ    (R8)(R8*2), BX; \
	MOVQ    y+48(FP), R9; \
	MOVQ    yStride+56(FP), R13; \
	LEAQ    (R13)(R13*2), DX; \
row4: \
	TESTQ   R11, R11; \
	JZ      done4; \
	FLOAT_X4_PASS(LOAD, STEP, 0, 0, lo4); \
	VMOVUPS Y0, 0(SP); \
	VMOVUPS Y1, 32(SP); \
	VMOVUPS Y2, 64(SP); \
	VMOVUPS Y3, 96(SP); \
	VMOVUPS Y4, 128(SP); \
	VMOVUPS Y5, 160(SP); \
	VMOVUPS Y6, 192(SP); \
	VMOVUPS Y7, 224(SP); \
	FLOAT_X4_PASS(LOAD, STEP, STEP/2, 64, hi4); \
	FLOAT_X4_OUT(REDUCE, 0, Y0, Y1, (R9)); \
	FLOAT_X4_OUT(REDUCE, 1, Y2, Y3, (R9)(R13*1)); \
	FLOAT_X4_OUT(REDUCE, 2, Y4, Y5, (R9)(R13*2)); \
	FLOAT_X4_OUT(REDUCE, 3, Y6, Y7, (R9)(DX*1)); \
	ADDQ    $4, R9; \
	ADDQ    R10, R12; \
	DECQ    R11; \
	JMP     row4; \
done4: \
	VZEROUPPER; \
	RET

// Two weight rows by four activation rows, for MatMul (n a multiple of 32): func(w *byte, rowBytes,
// rows int, x *float32, xStride, n int, y *float32, yStride int), rows even. The products run in
// four passes, one per 8-lane block k of every 32 values; in a pass the two rows' weights (Y8, Y9)
// and the four activation rows' values (Y10-Y13) are loaded once and multiplied in all eight pairs,
// so each FMA needs under one load (ROWS_FLOAT_X4 needs more than one, and the kernel was
// load-bound). Pair (r, a) accumulates block k in its own register with the one-row kernel's FMAs
// in the same order, and the same REDUCE folds the four, so results equal ROWS_FLOAT's bit for bit.
// Passes 0-2 wait in the frame: pass k's Y(4r+a) at 256k+32(4r+a)(SP); pass 3 stays in Y0-Y7.
#define FLOAT_W2X4_PASS(LOAD, STEP, k, label) \
	MOVQ    R12, SI; \
	LEAQ    (R12)(R10*1), BX; \
	MOVQ    x+24(FP), DI; \
	MOVQ    n+40(FP), CX; \
	SHRQ    $5, CX; \
	VXORPS  Y0, Y0, Y0; \
	VXORPS  Y1, Y1, Y1; \
	VXORPS  Y2, Y2, Y2; \
	VXORPS  Y3, Y3, Y3; \
	VXORPS  Y4, Y4, Y4; \
	VXORPS  Y5, Y5, Y5; \
	VXORPS  Y6, Y6, Y6; \
	VXORPS  Y7, Y7, Y7; \
label: \
	LOAD(SI, k*STEP/4, Y8); \
	LOAD(BX, k*STEP/4, Y9); \
	VMOVUPS (32*k)(DI), Y10; \
	VMOVUPS (32*k)(DI)(R8*1), Y11; \
	VMOVUPS (32*k)(DI)(R8*2), Y12; \
	VMOVUPS (32*k)(DI)(R14*1), Y13; \
	VFMADD231PS Y10, Y8, Y0; \
	VFMADD231PS Y11, Y8, Y1; \
	VFMADD231PS Y12, Y8, Y2; \
	VFMADD231PS Y13, Y8, Y3; \
	VFMADD231PS Y10, Y9, Y4; \
	VFMADD231PS Y11, Y9, Y5; \
	VFMADD231PS Y12, Y9, Y6; \
	VFMADD231PS Y13, Y9, Y7; \
	ADDQ    $STEP, SI; \
	ADDQ    $STEP, BX; \
	ADDQ    $128, DI; \
	DECQ    CX; \
	JNZ     label

#define FLOAT_W2X4_SPILL(k) \
	VMOVUPS Y0, (256*k)(SP); \
	VMOVUPS Y1, (256*k+32)(SP); \
	VMOVUPS Y2, (256*k+64)(SP); \
	VMOVUPS Y3, (256*k+96)(SP); \
	VMOVUPS Y4, (256*k+128)(SP); \
	VMOVUPS Y5, (256*k+160)(SP); \
	VMOVUPS Y6, (256*k+192)(SP); \
	VMOVUPS Y7, (256*k+224)(SP)

// FLOAT_W2X4_OUT: pair j = 4r+a (blocks 0-2 in the frame, block 3 in yj) folded and stored at out.
#define FLOAT_W2X4_OUT(REDUCE, j, yj, out) \
	VMOVUPS (32*j)(SP), Y8; \
	VMOVUPS (256+32*j)(SP), Y9; \
	VMOVUPS (512+32*j)(SP), Y10; \
	REDUCE(Y8, Y9, Y10, yj, X8, X11); \
	VMOVSS  X8, out

#define ROWS_FLOAT_W2X4(LOAD, STEP, REDUCE) \
	MOVQ    w+0(FP), R12; \
	MOVQ    rowBytes+8(FP), R10; \
	MOVQ    rows+16(FP), R11; \
	SHRQ    $1, R11; \
	MOVQ    xStride+32(FP), R8; \
	LEAQ    (R8)(R8*2), R14; \
	MOVQ    y+48(FP), R9; \
	MOVQ    yStride+56(FP), R13; \
	LEAQ    (R13)(R13*2), DX; \
pair4: \
	TESTQ   R11, R11; \
	JZ      done24; \
	FLOAT_W2X4_PASS(LOAD, STEP, 0, p0); \
	FLOAT_W2X4_SPILL(0); \
	FLOAT_W2X4_PASS(LOAD, STEP, 1, p1); \
	FLOAT_W2X4_SPILL(1); \
	FLOAT_W2X4_PASS(LOAD, STEP, 2, p2); \
	FLOAT_W2X4_SPILL(2); \
	FLOAT_W2X4_PASS(LOAD, STEP, 3, p3); \
	FLOAT_W2X4_OUT(REDUCE, 0, Y0, (R9)); \
	FLOAT_W2X4_OUT(REDUCE, 1, Y1, (R9)(R13*1)); \
	FLOAT_W2X4_OUT(REDUCE, 2, Y2, (R9)(R13*2)); \
	FLOAT_W2X4_OUT(REDUCE, 3, Y3, (R9)(DX*1)); \
	FLOAT_W2X4_OUT(REDUCE, 4, Y4, 4(R9)); \
	FLOAT_W2X4_OUT(REDUCE, 5, Y5, 4(R9)(R13*1)); \
	FLOAT_W2X4_OUT(REDUCE, 6, Y6, 4(R9)(R13*2)); \
	FLOAT_W2X4_OUT(REDUCE, 7, Y7, 4(R9)(DX*1)); \
	ADDQ    $8, R9; \
	LEAQ    (R12)(R10*2), R12; \
	DECQ    R11; \
	JMP     pair4; \
done24: \
	VZEROUPPER; \
	RET

// Four activation rows at once, for MatMul: each weight block is decoded once (DECODE leaves the
// signed quants in Y4) and multiplied with the blocks of four activation rows, whose products
// accumulate in Y0-Y3 with exactly the per-row operations of the one-row kernels above, so MatMul
// equals MatVec bit for bit. func(w *byte, rowBytes, rows int, xq *int8, xqStride int,
// xd *float32, xdStride int, nb int, y *float32, yStride int): activation row j's quants at
// xq+j·xqStride, its scales at xd+j·xdStride (bytes), its outputs at y+j·yStride.
#define DECODE_Q8_0(p) \
	VMOVDQU 2(p), Y4

#define DECODE_Q4_0(p) \
	NIBBLES(2(p), Y4, X4, X7); \
	VPSUBB Y11, Y4, Y4

#define DECODE_Q5_0(p) \
	NIBBLES(6(p), Y4, X4, X7); \
	VPBROADCASTD 2(p), Y8; \
	VPSHUFB      Y10, Y8, Y8; \
	VPOR         Y13, Y8, Y8; \
	VPCMPEQB     Y14, Y8, Y8; \
	VPANDN       Y11, Y8, Y8; \
	VPOR         Y8, Y4, Y4

// ACT4(q, d, acc): acc += (d_w·d_x)·Σ w·x for the activation block with quants at q, scale at d.
#define ACT4(q, d, acc) \
	VMOVDQU      q, Y8; \
	VPSIGNB      Y4, Y8, Y9; \
	VPMADDUBSW   Y9, Y5, Y9; \
	VPMADDWD     Y15, Y9, Y9; \
	VCVTDQ2PS    Y9, Y9; \
	VBROADCASTSS d, Y8; \
	VMULPS       Y8, Y6, Y8; \
	VFMADD231PS  Y9, Y8, acc

#define ROWS_X4(BSIZE, DECODE) \
	MOVQ    w+0(FP), R12; \
	MOVQ    rowBytes+8(FP), R10; \
	MOVQ    rows+16(FP), R11; \
	MOVQ    y+64(FP), R9; \
	MOVQ    xqStride+32(FP), R13; \
	MOVQ    xdStride+48(FP), AX; \
row: \
	MOVQ    R12, SI; \
	MOVQ    xq+24(FP), BX; \
	LEAQ    (BX)(R13*2), R8; \
	MOVQ    xd+40(FP), DX; \
	LEAQ    (DX)(AX*2), R14; \
	MOVQ    nb+56(FP), CX; \
	VXORPS  Y0, Y0, Y0; \
	VXORPS  Y1, Y1, Y1; \
	VXORPS  Y2, Y2, Y2; \
	VXORPS  Y3, Y3, Y3; \
block: \
	DECODE(SI); \
	VPSIGNB      Y4, Y4, Y5; \
	VPBROADCASTW (SI), X6; \
	VCVTPH2PS    X6, Y6; \
	ACT4((BX), (DX), Y0); \
	ACT4((BX)(R13*1), (DX)(AX*1), Y1); \
	ACT4((R8), (R14), Y2); \
	ACT4((R8)(R13*1), (R14)(AX*1), Y3); \
	ADDQ    $BSIZE, SI; \
	ADDQ    $32, BX; \
	ADDQ    $32, R8; \
	ADDQ    $4, DX; \
	ADDQ    $4, R14; \
	DECQ    CX; \
	JNZ     block; \
	MOVQ    yStride+72(FP), DI; \
	HSUM8(Y0, X0, X9); \
	VMOVSS  X9, (R9); \
	HSUM8(Y1, X1, X9); \
	VMOVSS  X9, (R9)(DI*1); \
	HSUM8(Y2, X2, X9); \
	VMOVSS  X9, (R9)(DI*2); \
	LEAQ    (DI)(DI*2), DI; \
	HSUM8(Y3, X3, X9); \
	VMOVSS  X9, (R9)(DI*1); \
	ADDQ    $4, R9; \
	ADDQ    R10, R12; \
	DECQ    R11; \
	JNZ     row; \
	VZEROUPPER; \
	RET

// Four activation rows at once for the k-quants (MatMul). The four rows' Q8_K data come
// interleaved per super-block (actBatch.interleave4: quants [4][256], scales [4], sums [4][16]),
// so one pointer each reaches all four. Sums of the four rows live in Y9-Y12 during a super-block;
// their float accumulators, and Q4_K's mins accumulators, in the frame: acc_j at 32j(SP), accm_j
// at 128+16j(SP). The per-row operations are the one-row kernels', so results are bit-equal.
// func(w *byte, rowBytes, rows int, xq *int8, xd *float32, bsums *int16, nb int, y *float32,
// yStride int)
#define KX4_ACC(sumi, j) \
	VCVTDQ2PS    sumi, sumi; \
	VBROADCASTSS (4*j)(DX), Y4; \
	VMULPS       Y2, Y4, Y4; \
	VMOVUPS      (32*j)(SP), Y5; \
	VFMADD231PS  sumi, Y4, Y5; \
	VMOVUPS      Y5, (32*j)(SP)

// Q4_K mins of activation row j: accm_j -= (d_x·dmin)·Σ_k m_k·(sum of the 32 quants of sub-block k).
#define Q4KX4_MINS(j) \
	VMOVDQU      (32*j)(R8), Y5; \
	VEXTRACTI128 $1, Y5, X6; \
	VPHADDW      X6, X5, X5; \
	VPMADDWD     X5, X8, X5; \
	VCVTDQ2PS    X5, X5; \
	VBROADCASTSS (4*j)(DX), X4; \
	VMULPS       X3, X4, X4; \
	VMOVUPS      (128+16*j)(SP), X6; \
	VFNMADD231PS X5, X4, X6; \
	VMOVUPS      X6, (128+16*j)(SP)

#define Q4KX4_ACT(sumi, ao, ah) \
	VPMADDUBSW ao(DI), Y0, Y4; \
	VPMADDWD   Y13, Y4, Y4; \
	VPMADDUBSW ah(DI), Y1, Y5; \
	VPMADDWD   Y14, Y5, Y5; \
	VPADDD     Y5, Y4, Y4; \
	VPADDD     Y4, sumi, sumi

#define Q4KX4_CHUNK(sl, sh, qo, ao, ah) \
	VPSHUFB    k4shuf<>+sl(SB), Y7, Y13; \
	VPSHUFB    k4shuf<>+sh(SB), Y7, Y14; \
	VMOVDQU    qo(SI), Y0; \
	VPSRLW     $4, Y0, Y1; \
	VPAND      Y15, Y0, Y0; \
	VPAND      Y15, Y1, Y1; \
	Q4KX4_ACT(Y9, ao, ah); \
	Q4KX4_ACT(Y10, ao+256, ah+256); \
	Q4KX4_ACT(Y11, ao+512, ah+512); \
	Q4KX4_ACT(Y12, ao+768, ah+768)

// Q6_K: decode one half's quants into Y6-Y9 and its four scale vectors into Y10-Y13 (X14 holds
// the super-block's int8 scales), then add their products with the four rows into Y0-Y3.
#define Q6KX4_ACT(sumi, a0, a1, a2, a3) \
	VPMADDUBSW a0(DI), Y6, Y4; \
	VPMADDWD   Y10, Y4, Y4; \
	VPMADDUBSW a1(DI), Y7, Y5; \
	VPMADDWD   Y11, Y5, Y5; \
	VPADDD     Y5, Y4, Y4; \
	VPADDD     Y4, sumi, sumi; \
	VPMADDUBSW a2(DI), Y8, Y4; \
	VPMADDWD   Y12, Y4, Y4; \
	VPMADDUBSW a3(DI), Y9, Y5; \
	VPMADDWD   Y13, Y5, Y5; \
	VPADDD     Y5, Y4, Y4; \
	VPADDD     Y4, sumi, sumi

#define Q6KX4_HALF(lo, lo2, hi, a0, s0, s1, s2, s3) \
	VMOVDQU    lo(SI), Y4; \
	VMOVDQU    lo2(SI), Y5; \
	VMOVDQU    hi(SI), Y10; \
	VPAND      m3<>(SB), Y10, Y6; \
	VPSLLW     $4, Y6, Y6; \
	VPAND      m12<>(SB), Y10, Y7; \
	VPSLLW     $2, Y7, Y7; \
	VPAND      m48<>(SB), Y10, Y8; \
	VPAND      m192<>(SB), Y10, Y9; \
	VPSRLW     $2, Y9, Y9; \
	VPAND      Y15, Y4, Y10; \
	VPOR       Y10, Y6, Y6; \
	VPAND      Y15, Y5, Y10; \
	VPOR       Y10, Y7, Y7; \
	VPSRLW     $4, Y4, Y4; \
	VPAND      Y15, Y4, Y4; \
	VPOR       Y4, Y8, Y8; \
	VPSRLW     $4, Y5, Y5; \
	VPAND      Y15, Y5, Y5; \
	VPOR       Y5, Y9, Y9; \
	VPSHUFB    k6shuf<>+s0(SB), X14, X10; \
	VPMOVSXBW  X10, Y10; \
	VPSHUFB    k6shuf<>+s1(SB), X14, X11; \
	VPMOVSXBW  X11, Y11; \
	VPSHUFB    k6shuf<>+s2(SB), X14, X12; \
	VPMOVSXBW  X12, Y12; \
	VPSHUFB    k6shuf<>+s3(SB), X14, X13; \
	VPMOVSXBW  X13, Y13; \
	Q6KX4_ACT(Y0, a0, a0+32, a0+64, a0+96); \
	Q6KX4_ACT(Y1, a0+256, a0+288, a0+320, a0+352); \
	Q6KX4_ACT(Y2, a0+512, a0+544, a0+576, a0+608); \
	Q6KX4_ACT(Y3, a0+768, a0+800, a0+832, a0+864)

// Q6_K sums start at -32·Σ sc·bsums (ggml subtracts q8sclsub at the end; integers, same result).
#define Q6KX4_INIT(sumi, j) \
	VPMADDWD (32*j)(R8), Y13, Y4; \
	VPSLLD   $5, Y4, Y4; \
	VPXOR    sumi, sumi, sumi; \
	VPSUBD   Y4, sumi, sumi

#define Q6KX4_ACC(sumi, j) \
	VCVTDQ2PS    sumi, sumi; \
	VBROADCASTSS (4*j)(DX), Y4; \
	VMULPS       Y2, Y4, Y4; \
	VMOVUPS      (32*j)(SP), Y5; \
	VFMADD231PS  sumi, Y4, Y5; \
	VMOVUPS      Y5, (32*j)(SP)

// The row loop of the k-quant x4 kernels: zero the frame accumulators, run BLOCK per super-block,
// then FINISH(j, xt) leaves row j's result in lane 0 of xt.
#define ROWS_KX4(BSIZE, BLOCK, FINISH) \
	MOVQ    w+0(FP), R12; \
	MOVQ    rowBytes+8(FP), R10; \
	MOVQ    rows+16(FP), R11; \
	MOVQ    y+56(FP), R9; \
	MOVQ    yStride+64(FP), R13; \
	LEAQ    (R13)(R13*2), R14; \
row: \
	MOVQ    R12, SI; \
	MOVQ    xq+24(FP), DI; \
	MOVQ    xd+32(FP), DX; \
	MOVQ    bsums+40(FP), R8; \
	MOVQ    nb+48(FP), CX; \
	VXORPS  Y0, Y0, Y0; \
	VMOVUPS Y0, 0(SP); \
	VMOVUPS Y0, 32(SP); \
	VMOVUPS Y0, 64(SP); \
	VMOVUPS Y0, 96(SP); \
	VMOVUPS Y0, 128(SP); \
	VMOVUPS Y0, 160(SP); \
block: \
	BLOCK; \
	ADDQ    $BSIZE, SI; \
	ADDQ    $1024, DI; \
	ADDQ    $16, DX; \
	ADDQ    $128, R8; \
	DECQ    CX; \
	JNZ     block; \
	FINISH(0, X0); \
	VMOVSS  X0, (R9); \
	FINISH(1, X0); \
	VMOVSS  X0, (R9)(R13*1); \
	FINISH(2, X0); \
	VMOVSS  X0, (R9)(R13*2); \
	FINISH(3, X0); \
	VMOVSS  X0, (R9)(R14*1); \
	ADDQ    $4, R9; \
	ADDQ    R10, R12; \
	DECQ    R11; \
	JNZ     row; \
	VZEROUPPER; \
	RET

#define Q4KX4_BLOCK \
	VMOVQ        4(SI), X7; \
	VPINSRD      $2, 12(SI), X7, X7; \
	VPSHUFD      $0x98, X7, X8; \
	VPSHUFD      $0x50, X7, X9; \
	VPSRLVD      k4shift<>(SB), X8, X8; \
	VPAND        k4mask64<>(SB), X8, X8; \
	VPSRLD       $6, X9, X9; \
	VPAND        k4mask3<>(SB), X9, X9; \
	VPSLLD       $4, X9, X9; \
	VPOR         X9, X8, X7; \
	VPMOVZXBW    X7, Y7; \
	VEXTRACTI128 $1, Y7, X8; \
	VPBROADCASTW (SI), X2; \
	VCVTPH2PS    X2, Y2; \
	VPBROADCASTW 2(SI), X3; \
	VCVTPH2PS    X3, X3; \
	Q4KX4_MINS(0); \
	Q4KX4_MINS(1); \
	Q4KX4_MINS(2); \
	Q4KX4_MINS(3); \
	VINSERTI128  $1, X7, Y7, Y7; \
	VPXOR        Y9, Y9, Y9; \
	VPXOR        Y10, Y10, Y10; \
	VPXOR        Y11, Y11, Y11; \
	VPXOR        Y12, Y12, Y12; \
	Q4KX4_CHUNK(0, 32, 16, 0, 32); \
	Q4KX4_CHUNK(64, 96, 48, 64, 96); \
	Q4KX4_CHUNK(128, 160, 80, 128, 160); \
	Q4KX4_CHUNK(192, 224, 112, 192, 224); \
	KX4_ACC(Y9, 0); \
	KX4_ACC(Y10, 1); \
	KX4_ACC(Y11, 2); \
	KX4_ACC(Y12, 3)

#define Q4KX4_FINISH(j, xt) \
	VMOVUPS   (128+16*j)(SP), X1; \
	VMOVHLPS  X1, X1, X2; \
	VADDPS    X2, X1, X1; \
	VMOVSHDUP X1, X2; \
	VADDSS    X2, X1, X1; \
	VMOVUPS   (32*j)(SP), Y3; \
	HSUM8(Y3, X3, xt); \
	VADDSS    X1, xt, xt

#define Q6KX4_BLOCK \
	VMOVDQU      192(SI), X14; \
	VPMOVSXBW    X14, Y13; \
	Q6KX4_INIT(Y0, 0); \
	Q6KX4_INIT(Y1, 1); \
	Q6KX4_INIT(Y2, 2); \
	Q6KX4_INIT(Y3, 3); \
	Q6KX4_HALF(0, 32, 128, 0, 0, 16, 32, 48); \
	Q6KX4_HALF(64, 96, 160, 128, 64, 80, 96, 112); \
	VPBROADCASTW 208(SI), X6; \
	VCVTPH2PS    X6, Y6; \
	VMOVAPS      Y2, Y7; \
	VMOVAPS      Y6, Y2; \
	KX4_ACC(Y0, 0); \
	KX4_ACC(Y1, 1); \
	KX4_ACC(Y7, 2); \
	KX4_ACC(Y3, 3)

#define Q6KX4_FINISH(j, xt) \
	VMOVUPS (32*j)(SP), Y3; \
	HSUM8(Y3, X3, xt)

// func dotQ8_0AVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, nb int, y *float32)
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-56
	VMOVDQU ones16<>(SB), Y15
	ROWS_Q8_0(34, BLOCK_Q8_0(SI, Y0, Y2, X2, Y3, Y4); BLOCK_Q8_0(DI, Y1, Y5, X5, Y6, Y7), BLOCK_Q8_0(SI, Y0, Y2, X2, Y3, Y4))

// func dotQ4_0AVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, nb int, y *float32)
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-56
	VMOVDQU ones16<>(SB), Y15
	VMOVDQU nib<>(SB), Y12
	VMOVDQU eights<>(SB), Y11
	ROWS_Q8_0(18, BLOCK_Q4_0(SI, Y0, Y2, X2, Y3, X3, Y4, X4); BLOCK_Q4_0(DI, Y1, Y5, X5, Y6, X6, Y7, X7), BLOCK_Q4_0(SI, Y0, Y2, X2, Y3, X3, Y4, X4))

// func dotQ5_0AVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, nb int, y *float32)
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-56
	VMOVDQU ones16<>(SB), Y15
	VMOVDQU nib<>(SB), Y12
	VMOVDQU highnib<>(SB), Y11
	VMOVDQU bitshuf<>(SB), Y10
	VMOVDQU bitmask<>(SB), Y9
	VMOVDQU allones<>(SB), Y8
	ROWS_Q8_0(22, BLOCK_Q5_0(SI, Y0, Y2, X2, Y3, X3, Y4, X4); BLOCK_Q5_0(DI, Y1, Y5, X5, Y6, X6, Y7, X7), BLOCK_Q5_0(SI, Y0, Y2, X2, Y3, X3, Y4, X4))

// func dotQ4_1AVX2(w *byte, rowBytes, rows int, xq *int8, xd, xs *float32, nb int, y *float32)
TEXT ·dotQ4_1AVX2(SB), NOSPLIT, $0-64
	VMOVDQU ones16<>(SB), Y15
	VMOVDQU nib<>(SB), Y12
	ROWS_Q8_1(20, BLOCK_Q4_1(SI, Y0, X2, Y4, X4, Y5, X5, Y6, X6); BLOCK_Q4_1(DI, Y1, X3, Y7, X7, Y8, X8, Y9, X9), BLOCK_Q4_1(SI, Y0, X2, Y4, X4, Y5, X5, Y6, X6))

// func dotQ5_1AVX2(w *byte, rowBytes, rows int, xq *int8, xd, xs *float32, nb int, y *float32)
TEXT ·dotQ5_1AVX2(SB), NOSPLIT, $0-64
	VMOVDQU ones16<>(SB), Y15
	VMOVDQU nib<>(SB), Y12
	VMOVDQU bitshuf<>(SB), Y10
	VMOVDQU bitmask<>(SB), Y11
	ROWS_Q8_1(24, BLOCK_Q5_1(SI, Y0, X2, Y4, X4, Y5, X5, Y6, X6); BLOCK_Q5_1(DI, Y1, X3, Y7, X7, Y8, X8, Y9, X9), BLOCK_Q5_1(SI, Y0, X2, Y4, X4, Y5, X5, Y6, X6))

// func dotQ4_KAVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, bsums *int16, nb int, y *float32)
//
// ggml_vec_dot_q4_K_q8_K: per super-block, the 12 scale bytes are unpacked into 8 scales and 8
// mins (utmp), Σ_j sc_j·(q4·q8)_j accumulates in int32 lanes, and the mins' share
// dmin·Σ_j m_j·(q8 sum)_j comes from the Q8_K sums into a separate 4-lane accumulator.
TEXT ·dotQ4_KAVX2(SB), NOSPLIT, $0-64
	VMOVDQU nib<>(SB), Y15
	ROWS_Q8_K(144, Q4K_SHARED, Q4K_ROW, Q4K_FINISH, Y14, X14, X6)

// func dotQ6_KAVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, bsums *int16, nb int, y *float32)
//
// ggml_vec_dot_q6_K_q8_K: 6-bit quants rebuilt from ql and qh, multiplied with maddubs as
// unsigned 0..63, scaled per 16 by the int8 scales; 32·Σ sc·bsums is subtracted once per block.
TEXT ·dotQ6_KAVX2(SB), NOSPLIT, $0-64
	VMOVDQU nib<>(SB), Y15
	ROWS_Q8_K(210, Q6K_SHARED, Q6K_ROW, Q6K_FINISH, Y11, X11, X11)

// func dotF32AVX2(w *byte, rowBytes, rows int, x *float32, n int, y *float32)
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-48
	ROWS_FLOAT(LOAD_F32, 128, REDUCE_HADD, TAIL_F32)

// func dotF16AVX2(w *byte, rowBytes, rows int, x *float32, n int, y *float32)
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-48
	ROWS_FLOAT(LOAD_F16, 64, REDUCE_HADD, TAIL_F16)

// func dotBF16AVX2(w *byte, rowBytes, rows int, x *float32, n int, y *float32)
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-48
	ROWS_FLOAT(LOAD_BF16, 64, REDUCE_BF16, TAIL_BF16)

// func dotF32x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)
TEXT ·dotF32x4AVX2(SB), NOSPLIT, $256-64
	ROWS_FLOAT_X4(LOAD_F32, 128, REDUCE_HADD)

// func dotF16x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)
TEXT ·dotF16x4AVX2(SB), NOSPLIT, $256-64
	ROWS_FLOAT_X4(LOAD_F16, 64, REDUCE_HADD)

// func dotBF16x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)
TEXT ·dotBF16x4AVX2(SB), NOSPLIT, $256-64
	ROWS_FLOAT_X4(LOAD_BF16, 64, REDUCE_BF16)

// The two-row kernels have a 768-byte frame, more than a NOSPLIT function may take: they keep
// the stack check.

// func dotF32w2x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)
TEXT ·dotF32w2x4AVX2(SB), 0, $768-64
	ROWS_FLOAT_W2X4(LOAD_F32, 128, REDUCE_HADD)

// func dotF16w2x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)
TEXT ·dotF16w2x4AVX2(SB), 0, $768-64
	ROWS_FLOAT_W2X4(LOAD_F16, 64, REDUCE_HADD)

// func dotBF16w2x4AVX2(w *byte, rowBytes, rows int, x *float32, xStride, n int, y *float32, yStride int)
TEXT ·dotBF16w2x4AVX2(SB), 0, $768-64
	ROWS_FLOAT_W2X4(LOAD_BF16, 64, REDUCE_BF16)

// func dotQ8_0x4AVX2(w *byte, rowBytes, rows int, xq *int8, xqStride int, xd *float32, xdStride, nb int, y *float32, yStride int)
TEXT ·dotQ8_0x4AVX2(SB), NOSPLIT, $0-80
	VMOVDQU ones16<>(SB), Y15
	ROWS_X4(34, DECODE_Q8_0)

// func dotQ4_0x4AVX2(w *byte, rowBytes, rows int, xq *int8, xqStride int, xd *float32, xdStride, nb int, y *float32, yStride int)
TEXT ·dotQ4_0x4AVX2(SB), NOSPLIT, $0-80
	VMOVDQU ones16<>(SB), Y15
	VMOVDQU nib<>(SB), Y12
	VMOVDQU eights<>(SB), Y11
	ROWS_X4(18, DECODE_Q4_0)

// func dotQ5_0x4AVX2(w *byte, rowBytes, rows int, xq *int8, xqStride int, xd *float32, xdStride, nb int, y *float32, yStride int)
TEXT ·dotQ5_0x4AVX2(SB), NOSPLIT, $0-80
	VMOVDQU ones16<>(SB), Y15
	VMOVDQU nib<>(SB), Y12
	VMOVDQU highnib<>(SB), Y11
	VMOVDQU bitshuf<>(SB), Y10
	VMOVDQU bitmask<>(SB), Y13
	VMOVDQU allones<>(SB), Y14
	ROWS_X4(22, DECODE_Q5_0)

// func dotQ4_Kx4AVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, bsums *int16, nb int, y *float32, yStride int)
TEXT ·dotQ4_Kx4AVX2(SB), NOSPLIT, $192-72
	VMOVDQU nib<>(SB), Y15
	ROWS_KX4(144, Q4KX4_BLOCK, Q4KX4_FINISH)

// func dotQ6_Kx4AVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, bsums *int16, nb int, y *float32, yStride int)
TEXT ·dotQ6_Kx4AVX2(SB), NOSPLIT, $192-72
	VMOVDQU nib<>(SB), Y15
	ROWS_KX4(210, Q6KX4_BLOCK, Q6KX4_FINISH)
