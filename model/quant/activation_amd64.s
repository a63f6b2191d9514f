//go:build amd64 && !purego

#include "textflag.h"

// AVX2 activation quantizers. quantizeQ8AVX2 is ggml's AVX2 quantize_row_q8_1 (which is
// quantize_row_q8_0 plus s), instruction for instruction; quantizeQ8KAVX2 vectorizes
// quantize_row_q8_K_ref with identical results (its nearest_int is round-half-even, as VCVTPS2DQ
// under the default MXCSR); roundF16AVX2 and roundBF16AVX2 round to half / bfloat16 and back as
// ggml's F16C and reference conversions do.

DATA absmask<>+0(SB)/8, $0x7fffffff7fffffff
DATA absmask<>+8(SB)/8, $0x7fffffff7fffffff
DATA absmask<>+16(SB)/8, $0x7fffffff7fffffff
DATA absmask<>+24(SB)/8, $0x7fffffff7fffffff
GLOBL absmask<>(SB), RODATA|NOPTR, $32

// _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7): undoes the lane interleave of the packs.
DATA packperm<>+0(SB)/8, $0x0000000400000000
DATA packperm<>+8(SB)/8, $0x0000000500000001
DATA packperm<>+16(SB)/8, $0x0000000600000002
DATA packperm<>+24(SB)/8, $0x0000000700000003
GLOBL packperm<>(SB), RODATA|NOPTR, $32

DATA ones8<>+0(SB)/8, $0x0101010101010101
DATA ones8<>+8(SB)/8, $0x0101010101010101
DATA ones8<>+16(SB)/8, $0x0101010101010101
DATA ones8<>+24(SB)/8, $0x0101010101010101
GLOBL ones8<>(SB), RODATA|NOPTR, $32

DATA ones16q<>+0(SB)/8, $0x0001000100010001
DATA ones16q<>+8(SB)/8, $0x0001000100010001
DATA ones16q<>+16(SB)/8, $0x0001000100010001
DATA ones16q<>+24(SB)/8, $0x0001000100010001
GLOBL ones16q<>(SB), RODATA|NOPTR, $32

DATA c127<>+0(SB)/4, $127.0
GLOBL c127<>(SB), RODATA|NOPTR, $4

DATA cm127<>+0(SB)/4, $-127.0
GLOBL cm127<>(SB), RODATA|NOPTR, $4

DATA c1<>+0(SB)/4, $1.0
GLOBL c1<>(SB), RODATA|NOPTR, $4

DATA bf16round<>+0(SB)/8, $0x00007fff00007fff
DATA bf16round<>+8(SB)/8, $0x00007fff00007fff
DATA bf16round<>+16(SB)/8, $0x00007fff00007fff
DATA bf16round<>+24(SB)/8, $0x00007fff00007fff
GLOBL bf16round<>(SB), RODATA|NOPTR, $32

DATA one32<>+0(SB)/8, $0x0000000100000001
DATA one32<>+8(SB)/8, $0x0000000100000001
DATA one32<>+16(SB)/8, $0x0000000100000001
DATA one32<>+24(SB)/8, $0x0000000100000001
GLOBL one32<>(SB), RODATA|NOPTR, $32

DATA himask<>+0(SB)/8, $0xffff0000ffff0000
DATA himask<>+8(SB)/8, $0xffff0000ffff0000
DATA himask<>+16(SB)/8, $0xffff0000ffff0000
DATA himask<>+24(SB)/8, $0xffff0000ffff0000
GLOBL himask<>(SB), RODATA|NOPTR, $32

DATA expinf<>+0(SB)/8, $0x7f8000007f800000
DATA expinf<>+8(SB)/8, $0x7f8000007f800000
DATA expinf<>+16(SB)/8, $0x7f8000007f800000
DATA expinf<>+24(SB)/8, $0x7f8000007f800000
GLOBL expinf<>(SB), RODATA|NOPTR, $32

DATA quietbit<>+0(SB)/8, $0x0040000000400000
DATA quietbit<>+8(SB)/8, $0x0040000000400000
DATA quietbit<>+16(SB)/8, $0x0040000000400000
DATA quietbit<>+24(SB)/8, $0x0040000000400000
GLOBL quietbit<>(SB), RODATA|NOPTR, $32

// func quantizeQ8AVX2(x *float32, nb int, q *int8, d, s *float32)
TEXT ·quantizeQ8AVX2(SB), NOSPLIT, $0-40
	MOVQ    x+0(FP), SI
	MOVQ    nb+8(FP), CX
	MOVQ    q+16(FP), DI
	MOVQ    d+24(FP), DX
	MOVQ    s+32(FP), R8
	VMOVDQU absmask<>(SB), Y15
	VMOVDQU packperm<>(SB), Y14

block:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS  Y15, Y0, Y4
	VANDPS  Y15, Y1, Y5
	VMAXPS  Y5, Y4, Y4
	VANDPS  Y15, Y2, Y5
	VMAXPS  Y5, Y4, Y4
	VANDPS  Y15, Y3, Y5
	VMAXPS  Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS  X4, X5, X5
	VMOVHLPS X5, X5, X4
	VMAXPS  X4, X5, X5
	VMOVSHDUP X5, X4
	VMAXSS  X4, X5, X5           // X5 = amax

	VDIVSS  c127<>(SB), X5, X6   // d = amax/127
	VCVTPS2PH $0, X6, X7         // d as the stored half
	VCVTPH2PS X7, X7
	VMOVSS  X7, (DX)
	VXORPS  X8, X8, X8
	VUCOMISS X8, X5
	JEQ     zeroid
	VMOVSS  c127<>(SB), X9
	VDIVSS  X5, X9, X9           // id = 127/amax
	JMP     scale
zeroid:
	VXORPS  X9, X9, X9
scale:
	VBROADCASTSS X9, Y9
	VMULPS  Y9, Y0, Y0
	VMULPS  Y9, Y1, Y1
	VMULPS  Y9, Y2, Y2
	VMULPS  Y9, Y3, Y3
	VROUNDPS $0, Y0, Y0
	VROUNDPS $0, Y1, Y1
	VROUNDPS $0, Y2, Y2
	VROUNDPS $0, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3

	// s = half(d · Σq), with d unrounded (hsum_i32_8 of i0+i1+i2+i3)
	VPADDD  Y1, Y0, Y4
	VPADDD  Y3, Y2, Y5
	VPADDD  Y5, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPADDD  X5, X4, X4
	VPUNPCKHQDQ X4, X4, X5
	VPADDD  X4, X5, X5
	VPSHUFD $0xb1, X5, X4
	VPADDD  X4, X5, X5
	VCVTDQ2PS X5, X5
	VMULSS  X5, X6, X5
	VCVTPS2PH $0, X5, X5
	VCVTPH2PS X5, X5
	VMOVSS  X5, (R8)

	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD  Y0, Y14, Y0
	VMOVDQU Y0, (DI)

	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ $4, DX
	ADDQ $4, R8
	DECQ CX
	JNZ  block
	VZEROUPPER
	RET

// func quantizeQ8KAVX2(x *float32, nb int, q *int8, d *float32, bsums *int16)
TEXT ·quantizeQ8KAVX2(SB), NOSPLIT, $0-40
	MOVQ    x+0(FP), SI
	MOVQ    nb+8(FP), CX
	MOVQ    q+16(FP), DI
	MOVQ    d+24(FP), DX
	MOVQ    bsums+32(FP), R8
	VMOVDQU absmask<>(SB), Y15
	VMOVDQU packperm<>(SB), Y14

block:
	// amax over the 256 values
	VXORPS  Y4, Y4, Y4
	XORQ    AX, AX
amax:
	VANDPS  (SI)(AX*1), Y15, Y5
	VMAXPS  Y5, Y4, Y4
	ADDQ    $32, AX
	CMPQ    AX, $1024
	JLT     amax
	VEXTRACTF128 $1, Y4, X5
	VMAXPS  X4, X5, X5
	VMOVHLPS X5, X5, X4
	VMAXPS  X4, X5, X5
	VMOVSHDUP X5, X4
	VMAXSS  X4, X5, X5
	VXORPS  X8, X8, X8
	VUCOMISS X8, X5
	JEQ     zero
	JP      zero                 // NaN amax: the reference's "ax > amax" never holds either

	// max: the first value whose magnitude is amax (the reference keeps the first on ties)
	VBROADCASTSS X5, Y5
	XORQ    AX, AX
find:
	VANDPS  (SI)(AX*1), Y15, Y6
	VCMPPS  $0, Y5, Y6, Y6
	VMOVMSKPS Y6, BX
	TESTL   BX, BX
	JNZ     found
	ADDQ    $32, AX
	JMP     find
found:
	BSFL    BX, BX
	LEAQ    (AX)(BX*4), AX
	VMOVSS  (SI)(AX*1), X6       // max
	VMOVSS  cm127<>(SB), X7
	VDIVSS  X6, X7, X7           // iscale = -127/max
	VMOVSS  c1<>(SB), X9
	VDIVSS  X7, X9, X9           // d = 1/iscale
	VMOVSS  X9, (DX)
	VBROADCASTSS X7, Y7

	XORQ    AX, AX
quant:
	VMULPS  (SI)(AX*4), Y7, Y0
	VMULPS  32(SI)(AX*4), Y7, Y1
	VMULPS  64(SI)(AX*4), Y7, Y2
	VMULPS  96(SI)(AX*4), Y7, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD  Y0, Y14, Y0
	VMOVDQU Y0, (DI)(AX*1)
	// the two sums of 16
	VMOVDQU ones8<>(SB), Y1
	VPMADDUBSW Y0, Y1, Y1
	VPMADDWD ones16q<>(SB), Y1, Y1
	VPHADDD Y1, Y1, Y1
	VPHADDD Y1, Y1, Y1
	VMOVD   X1, BX
	MOVW    BX, (R8)
	VEXTRACTI128 $1, Y1, X1
	VMOVD   X1, BX
	MOVW    BX, 2(R8)
	ADDQ    $4, R8
	ADDQ    $32, AX
	CMPQ    AX, $256
	JLT     quant
	JMP     next

zero:
	MOVL    $0, (DX)
	VPXOR   Y0, Y0, Y0
	XORQ    AX, AX
zeroq:
	VMOVDQU Y0, (DI)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, $256
	JLT     zeroq
	VMOVDQU Y0, (R8)
	ADDQ    $32, R8

next:
	ADDQ $1024, SI
	ADDQ $256, DI
	ADDQ $4, DX
	DECQ CX
	JNZ  block
	VZEROUPPER
	RET

// func roundF16AVX2(dst, src *float32, n int): dst = half(src) widened, n a multiple of 8.
TEXT ·roundF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
loop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X0
	VCVTPH2PS X0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  loop
	VZEROUPPER
	RET

// func roundBF16AVX2(dst, src *float32, n int): dst = bfloat16(src) widened (round half to even,
// NaNs made quiet), n a multiple of 8.
TEXT ·roundBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VMOVDQU absmask<>(SB), Y15
	VMOVDQU expinf<>(SB), Y14
	VMOVDQU himask<>(SB), Y13
loop:
	VMOVDQU (SI), Y0
	VPSRLD  $16, Y0, Y1
	VPAND   one32<>(SB), Y1, Y1
	VPADDD  bf16round<>(SB), Y1, Y1
	VPADDD  Y0, Y1, Y1
	VPAND   Y13, Y1, Y1          // rounded
	VPAND   Y15, Y0, Y2
	VPCMPGTD Y14, Y2, Y2         // NaN lanes
	VPOR    quietbit<>(SB), Y0, Y3
	VPAND   Y13, Y3, Y3          // quiet NaN
	VPBLENDVB Y2, Y3, Y1, Y1
	VMOVDQU Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  loop
	VZEROUPPER
	RET
