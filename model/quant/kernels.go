package quant

// kernels maps each weight type to its product kernel: the portable ones, replaced at init by
// assembly where the CPU has what it needs (kernels_amd64.go).
var kernels = portableKernels

func kernelFor(t Type) rowsKernel { return kernels[t] }
