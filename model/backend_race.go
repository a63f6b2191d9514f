//go:build race

package model

// GoMLX v0.26's pure-Go backend has data races in its parallel op scheduler (simplego/exec.go reads
// execBuf.numUsed outside the lock that guards its writes; they cost extra copies, not wrong values).
// Under the race detector the default backend runs ops sequentially (matmuls still use all cores) so
// that `go test -race` checks this project's code rather than the backend's scheduler.
func init() { defaultBackendConfig = "go:parallelism=-1,ops_sequential" }
