//go:build !unix

package gguf

// mapFile reads the whole file: this platform has no mmap in the build (the weights then cost their
// file size in heap memory, still without a second copy).
func mapFile(path string) ([]byte, func() error, error) { return readWhole(path) }
