// Package gguf reads and writes GGUF files (versions 2 and 3), the model format of llama.cpp and
// ollama: typed metadata, tensor infos, and the tensor data, memory-mapped.
//
// # Layout of a file
//
//	"GGUF" | version u32 | tensor count u64 | key/value count u64
//	key/values:   key (u64 length + bytes) | value type u32 | value (arrays: element type u32, count u64, elements)
//	tensor infos: name | dimension count u32 | dims u64 × n (ne0, the row length, first) | ggml type u32 | offset u64
//	padding to general.alignment (default 32)
//	data section: each tensor at its offset, a multiple of the alignment
//
// Open maps the file read-only and returns a File whose TensorInfo.Data are slices of the mapping:
// weights are never copied, so a model costs its file size (on platforms without mmap the file is
// read into memory once). Dims are in ggml order; Shape gives the row-major shape that Hugging Face
// uses ([rows, cols]).
//
// # Robustness
//
// A GGUF comes from a download: every count and length is checked against the bytes that are left
// before anything is allocated, so a corrupt file costs at most about ten times its own size in
// memory (a uint8 array becomes 8-byte slots) and never panics. Errors wrap ErrInvalidFile and one of ErrBadMagic, ErrUnsupportedVersion,
// ErrUnknownType, ErrTruncated, ErrBadMetadata or ErrBadTensor, with the numbers involved. Tensor
// infos are checked as llama.cpp's gguf.cpp checks them: at most 4 dimensions, no overflowing
// element count, rows of whole blocks, offsets aligned, data inside the file, no two tensors
// overlapping, no duplicate names or keys. FuzzParse holds it (its corpus is committed).
//
// # Writing
//
// WriteFile writes v3 with the metadata in the order given and the tensors aligned to 32 bytes
// (llama.cpp's default), streaming each tensor's data from a byte slice or a callback.
//
// # Why not a library
//
// github.com/gpustack/gguf-parser-go (v0.28.2) was evaluated first. It parses metadata well but
// closes the file after parsing, so tensor data would still need our own mapping; it has no
// writer; it brings 11 modules (HTTP clients, json-iterator, x/crypto, x/tools) for a format this
// package decodes in a few hundred lines; and 90 s of go-fuzz on its ParseGGUFFile stalled the
// fuzzer's workers for up to a minute at a time on crafted inputs. This package keeps the
// format's rules in one place and bounds every allocation by the file size.
package gguf
