package quant

// kernels maps each weight type to its product kernel: the portable ones, replaced at init by the
// assembly ones where the CPU has what they need (kernels_amd64.go; the purego build tag leaves
// them out).
var kernels = portableKernels

// kernels4 maps weight types to kernels that take four activation rows at once (MatMul); types
// without one run the one-row kernel per activation row.
var kernels4 = map[Type]rowsKernel4{}

// rowsKernel4 computes y[j·yRows + r] = (row r of w) · (activation row i+j) for r < rows, j < 4.
type rowsKernel4 func(y []float32, yRows int, w []byte, rowBytes, rows int, b *actBatch, i int)

// asmEnabled reports whether kernels holds the assembly kernels.
var asmEnabled bool

func kernelFor(t Type) rowsKernel { return kernels[t] }

// useAsm installs asmKernels over the portable ones.
func useAsm() {
	k := make(map[Type]rowsKernel, len(portableKernels))
	for t, f := range portableKernels {
		k[t] = f
	}
	for t, f := range asmKernels {
		k[t] = f
	}
	kernels, kernels4, asmEnabled = k, asmKernels4, len(asmKernels) > 0
}

// KernelName says which kernels products run on: "avx2" or "portable".
func KernelName() string {
	if asmEnabled {
		return "avx2"
	}
	return "portable"
}
