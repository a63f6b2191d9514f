//go:build amd64 && !purego

#include "textflag.h"

// func cpuidF16C() bool: CPUID leaf 1, ECX bit 29 (golang.org/x/sys/cpu does not report F16C).
TEXT ·cpuidF16C(SB), NOSPLIT, $0-1
	MOVL $1, AX
	XORL CX, CX
	CPUID
	SHRL $29, CX
	ANDL $1, CX
	MOVB CX, ret+0(FP)
	RET
