//go:build !amd64 || purego

package quant

// No assembly kernels on this platform (or with the purego tag): the portable ones run.
var asmKernels = map[Type]rowsKernel{}
