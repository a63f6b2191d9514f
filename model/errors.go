package model

import "errors"

// Sentinel errors. Every error this package returns wraps one of them (test with errors.Is) and says which
// tensor, file or number was at fault.
var (
	// ErrUnsupportedArchitecture: the config's model_type (or rope scaling) is not one this package runs.
	ErrUnsupportedArchitecture = errors.New("model: unsupported architecture")
	// ErrInvalidConfig: config.json is unreadable, not JSON, or has impossible numbers.
	ErrInvalidConfig = errors.New("model: invalid config")
	// ErrInvalidSafetensors: a weights file is truncated, its header lies, or its tensors overlap.
	ErrInvalidSafetensors = errors.New("model: invalid safetensors")
	// ErrInvalidGGUF: a GGUF file is malformed (truncated, bad magic, an unknown type; it also wraps
	// gguf.ErrInvalidFile and its specific cause).
	ErrInvalidGGUF = errors.New("model: invalid GGUF")
	// ErrWeightMismatch: a tensor is missing, unexpected, or has the wrong shape or dtype for the config.
	ErrWeightMismatch = errors.New("model: weights do not match config")
	// ErrInvalidInput: a token id, position, or attention context that the model cannot take.
	ErrInvalidInput = errors.New("model: invalid input")
	// ErrDevices: a model cannot be split across the devices asked for (WithDevices).
	ErrDevices = errors.New("model: cannot split across devices")
	// ErrBackend: the compute backend failed (graph building or execution).
	ErrBackend = errors.New("model: backend error")
)
