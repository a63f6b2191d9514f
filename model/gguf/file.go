package gguf

import (
	"fmt"
	"os"
)

// File is a parsed GGUF file. Its tensors' Data slices point into the file's read-only memory
// mapping (or into the bytes given to Parse): they stay valid until Close and must not be written.
type File struct {
	Version uint32
	// KV is the metadata in file order.
	KV []KV
	// Tensors are the tensor infos in file order.
	Tensors []TensorInfo
	// Alignment of the data section and of every tensor's offset (general.alignment or 32).
	Alignment int64
	// DataOffset is where the data section starts in the file.
	DataOffset int64

	index       map[string]int
	tensorIndex map[string]int
	release     func() error // unmaps the file; nil for Parse
}

// Open maps the file at path read-only and parses it. On unix the tensor data are never copied:
// pages are read from disk when first touched and can be dropped by the kernel under memory
// pressure, so a model's weights cost their file size at most. Elsewhere the file is read into
// memory. Close releases the mapping.
func Open(path string) (*File, error) {
	data, release, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(data)
	if err != nil {
		release()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.release = release
	return f, nil
}

// Close releases the mapping; the tensors' Data must not be used afterwards. Closing twice is a
// no-op.
func (f *File) Close() error {
	if f.release == nil {
		return nil
	}
	r := f.release
	f.release = nil
	for i := range f.Tensors {
		f.Tensors[i].Data = nil
	}
	return r()
}

// Get returns the value of key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.index[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// String returns a string value, if key holds one.
func (f *File) String(key string) (string, bool) {
	v, ok := f.Get(key)
	if !ok {
		return "", false
	}
	return v.String()
}

// Int returns an integer value (any integer type), if key holds one.
func (f *File) Int(key string) (int64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.Int()
}

// Float returns a float value, if key holds one.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.Float()
}

// Bool returns a bool value, if key holds one.
func (f *File) Bool(key string) (bool, bool) {
	v, ok := f.Get(key)
	if !ok {
		return false, false
	}
	return v.Bool()
}

// Array returns an array value, if key holds one.
func (f *File) Array(key string) (*Array, bool) {
	v, ok := f.Get(key)
	if !ok {
		return nil, false
	}
	return v.Array()
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// readWhole is the fallback where memory mapping is not available.
func readWhole(path string) ([]byte, func() error, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return nil }, nil
}
