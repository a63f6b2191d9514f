package model

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/zoomr-go/zoomr/model/quant"
)

// storedWeights are a model's weights as its checkpoint stores them: by Hugging Face tensor name, in
// the HF shape ([out, in] for matrices), row-major, in their stored type (F32, F16, BF16 or a GGUF
// block type). The host engine computes on them as they are; the graph engine widens them into
// float32 graph variables at load.
type storedWeights struct {
	t      map[string]quant.Tensor
	closer io.Closer // releases the memory the tensors view (a GGUF mapping); nil when on the heap
	// exact: F16/BF16 weights meet float32 activations as they are (a Hugging Face checkpoint, whose
	// reference is a float32 forward pass); otherwise rounded as ggml does (a GGUF file, whose
	// reference is llama.cpp).
	exact bool
}

// bytes is the total size of the stored tensors.
func (s storedWeights) bytes() int64 {
	var n int64
	for _, t := range s.t {
		n += int64(len(t.Data))
	}
	return n
}

func (s storedWeights) close() {
	if s.closer != nil {
		_ = s.closer.Close()
	}
}

// check verifies that every tensor the config calls for is present with its exact shape (an optional
// one, absent, becomes zeros) and nothing unexpected is: the model's contract with its checkpoint.
func (s storedWeights) check(c *Config) error {
	specs := c.ExpectedTensors()
	want := make(map[string]bool, len(specs))
	for _, sp := range specs {
		want[sp.Name] = true
		t, ok := s.t[sp.Name]
		if !ok {
			if sp.Optional {
				s.t[sp.Name] = zeroTensor(sp.Shape)
				continue
			}
			return fmt.Errorf("%w: missing tensor %q (shape %v)", ErrWeightMismatch, sp.Name, sp.Shape)
		}
		if !slices.Equal(t.Shape, sp.Shape) {
			if sp.Name == "model.embed_tokens.weight" || sp.Name == "lm_head.weight" {
				return fmt.Errorf("%w: tensor %q has shape %v, config (vocab_size, hidden_size) wants %v",
					ErrWeightMismatch, sp.Name, t.Shape, sp.Shape)
			}
			return fmt.Errorf("%w: tensor %q has shape %v, config wants %v", ErrWeightMismatch, sp.Name, t.Shape, sp.Shape)
		}
		if err := checkTensorBytes(sp.Name, t); err != nil {
			return err
		}
	}
	var unexpected []string
	for name := range s.t {
		switch {
		case want[name]:
		case ignoredTensor(c, name):
			delete(s.t, name)
		default:
			unexpected = append(unexpected, name)
		}
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		return fmt.Errorf("%w: unexpected tensor(s) for %s config: %s", ErrWeightMismatch, c.Arch, strings.Join(unexpected, ", "))
	}
	return nil
}

// checkTensorBytes verifies that a tensor's data is exactly its shape in its type.
func checkTensorBytes(name string, t quant.Tensor) error {
	rows, cols := 1, 1
	if len(t.Shape) > 0 {
		cols = t.Shape[len(t.Shape)-1]
		for _, d := range t.Shape[:len(t.Shape)-1] {
			rows *= d
		}
	}
	rb, err := t.Type.RowBytes(cols)
	if err != nil {
		return fmt.Errorf("%w: tensor %q: %w", ErrWeightMismatch, name, err)
	}
	if len(t.Data) != rows*rb {
		return fmt.Errorf("%w: tensor %q [%v %v] has %d bytes, want %d", ErrWeightMismatch, name, t.Type, t.Shape, len(t.Data), rows*rb)
	}
	return nil
}

func zeroTensor(shape []int) quant.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return quant.Tensor{Type: quant.F32, Shape: slices.Clone(shape), Data: make([]byte, 4*n)}
}

// floats widens a stored tensor to float32.
func floats(t quant.Tensor) ([]float32, error) {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	out := make([]float32, n)
	if err := quant.Dequantize(t.Type, t.Data, out); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWeightMismatch, err)
	}
	return out, nil
}

// matrix views a stored 2-D tensor as a quant.Matrix (no copy).
func (s storedWeights) matrix(name string) quant.Matrix {
	t := s.t[name]
	return quant.Matrix{Type: t.Type, Rows: t.Shape[0], Cols: t.Shape[1], Data: t.Data, ExactActivations: s.exact}
}

// storedFromFloat32 keeps float32 tensors (a trainer's, RandomWeights') as F32 stored weights, viewing
// their data in place.
func storedFromFloat32(weights map[string]*tensors.Tensor) (storedWeights, error) {
	s := storedWeights{t: make(map[string]quant.Tensor, len(weights)), exact: true}
	for name, t := range weights {
		var data []float32
		err := t.ConstFlatData(func(flat any) {
			if f, ok := flat.([]float32); ok {
				data = f
			}
		})
		if err != nil || data == nil {
			return s, fmt.Errorf("%w: tensor %q is %s, want float32", ErrWeightMismatch, name, t.DType())
		}
		m, err := quant.F32Matrix(data, 1, len(data))
		if err != nil {
			return s, fmt.Errorf("%w: tensor %q: %w", ErrWeightMismatch, name, err)
		}
		s.t[name] = quant.Tensor{Type: quant.F32, Shape: slices.Clone(t.Shape().Dimensions), Data: m.Data}
	}
	return s, nil
}

// safetensorsTypes maps safetensors dtypes to the types the engines compute on. F64 is narrowed to
// F32 at load.
var safetensorsTypes = map[string]quant.Type{"F32": quant.F32, "F16": quant.F16, "BF16": quant.BF16, "F64": quant.F32}

// readStored reads tensor name of f in its stored type (F64 narrowed to F32), into a buffer of
// exactly its size: the weights are held once, at their file size.
func readStored(f *SafetensorsFile, name string) (quant.Tensor, error) {
	info := f.Tensors[name]
	typ, ok := safetensorsTypes[info.DType]
	if !ok {
		return quant.Tensor{}, fmt.Errorf("%w: tensor %q has dtype %s, want F32, BF16 or F16", ErrWeightMismatch, name, info.DType)
	}
	t := quant.Tensor{Type: typ, Shape: slices.Clone(info.Shape)}
	if info.DType == "F64" {
		vals := make([]float32, info.NumElements())
		if err := f.ReadFloat32(name, vals); err != nil {
			return t, err
		}
		t.Data = make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
		}
		return t, nil
	}
	t.Data = make([]byte, info.End-info.Begin)
	if _, err := f.f.ReadAt(t.Data, info.Begin); err != nil {
		return t, fmt.Errorf("%w: reading %q: %w", ErrInvalidSafetensors, name, err)
	}
	return t, nil
}
