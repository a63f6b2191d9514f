package model

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Loading a GGUF file through Load (ggufload.go maps it). The engines take it as they take a
// safetensors checkpoint, with two differences:
//
//   - the host engine computes on the tensors where they lie: slices of the file's read-only memory
//     mapping (no copy; only llama's un-permuted q/k matrices are heap copies), kept mapped until
//     Model.Close; its quantized products round the activations as ggml does, so its reference is
//     llama.cpp on the same file;
//   - the graph engine dequantizes every tensor into a float32 variable at load and unmaps the file
//     at once: it needs 4 bytes per parameter, and its products use the activations as they are.

// ggufMagic starts every GGUF file.
const ggufMagic = "GGUF"

// FindGGUF returns the GGUF file that path names: path itself when it is a GGUF file, or the one
// .gguf file of a directory without config.json. It returns "" (and no error) for anything else,
// such as a Hugging Face model directory. A directory holding several GGUF files is ambiguous:
// ErrInvalidConfig names them.
func FindGGUF(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if !info.IsDir() {
		isGGUF, err := hasGGUFMagic(path)
		if err != nil || !isGGUF {
			return "", err
		}
		return path, nil
	}
	if _, err := os.Stat(filepath.Join(path, "config.json")); err == nil {
		return "", nil
	}
	files, err := filepath.Glob(filepath.Join(path, "*.gguf"))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	switch len(files) {
	case 0:
		return "", nil
	case 1:
		return files[0], nil
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	return "", fmt.Errorf("%w: %s has no config.json and %d GGUF files (%s): name one", ErrInvalidConfig, path,
		len(files), strings.Join(names, ", "))
}

// hasGGUFMagic reports whether the file at path starts with the GGUF magic.
func hasGGUFMagic(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	defer f.Close()
	magic := make([]byte, len(ggufMagic))
	if _, err := io.ReadFull(f, magic); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		return false, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return string(magic) == ggufMagic, nil
}

// loadGGUFStored opens a GGUF model as stored weights that view the file's mapping (closing them
// unmaps it). Every error wraps one of this package's sentinels: a malformed file ErrInvalidGGUF
// (and gguf.ErrInvalidFile with its specific cause). A panic while mapping a hostile file is a bug,
// but it is returned as ErrInvalidGGUF rather than crossing the API.
func loadGGUFStored(path string) (cfg *Config, s storedWeights, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.close()
			cfg, s, err = nil, storedWeights{}, fmt.Errorf("%w: %s: %v", ErrInvalidGGUF, path, r)
		}
	}()
	cfg, tensors, closer, err := readGGUFModel(path)
	if err != nil {
		if !isModelError(err) {
			err = fmt.Errorf("%w: %w", ErrInvalidGGUF, err)
		}
		return nil, storedWeights{}, err
	}
	s = storedWeights{t: tensors, closer: closer}
	if err := s.check(cfg); err != nil {
		s.close()
		return nil, storedWeights{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, s, nil
}

// isModelError reports whether err already wraps one of this package's sentinels.
func isModelError(err error) bool {
	for _, sentinel := range []error{ErrUnsupportedArchitecture, ErrInvalidConfig, ErrInvalidSafetensors,
		ErrWeightMismatch, ErrInvalidInput, ErrBackend, ErrInvalidGGUF} {
		if errors.Is(err, sentinel) {
			return true
		}
	}
	return false
}
