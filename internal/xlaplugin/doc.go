// Package xlaplugin pins the XLA CPU PJRT plugin that GoMLX's XLA backend (built with -tags xla) runs
// on, installs it from its Python wheel into the user cache, and tells the model package where it is.
//
// The pin is lammps-jax-pjrt-cpu 0.11.2 (Apache-2.0): XLA's CPU PJRT plugin built from the XLA of jaxlib
// 0.11.2, PJRT C API 0.115. go-xla v0.1.4 speaks PJRT C API 0.83; PJRT keeps newer plugins compatible
// with older callers (struct_size checks), and this plugin passes the model's llama.cpp goldens.
// See docs/xla.md for the candidates that were compared.
//
// Install is what `go run ./examples/install-xla` runs; Installed is what model.DefaultBackend checks
// before it creates "xla:cpu". Nothing here needs cgo: the install checks that the file is an ELF shared
// library exporting GetPjrtApi, loading it is go-xla's job.
package xlaplugin
