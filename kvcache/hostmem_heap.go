//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package kvcache

// osAlloc falls back to the Go heap where anonymous mappings are not available through syscall.
func osAlloc(n int) (mem []byte, mapped bool) { return make([]byte, n), false }

func osFree([]byte) {}
