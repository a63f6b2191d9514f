package quant

// kernels maps each weight type to its product kernel: the portable ones, replaced at init by the
// assembly ones where the CPU has what they need (kernels_amd64.go; the purego build tag leaves
// them out).
var kernels = portableKernels

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
	kernels, asmEnabled = k, len(asmKernels) > 0
}

// KernelName says which kernels products run on: "avx2" or "portable".
func KernelName() string {
	if asmEnabled {
		return "avx2"
	}
	return "portable"
}
