package model

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/zoomr-go/zoomr/model/gguf"
	"github.com/zoomr-go/zoomr/model/quant"
	"github.com/zoomr-go/zoomr/model/tokenizer"
)

// Writing a Hugging Face checkpoint as a GGUF that llama.cpp loads: the metadata convert_hf_to_gguf.py
// writes, the tokenizer (tokenizer.json, or another GGUF's tokenizer.* keys), and the weights
// quantized by ggml's reference quantizers (model/quant) with llama-quantize's choice of type per
// tensor, so the file is what `convert_hf_to_gguf.py --outtype f32` followed by `llama-quantize`
// (no importance matrix) would write.

// GGUFFileType is an output type of WriteGGUF: llama.cpp's llama_ftype.
type GGUFFileType struct {
	Name  string     // as the -type flag spells it
	ID    uint32     // general.file_type
	Base  quant.Type // the default type of 2-D weights
	Mixed bool       // Q4_K_M: some tensors get Q6_K (llama_tensor_get_type)
}

// GGUFFileTypes are the output types WriteGGUF supports.
var GGUFFileTypes = []GGUFFileType{
	{"f32", 0, quant.F32, false},
	{"f16", 1, quant.F16, false},
	{"bf16", 32, quant.BF16, false},
	{"q8_0", 7, quant.Q8_0, false},
	{"q4_0", 2, quant.Q4_0, false},
	{"q4_1", 3, quant.Q4_1, false},
	{"q4_k_m", 15, quant.Q4_K, true},
}

// ParseGGUFFileType looks a -type name up (case-insensitive).
func ParseGGUFFileType(name string) (GGUFFileType, error) {
	for _, ft := range GGUFFileTypes {
		if strings.EqualFold(name, ft.Name) {
			return ft, nil
		}
	}
	names := make([]string, len(GGUFFileTypes))
	for i, ft := range GGUFFileTypes {
		names[i] = ft.Name
	}
	return GGUFFileType{}, fmt.Errorf("%w: GGUF type %q (supported: %s)", quant.ErrType, name, strings.Join(names, ", "))
}

// GGUFWriteOptions configure WriteGGUF.
type GGUFWriteOptions struct {
	Type GGUFFileType
	// Vocab, when set, is a GGUF file whose tokenizer.* metadata is copied (padded to vocab_size, as
	// llama.cpp's converter pads), instead of converting the directory's tokenizer.json.
	Vocab string
	// Name is general.name (default: the architecture).
	Name string
}

// GGUFSummary describes a written file.
type GGUFSummary struct {
	Arch    string         // general.architecture
	Tensors int            // tensors written
	Types   map[string]int // tensors per ggml type
}

// WriteGGUF converts the Hugging Face model directory dir (config.json, safetensors, tokenizer.json
// and tokenizer_config.json unless opts.Vocab is set) into a GGUF file at out. Tensors are read,
// converted and written one at a time.
func WriteGGUF(dir, out string, opts GGUFWriteOptions) (*GGUFSummary, error) {
	if opts.Type.Name == "" {
		return nil, fmt.Errorf("%w: no GGUF output type", quant.ErrType)
	}
	c, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	byName, files, err := openWeightFiles(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if err := checkWeightNames(c, byName); err != nil {
		return nil, err
	}
	kvs, err := ggufMetadata(c, opts)
	if err != nil {
		return nil, err
	}
	tok, err := ggufTokenizerKVs(dir, c, opts.Vocab)
	if err != nil {
		return nil, err
	}
	kvs = append(kvs, tok...)
	tensors, sum, err := ggufWriteTensors(c, byName, opts.Type)
	if err != nil {
		return nil, err
	}
	if err := gguf.WriteFile(out, kvs, tensors); err != nil {
		return nil, err
	}
	return sum, nil
}

// checkWeightNames rejects tensors the config does not use (the converter never drops weights
// silently) and checks shapes.
func checkWeightNames(c *Config, byName map[string]*SafetensorsFile) error {
	want := map[string][]int{}
	for _, s := range c.ExpectedTensors() {
		want[s.Name] = s.Shape
	}
	var names []string
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		shape, ok := want[name]
		if !ok {
			if ignoredTensor(c, name) {
				continue
			}
			return fmt.Errorf("%w: unexpected tensor %q for a %s config", ErrWeightMismatch, name, c.Arch)
		}
		if got := byName[name].Tensors[name].Shape; !slices.Equal(got, shape) {
			return fmt.Errorf("%w: tensor %q has shape %v, config wants %v", ErrWeightMismatch, name, got, shape)
		}
	}
	return nil
}

// ggufArch is the GGUF architecture of a config: Mistral checkpoints are written as llama, as
// convert_hf_to_gguf.py does.
func ggufArch(c *Config) string {
	if c.Arch == "mistral" {
		return "llama"
	}
	return c.Arch
}

// ggufMetadata is the general.* and <arch>.* metadata (conversion/base.py set_gguf_parameters and
// LlamaModel's additions).
func ggufMetadata(c *Config, opts GGUFWriteOptions) ([]gguf.KV, error) {
	arch := ggufArch(c)
	name := opts.Name
	if name == "" {
		name = arch
	}
	u32 := func(k string, v int) gguf.KV { return gguf.KV{Key: arch + "." + k, Value: gguf.Uint32(uint32(v))} }
	f32 := func(k string, v float64) gguf.KV {
		return gguf.KV{Key: arch + "." + k, Value: gguf.Float32(float32(v))}
	}
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String(arch)},
		{Key: "general.type", Value: gguf.String("model")},
		{Key: "general.name", Value: gguf.String(name)},
		u32("block_count", c.Layers),
		u32("context_length", c.MaxPositions),
		u32("embedding_length", c.Hidden),
		u32("feed_forward_length", c.Intermediate),
		u32("attention.head_count", c.Heads),
		u32("attention.head_count_kv", c.KVHeads),
		f32("rope.freq_base", c.RopeTheta),
		f32("attention.layer_norm_rms_epsilon", c.RMSNormEps),
		u32("attention.key_length", c.HeadDim),
		u32("attention.value_length", c.HeadDim),
	}
	switch c.RopeScaling.Kind() {
	case "":
	case "linear":
		kvs = append(kvs, gguf.KV{Key: arch + ".rope.scaling.type", Value: gguf.String("linear")}, f32("rope.scaling.factor", c.RopeScaling.Factor))
	case "llama3":
		if arch != "llama" {
			return nil, fmt.Errorf("%w: llama3 rope scaling on %s (llama.cpp reads rope_freqs only for llama)", ErrUnsupportedArchitecture, arch)
		}
		// The factors go to rope_freqs.weight, as the converter writes them; the original context
		// (which llama.cpp reads only for YaRN) lets readGGUFModel recover the parameters.
		kvs = append(kvs, u32("rope.scaling.original_context_length", c.RopeScaling.OriginalMaxPositionEmbeddings))
	default:
		return nil, fmt.Errorf("%w: rope scaling %q", ErrUnsupportedArchitecture, c.RopeScaling.Kind())
	}
	kvs = append(kvs, gguf.KV{Key: "general.file_type", Value: gguf.Uint32(opts.Type.ID)})
	if arch == "llama" {
		kvs = append(kvs, u32("vocab_size", c.VocabSize), u32("rope.dimension_count", c.HeadDim))
	}
	kvs = append(kvs, gguf.KV{Key: "general.quantization_version", Value: gguf.Uint32(2)})
	return kvs, nil
}

// ggufTokenizerKVs converts dir's tokenizer.json, or copies vocab's tokenizer keys.
func ggufTokenizerKVs(dir string, c *Config, vocab string) ([]gguf.KV, error) {
	if vocab == "" {
		opts := tokenizer.GGUFOptions{VocabSize: c.VocabSize, BOS: -1, EOS: -1}
		if c.BOSTokenID != nil {
			opts.BOS = *c.BOSTokenID
		}
		if len(c.EOSTokenIDs) > 0 {
			opts.EOS = c.EOSTokenIDs[0]
		}
		return tokenizer.GGUFMetadataFromHF(dir, opts)
	}
	v, err := gguf.Open(vocab)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	n := 0
	if tokens, ok := v.Array("tokenizer.ggml.tokens"); ok {
		n = tokens.Len()
	}
	if n == 0 || n > c.VocabSize {
		return nil, fmt.Errorf("%w: %s has %d tokens for a vocab_size of %d", ErrInvalidConfig, vocab, n, c.VocabSize)
	}
	model, _ := v.String("tokenizer.ggml.model")
	var kvs []gguf.KV
	for _, kv := range v.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			padded, err := padTokenizerKV(kv, model, n, c.VocabSize)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", vocab, err)
			}
			kvs = append(kvs, padded)
		}
	}
	return kvs, nil
}

// padTokenizerKV pads the per-token arrays to vocabSize as convert_hf_to_gguf.py does: "[PAD<id>]"
// (SentencePiece: "[PAD<k>]", score -1000), type UNUSED.
func padTokenizerKV(kv gguf.KV, model string, n, vocabSize int) (gguf.KV, error) {
	a, isArray := kv.Value.Array()
	if vocabSize == n || !isArray {
		return kv, nil
	}
	switch kv.Key {
	case "tokenizer.ggml.tokens":
		s, _ := a.Strings()
		s = slices.Clone(s)
		for i := n; i < vocabSize; i++ {
			if model == "llama" {
				s = append(s, fmt.Sprintf("[PAD%d]", i-n+1))
			} else {
				s = append(s, fmt.Sprintf("[PAD%d]", i))
			}
		}
		return gguf.KV{Key: kv.Key, Value: gguf.Strings(s)}, nil
	case "tokenizer.ggml.token_type":
		ints, ok := a.Ints()
		if !ok {
			return kv, fmt.Errorf("%w: %s is not an integer array", ErrInvalidConfig, kv.Key)
		}
		out := make([]int32, vocabSize)
		for i := range out {
			out[i] = 5 // UNUSED
			if i < len(ints) {
				out[i] = int32(ints[i])
			}
		}
		return gguf.KV{Key: kv.Key, Value: gguf.Int32s(out)}, nil
	case "tokenizer.ggml.scores":
		fl, ok := a.Floats()
		if !ok {
			return kv, fmt.Errorf("%w: %s is not a float array", ErrInvalidConfig, kv.Key)
		}
		out := make([]float32, vocabSize)
		for i := range out {
			out[i] = -1000
			if i < len(fl) {
				out[i] = float32(fl[i])
			}
		}
		return gguf.KV{Key: kv.Key, Value: gguf.Float32s(out)}, nil
	}
	return kv, nil
}

// ggufTensorType is llama_tensor_get_type (llama-quant.cpp) for the file types here: which type a
// tensor gets. layer is the tensor's block (-1 for global tensors); cols its row length.
func ggufTensorType(c *Config, ft GGUFFileType, ggufName string, layer, cols int, oneD bool) quant.Type {
	if oneD || strings.HasSuffix(ggufName, "_norm.weight") || !strings.HasSuffix(ggufName, "weight") {
		return quant.F32 // norms, biases and rope factors stay F32
	}
	t := ft.Base
	if t.BlockSize() == 1 {
		return t // plain conversion, as convert_hf_to_gguf.py --outtype
	}
	// Mistral-style and other 70B models get Q5_K for attn_v in llama.cpp (LLM_TYPE_70B); this
	// package writes no Q5_K, and none of the architectures here has that size in the tests.
	switch {
	case ggufName == "output.weight" || (c.TieEmbeddings && ggufName == "token_embd.weight"):
		if cols%t.BlockSize() != 0 {
			t = quant.Q8_0
		} else if t != quant.Q8_0 {
			t = quant.Q6_K
		}
	case ft.Mixed && strings.HasSuffix(ggufName, ".attn_v.weight") && useMoreBits(layer, c.Layers):
		t = quant.Q6_K
	case ft.Mixed && strings.HasSuffix(ggufName, ".ffn_down.weight") && useMoreBits(layer, c.Layers):
		t = quant.Q6_K
	}
	return quantFallback(t, cols)
}

// useMoreBits is llama-quant.cpp's use_more_bits: the first and last eighth of the layers and every
// third one between get more bits.
func useMoreBits(layer, layers int) bool {
	return layer < layers/8 || layer >= 7*layers/8 || (layer-layers/8)%3 == 2
}

// quantFallback is llama-quant.cpp's tensor_type_fallback: a row that is not whole blocks of t gets
// a 32-element type, and F16 if that does not fit either.
func quantFallback(t quant.Type, cols int) quant.Type {
	if cols%t.BlockSize() == 0 {
		return t
	}
	switch t {
	case quant.Q4_K:
		t = quant.Q5_0
	case quant.Q6_K:
		t = quant.Q8_0
	}
	if cols%t.BlockSize() != 0 {
		return quant.F16
	}
	return t
}

// ggufWriteTensors lists the tensors to write, each streamed by a callback that reads it from the
// safetensors, permutes q/k for llama, and converts it.
func ggufWriteTensors(c *Config, byName map[string]*SafetensorsFile, ft GGUFFileType) ([]gguf.WriteTensor, *GGUFSummary, error) {
	sum := &GGUFSummary{Arch: ggufArch(c), Types: map[string]int{}}
	var out []gguf.WriteTensor
	add := func(name string, typ quant.Type, shape []int, produce func() ([]float32, error)) {
		dims := make([]int64, len(shape))
		for i, d := range shape {
			dims[len(shape)-1-i] = int64(d)
		}
		cols := shape[len(shape)-1]
		out = append(out, gguf.WriteTensor{Name: name, Type: gguf.TensorType(typ), Dims: dims, WriteData: func(w io.Writer) error {
			x, err := produce()
			if err != nil {
				return err
			}
			b, err := quant.Quantize(typ, x, cols)
			if err != nil {
				return err
			}
			_, err = w.Write(b)
			return err
		}})
		sum.Tensors++
		sum.Types[typ.String()]++
	}
	if c.RopeScaling.Kind() == "llama3" {
		factors := llama3RopeFactors(c.RopeTheta, c.HeadDim, c.RopeScaling)
		add(ggufRopeFreqs, quant.F32, []int{len(factors)}, func() ([]float32, error) { return factors, nil })
	}
	for _, s := range ggufWriteOrder(c.ExpectedTensors()) {
		f, ok := byName[s.Name]
		if !ok {
			if s.Optional {
				continue // qwen2 without biases: llama.cpp treats them as zero too
			}
			return nil, nil, fmt.Errorf("%w: missing tensor %q (shape %v)", ErrWeightMismatch, s.Name, s.Shape)
		}
		name, _ := ggufNameFromHF(s.Name)
		layer := -1
		if rest, ok := strings.CutPrefix(name, "blk."); ok {
			fmt.Sscanf(rest, "%d.", &layer)
		}
		typ := ggufTensorType(c, ft, name, layer, s.Shape[len(s.Shape)-1], len(s.Shape) == 1)
		spec := s
		add(name, typ, s.Shape, func() ([]float32, error) { return readForGGUF(c, f, spec) })
	}
	return out, sum, nil
}

// ggufWriteOrder puts the embedding first and the output norm and head last, as the converter
// does; layers keep ExpectedTensors' order.
func ggufWriteOrder(specs []tensorSpec) []tensorSpec {
	rank := func(name string) int {
		switch name {
		case "model.embed_tokens.weight":
			return 0
		case "model.norm.weight":
			return 2
		case "lm_head.weight":
			return 3
		}
		return 1
	}
	out := slices.Clone(specs)
	slices.SortStableFunc(out, func(a, b tensorSpec) int { return rank(a.Name) - rank(b.Name) })
	return out
}

// readForGGUF reads one tensor as float32 and applies llama.cpp's q/k row permutation.
func readForGGUF(c *Config, f *SafetensorsFile, s tensorSpec) ([]float32, error) {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	x := make([]float32, n)
	if err := f.ReadFloat32(s.Name, x); err != nil {
		return nil, err
	}
	heads, ok := ggufRopePermuted(c, s.Name)
	if !ok {
		return x, nil
	}
	rowLen := 1
	if len(s.Shape) == 2 {
		rowLen = s.Shape[1]
	}
	permuted := make([]float32, n)
	if err := permuteHeadRows(float32Bytes(permuted), float32Bytes(x), rowLen*4, heads, true); err != nil {
		return nil, fmt.Errorf("%w: permuting %q: %w", ErrWeightMismatch, s.Name, err)
	}
	return permuted, nil
}

// float32Bytes views x as bytes (host order; permuting only moves whole values).
func float32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), len(x)*4)
}
