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

// Q4_K: one 64-value chunk j of a super-block: low nibbles of the 32 bytes at qo(SI) times the
// activation quants at ao(DI), high nibbles times those at ah(DI), each pair sum scaled by its
// sub-block's 6-bit scale (int16 words broadcast by the k4shuf rows sl and sh from Y7); added to Y9.
#define Q4K_CHUNK(sl, sh, qo, ao, ah) \
	VPSHUFB    k4shuf<>+sl(SB), Y7, Y10; \
	VPSHUFB    k4shuf<>+sh(SB), Y7, Y11; \
	VMOVDQU    qo(SI), Y12; \
	VPSRLW     $4, Y12, Y13; \
	VPAND      Y15, Y12, Y12; \
	VPAND      Y15, Y13, Y13; \
	VPMADDUBSW ao(DI), Y12, Y12; \
	VPMADDWD   Y10, Y12, Y12; \
	VPMADDUBSW ah(DI), Y13, Y13; \
	VPMADDWD   Y11, Y13, Y13; \
	VPADDD     Y13, Y12, Y12; \
	VPADDD     Y12, Y9, Y9

// Q6_K: one 128-value half of a super-block: ql bytes at lo(SI) and lo+32(SI), high bits at
// hi(SI), activation quants at ao..ao+96(DI), int8 scales in X14 picked by k6shuf rows s0..s3.
// Quants are 0..63 here; the -32 comes off once per super-block through the Q8_K sums.
#define Q6K_HALF(lo, lo2, hi, a0, a1, a2, a3, s0, s1, s2, s3) \
	VMOVDQU    lo(SI), Y3; \
	VMOVDQU    lo2(SI), Y4; \
	VMOVDQU    hi(SI), Y5; \
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

// The float kernels: func(w *byte, rowBytes, rows int, x *float32, n int, y *float32). LOAD(off, r)
// widens 8 weights at off(SI) to float32s in r; STEP is the weight bytes per 32 values. The main
// loop runs ggml's GGML_F32/F16 AVX pattern, four 8-lane FMA accumulators over 32 values; REDUCE
// folds them into lane 0 of X0; the n%32 leftovers are added one by one by TAIL.
#define LOAD_F32(off, r) VMOVUPS off(SI), r
#define LOAD_F16(off, r) VCVTPH2PS off(SI), r
#define LOAD_BF16(off, r) VPMOVZXWD off(SI), r; VPSLLD $16, r, r

// GGML_F32x8_REDUCE: (x0+x2) + (x1+x3), then the halves, then two horizontal adds.
#define REDUCE_HADD \
	VADDPS       Y2, Y0, Y0; \
	VADDPS       Y3, Y1, Y1; \
	VADDPS       Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0; \
	VHADDPS      X0, X0, X0; \
	VHADDPS      X0, X0, X0

// ggml_vec_dot_bf16's AVX2 reduction: (c1+c3) + (c2+c4), then hsum_float_8.
#define REDUCE_BF16 \
	VADDPS Y2, Y0, Y0; \
	VADDPS Y3, Y1, Y1; \
	VADDPS Y1, Y0, Y0; \
	HSUM8(Y0, X0, X1); \
	VMOVAPS X1, X0

#define ROWS_FLOAT(LOAD, STEP, WSIZE, REDUCE, TAIL) \
	MOVQ    w+0(FP), R12; \
	MOVQ    rowBytes+8(FP), R10; \
	MOVQ    rows+16(FP), R11; \
	MOVQ    y+40(FP), R9; \
row: \
	MOVQ    R12, SI; \
	MOVQ    x+24(FP), BX; \
	MOVQ    n+32(FP), CX; \
	VXORPS  Y0, Y0, Y0; \
	VXORPS  Y1, Y1, Y1; \
	VXORPS  Y2, Y2, Y2; \
	VXORPS  Y3, Y3, Y3; \
	CMPQ    CX, $32; \
	JLT     reduce; \
loop32: \
	LOAD(0, Y4); \
	VFMADD231PS 0(BX), Y4, Y0; \
	LOAD(STEP/4, Y5); \
	VFMADD231PS 32(BX), Y5, Y1; \
	LOAD(STEP/2, Y6); \
	VFMADD231PS 64(BX), Y6, Y2; \
	LOAD(3*STEP/4, Y7); \
	VFMADD231PS 96(BX), Y7, Y3; \
	ADDQ    $STEP, SI; \
	ADDQ    $128, BX; \
	SUBQ    $32, CX; \
	CMPQ    CX, $32; \
	JGE     loop32; \
reduce: \
	REDUCE; \
	TESTQ   CX, CX; \
	JZ      store; \
	TAIL; \
store: \
	VMOVSS  X0, (R9); \
	ADDQ    $4, R9; \
	ADDQ    R10, R12; \
	DECQ    R11; \
	JNZ     row; \
	VZEROUPPER; \
	RET

// Leftovers: F32 accumulates in float32 (sumf += x*y); F16/BF16 in float64 (ggml_float).
#define TAIL_F32 \
tail: \
	VMOVSS      (SI), X2; \
	VFMADD231SS (BX), X2, X0; \
	ADDQ        $4, SI; \
	ADDQ        $4, BX; \
	DECQ        CX; \
	JNZ         tail

#define TAIL_F16 \
	VCVTSS2SD X0, X0, X0; \
tail: \
	MOVWLZX   (SI), AX; \
	VMOVD     AX, X2; \
	VCVTPH2PS X2, X2; \
	VMULSS    (BX), X2, X2; \
	VCVTSS2SD X2, X2, X2; \
	VADDSD    X2, X0, X0; \
	ADDQ      $2, SI; \
	ADDQ      $4, BX; \
	DECQ      CX; \
	JNZ       tail; \
	VCVTSD2SS X0, X0, X0

#define TAIL_BF16 \
	VCVTSS2SD X0, X0, X0; \
tail: \
	MOVWLZX   (SI), AX; \
	SHLL      $16, AX; \
	VMOVD     AX, X2; \
	VMULSS    (BX), X2, X2; \
	VCVTSS2SD X2, X2, X2; \
	VADDSD    X2, X0, X0; \
	ADDQ      $2, SI; \
	ADDQ      $4, BX; \
	DECQ      CX; \
	JNZ       tail; \
	VCVTSD2SS X0, X0, X0

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
	MOVQ    w+0(FP), R12
	MOVQ    rowBytes+8(FP), R10
	MOVQ    rows+16(FP), R11
	MOVQ    y+56(FP), R9
	VMOVDQU nib<>(SB), Y15

row:
	MOVQ   R12, SI
	MOVQ   xq+24(FP), DI
	MOVQ   xd+32(FP), DX
	MOVQ   bsums+40(FP), R8
	MOVQ   nb+48(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS X1, X1, X1

block:
	// utmp: X7 = [sc0..7 | m0..7] as bytes, then widened to 16 words in Y7.
	MOVL    4(SI), AX
	MOVL    8(SI), BX
	MOVL    12(SI), R13
	MOVL    AX, R14
	SHRL    $6, R14
	ANDL    $0x03030303, R14
	SHLL    $4, R14
	ANDL    $0x3f3f3f3f, AX
	VMOVD   AX, X7
	MOVL    R13, AX
	ANDL    $0x0f0f0f0f, AX
	ORL     R14, AX
	VPINSRD $1, AX, X7, X7
	MOVL    BX, AX
	ANDL    $0x3f3f3f3f, AX
	VPINSRD $2, AX, X7, X7
	SHRL    $6, BX
	ANDL    $0x03030303, BX
	SHLL    $4, BX
	SHRL    $4, R13
	ANDL    $0x0f0f0f0f, R13
	ORL     BX, R13
	VPINSRD $3, R13, X7, X7
	VPMOVZXBW X7, Y7

	// mins: acc_m -= (d_x·dmin)·Σ_j m_j·(bsums_2j + bsums_2j+1)
	VEXTRACTI128 $1, Y7, X8
	VMOVDQU      (R8), Y5
	VEXTRACTI128 $1, Y5, X6
	VPHADDW      X6, X5, X5
	VPMADDWD     X5, X8, X8
	VCVTDQ2PS    X8, X8
	VBROADCASTSS (DX), Y4
	VPBROADCASTW (SI), X2
	VCVTPH2PS    X2, Y2
	VMULPS       Y2, Y4, Y2
	VPBROADCASTW 2(SI), X3
	VCVTPH2PS    X3, X3
	VMULPS       X3, X4, X3
	VFNMADD231PS X8, X3, X1

	VINSERTI128 $1, X7, Y7, Y7
	VPXOR       Y9, Y9, Y9
	Q4K_CHUNK(0, 32, 16, 0, 32)
	Q4K_CHUNK(64, 96, 48, 64, 96)
	Q4K_CHUNK(128, 160, 80, 128, 160)
	Q4K_CHUNK(192, 224, 112, 192, 224)
	VCVTDQ2PS   Y9, Y9
	VFMADD231PS Y9, Y2, Y0

	ADDQ $144, SI
	ADDQ $256, DI
	ADDQ $4, DX
	ADDQ $32, R8
	DECQ CX
	JNZ  block

	VMOVHLPS  X1, X1, X2
	VADDPS    X2, X1, X1
	VMOVSHDUP X1, X2
	VADDSS    X2, X1, X1
	HSUM8(Y0, X0, X3)
	VADDSS    X1, X3, X3
	VMOVSS    X3, (R9)
	ADDQ      $4, R9
	ADDQ      R10, R12
	DECQ      R11
	JNZ       row
	VZEROUPPER
	RET

// func dotQ6_KAVX2(w *byte, rowBytes, rows int, xq *int8, xd *float32, bsums *int16, nb int, y *float32)
//
// ggml_vec_dot_q6_K_q8_K: 6-bit quants rebuilt from ql and qh, multiplied with maddubs as
// unsigned 0..63, scaled per 16 by the int8 scales; 32·Σ sc·bsums is subtracted once per block.
TEXT ·dotQ6_KAVX2(SB), NOSPLIT, $0-64
	MOVQ    w+0(FP), R12
	MOVQ    rowBytes+8(FP), R10
	MOVQ    rows+16(FP), R11
	MOVQ    y+56(FP), R9
	VMOVDQU nib<>(SB), Y15

row:
	MOVQ   R12, SI
	MOVQ   xq+24(FP), DI
	MOVQ   xd+32(FP), DX
	MOVQ   bsums+40(FP), R8
	MOVQ   nb+48(FP), CX
	VXORPS Y0, Y0, Y0

block:
	VBROADCASTSS (DX), Y4
	VPBROADCASTW 208(SI), X2
	VCVTPH2PS    X2, Y2
	VMULPS       Y2, Y4, Y2
	VMOVDQU      192(SI), X14
	VPMOVSXBW    X14, Y13
	VPMADDWD     (R8), Y13, Y13
	VPSLLD       $5, Y13, Y13
	VPXOR        Y1, Y1, Y1
	Q6K_HALF(0, 32, 128, 0, 32, 64, 96, 0, 16, 32, 48)
	Q6K_HALF(64, 96, 160, 128, 160, 192, 224, 64, 80, 96, 112)
	VPSUBD       Y13, Y1, Y1
	VCVTDQ2PS    Y1, Y1
	VFMADD231PS  Y1, Y2, Y0

	ADDQ $210, SI
	ADDQ $256, DI
	ADDQ $4, DX
	ADDQ $32, R8
	DECQ CX
	JNZ  block

	HSUM8(Y0, X0, X3)
	VMOVSS X3, (R9)
	ADDQ   $4, R9
	ADDQ   R10, R12
	DECQ   R11
	JNZ    row
	VZEROUPPER
	RET

// func dotF32AVX2(w *byte, rowBytes, rows int, x *float32, n int, y *float32)
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-48
	ROWS_FLOAT(LOAD_F32, 128, 4, REDUCE_HADD, TAIL_F32)

// func dotF16AVX2(w *byte, rowBytes, rows int, x *float32, n int, y *float32)
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-48
	ROWS_FLOAT(LOAD_F16, 64, 2, REDUCE_HADD, TAIL_F16)

// func dotBF16AVX2(w *byte, rowBytes, rows int, x *float32, n int, y *float32)
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-48
	ROWS_FLOAT(LOAD_BF16, 64, 2, REDUCE_BF16, TAIL_BF16)
