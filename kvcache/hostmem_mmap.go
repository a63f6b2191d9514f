//go:build linux || darwin || freebsd || netbsd || openbsd

package kvcache

import "syscall"

// osAlloc maps n zeroed bytes of anonymous private memory (pages cost nothing until written); mapped
// reports whether it did. When the OS refuses (out of address space or of mappings) it falls back to
// the Go heap, which then fails the way any allocation does.
func osAlloc(n int) (mem []byte, mapped bool) {
	mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n), false
	}
	return mem, true
}

func osFree(mem []byte) {
	_ = syscall.Munmap(mem) // fails only for a range that is not a mapping: nothing to free then
}
