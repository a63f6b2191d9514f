package model

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/zoomr-go/zoomr/model/gguf"
	"github.com/zoomr-go/zoomr/model/quant"
)

// GGUF models: llama.cpp's names and conventions, mapped to this package's Config and Hugging Face
// tensor names, both ways (ggufwrite.go writes them).
//
// Architectures: general.architecture "llama" (Llama 2/3 and Mistral 7B-style checkpoints, which
// llama.cpp's converter writes as "llama"), "qwen2" and "qwen3". Tensor names:
//
//	token_embd.weight             model.embed_tokens.weight
//	output_norm.weight            model.norm.weight
//	output.weight                 lm_head.weight (absent: tied embeddings)
//	blk.N.attn_norm.weight        model.layers.N.input_layernorm.weight
//	blk.N.attn_{q,k,v}.{weight,bias}  model.layers.N.self_attn.{q,k,v}_proj.{weight,bias}
//	blk.N.attn_output.{weight,bias}   model.layers.N.self_attn.o_proj.{weight,bias}
//	blk.N.attn_{q,k}_norm.weight  model.layers.N.self_attn.{q,k}_norm.weight (qwen3)
//	blk.N.ffn_norm.weight         model.layers.N.post_attention_layernorm.weight
//	blk.N.ffn_{gate,up,down}.{weight,bias}  model.layers.N.mlp.{gate,up,down}_proj.{weight,bias}
//	rope_freqs.weight             (llama3 rope scaling: read into Config.RopeScaling)
//
// GGUF dims are the reverse of the HF shape ([in, out] for an [out, in] matrix) over the same bytes.
// For the llama architecture llama.cpp's converter permutes the rows of q_proj and k_proj (and their
// biases) per head, from Hugging Face's rotate-half RoPE layout to llama.cpp's interleaved pairs
// (convert_hf_to_gguf.py LlamaModel.permute): new row h*hd + 2i + j = old row h*hd + j*hd/2 + i.
// Loading inverts it. It moves whole rows, so it is valid on quantized rows too (blocks never cross
// a row).

// ggufTensorNames maps GGUF tensor-name suffixes within a block to the HF ones.
var ggufTensorNames = []struct{ gguf, hf string }{
	{"attn_norm.weight", "input_layernorm.weight"},
	{"attn_q.weight", "self_attn.q_proj.weight"}, {"attn_q.bias", "self_attn.q_proj.bias"},
	{"attn_k.weight", "self_attn.k_proj.weight"}, {"attn_k.bias", "self_attn.k_proj.bias"},
	{"attn_v.weight", "self_attn.v_proj.weight"}, {"attn_v.bias", "self_attn.v_proj.bias"},
	{"attn_output.weight", "self_attn.o_proj.weight"}, {"attn_output.bias", "self_attn.o_proj.bias"},
	{"attn_q_norm.weight", "self_attn.q_norm.weight"}, {"attn_k_norm.weight", "self_attn.k_norm.weight"},
	{"ffn_norm.weight", "post_attention_layernorm.weight"},
	{"ffn_gate.weight", "mlp.gate_proj.weight"}, {"ffn_gate.bias", "mlp.gate_proj.bias"},
	{"ffn_up.weight", "mlp.up_proj.weight"}, {"ffn_up.bias", "mlp.up_proj.bias"},
	{"ffn_down.weight", "mlp.down_proj.weight"}, {"ffn_down.bias", "mlp.down_proj.bias"},
}

var ggufGlobalNames = map[string]string{
	"token_embd.weight":  "model.embed_tokens.weight",
	"output_norm.weight": "model.norm.weight",
	"output.weight":      "lm_head.weight",
}

// ggufRopeFreqs is the llama3 rope-scaling factors tensor; it is configuration, not a weight.
const ggufRopeFreqs = "rope_freqs.weight"

// hfNameFromGGUF returns the HF name of a GGUF tensor name, or false.
func hfNameFromGGUF(name string) (string, bool) {
	if hf, ok := ggufGlobalNames[name]; ok {
		return hf, true
	}
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return "", false
	}
	layer, suffix, ok := strings.Cut(rest, ".")
	n, err := strconv.Atoi(layer)
	if !ok || err != nil || n < 0 || strconv.Itoa(n) != layer {
		return "", false
	}
	for _, m := range ggufTensorNames {
		if m.gguf == suffix {
			return layerPrefix(n) + "." + m.hf, true
		}
	}
	return "", false
}

// ggufNameFromHF is the inverse of hfNameFromGGUF.
func ggufNameFromHF(name string) (string, bool) {
	for g, hf := range ggufGlobalNames {
		if hf == name {
			return g, true
		}
	}
	rest, ok := strings.CutPrefix(name, "model.layers.")
	if !ok {
		return "", false
	}
	layer, suffix, ok := strings.Cut(rest, ".")
	if !ok {
		return "", false
	}
	for _, m := range ggufTensorNames {
		if m.hf == suffix {
			return "blk." + layer + "." + m.gguf, true
		}
	}
	return "", false
}

// ggufRopePermuted reports whether llama.cpp stores this HF tensor's rows permuted for arch, and for
// how many heads: q_proj with the query heads, k_proj with the KV heads.
func ggufRopePermuted(c *Config, hfName string) (heads int, ok bool) {
	if c.Arch != "llama" && c.Arch != "mistral" {
		return 0, false // qwen2/qwen3 use llama.cpp's NEOX rope, which is rotate-half itself
	}
	switch {
	case strings.HasSuffix(hfName, ".self_attn.q_proj.weight"), strings.HasSuffix(hfName, ".self_attn.q_proj.bias"):
		return c.Heads, true
	case strings.HasSuffix(hfName, ".self_attn.k_proj.weight"), strings.HasSuffix(hfName, ".self_attn.k_proj.bias"):
		return c.KVHeads, true
	}
	return 0, false
}

// permuteHeadRows copies src to dst (same length: heads × headDim rows of rowBytes bytes), moving
// rows between HF's rotate-half order and llama.cpp's interleaved order: toGGUF applies
// LlamaModel.permute, otherwise its inverse.
func permuteHeadRows(dst, src []byte, rowBytes, heads int, toGGUF bool) error {
	if rowBytes <= 0 || len(src)%rowBytes != 0 || len(dst) != len(src) || heads <= 0 {
		return fmt.Errorf("%w: cannot permute %d bytes as rows of %d for %d heads", ErrWeightMismatch, len(src), rowBytes, heads)
	}
	rows := len(src) / rowBytes
	if rows%heads != 0 || (rows/heads)%2 != 0 {
		return fmt.Errorf("%w: %d rows are not %d heads of an even size", ErrWeightMismatch, rows, heads)
	}
	hd := rows / heads
	half := hd / 2
	for h := range heads {
		for i := range half {
			for j := range 2 {
				interleaved, rotateHalf := h*hd+2*i+j, h*hd+j*half+i
				to, from := rotateHalf, interleaved
				if toGGUF {
					to, from = interleaved, rotateHalf
				}
				copy(dst[to*rowBytes:(to+1)*rowBytes], src[from*rowBytes:(from+1)*rowBytes])
			}
		}
	}
	return nil
}

// ggufSupportedTypes are the weight types model/quant can dequantize: issue #29's list (F32, F16,
// BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K) plus Q5_0 and Q5_1, which llama-quantize's Q4_K_M writes for
// rows that are not whole 256-element blocks (hidden 896 of Qwen2.5-0.5B, say).
var ggufSupportedTypes = []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q4_0, quant.Q4_1,
	quant.Q5_0, quant.Q5_1, quant.Q4_K, quant.Q6_K}

// readGGUFModel opens a GGUF model: its config from the metadata and its tensors under HF names,
// in HF shape order, in their stored types. Tensor bytes are slices of the file's read-only
// mapping, except the llama architecture's q_proj/k_proj weights and biases, which are un-permuted
// into heap copies (their mapped pages are read once and then left to the kernel). Closing the
// Closer unmaps the file: the tensors must not be used afterwards.
//
// Errors: ErrUnsupportedArchitecture (architecture, rope scaling), ErrInvalidConfig (missing or
// impossible hyperparameters), ErrWeightMismatch (unknown, missing or mis-shaped tensors; a tensor
// type the engines cannot compute with also wraps quant.ErrType), and gguf.ErrInvalidFile for a
// corrupt file.
func readGGUFModel(path string) (*Config, map[string]quant.Tensor, io.Closer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, tensors, err := ggufModel(f)
	if err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, tensors, f, nil
}

// ggufModel maps a parsed file (see readGGUFModel).
func ggufModel(f *gguf.File) (*Config, map[string]quant.Tensor, error) {
	c, err := ggufConfig(f)
	if err != nil {
		return nil, nil, err
	}
	tensors, err := ggufTensors(f, c)
	if err != nil {
		return nil, nil, err
	}
	return c, tensors, nil
}

// ggufConfig reads the hyperparameters (llama.cpp's llama_model::load_hparams for these archs).
func ggufConfig(f *gguf.File) (*Config, error) {
	arch, ok := f.String("general.architecture")
	if !ok {
		return nil, fmt.Errorf("%w: GGUF has no general.architecture", ErrUnsupportedArchitecture)
	}
	switch arch {
	case "llama", "qwen2", "qwen3":
	default:
		return nil, fmt.Errorf("%w: GGUF architecture %q (supported: llama — which includes Mistral 7B-style models —, qwen2, qwen3)",
			ErrUnsupportedArchitecture, arch)
	}
	c := &Config{Arch: arch, HiddenAct: "silu"}
	r := ggufKeys{f: f, prefix: arch + "."}
	r.int("block_count", &c.Layers, true)
	r.int("embedding_length", &c.Hidden, true)
	r.int("feed_forward_length", &c.Intermediate, true)
	r.int("attention.head_count", &c.Heads, true)
	r.int("attention.head_count_kv", &c.KVHeads, false)
	r.int("attention.key_length", &c.HeadDim, false)
	r.int("context_length", &c.MaxPositions, false)
	r.float("attention.layer_norm_rms_epsilon", &c.RMSNormEps, true)
	r.float("rope.freq_base", &c.RopeTheta, false)
	var valueLen, ropeDims int
	r.int("attention.value_length", &valueLen, false)
	r.int("rope.dimension_count", &ropeDims, false)
	if r.err != nil {
		return nil, r.err
	}
	if c.Layers > len(f.Tensors) { // every block has several tensors; this bounds what the checks allocate
		return nil, fmt.Errorf("%w: %sblock_count %d, but the file has only %d tensors", ErrInvalidConfig, r.prefix, c.Layers, len(f.Tensors))
	}
	c.fillDefaults()
	if valueLen != 0 && valueLen != c.HeadDim {
		return nil, fmt.Errorf("%w: %sattention.value_length %d differs from key_length %d", ErrUnsupportedArchitecture, r.prefix, valueLen, c.HeadDim)
	}
	if ropeDims != 0 && ropeDims != c.HeadDim {
		return nil, fmt.Errorf("%w: %srope.dimension_count %d ≠ head dim %d (partial rotary)", ErrUnsupportedArchitecture, r.prefix, ropeDims, c.HeadDim)
	}
	if err := ggufRopeScaling(f, c, r.prefix); err != nil {
		return nil, err
	}
	if err := ggufVocab(f, c, r.prefix); err != nil {
		return nil, err
	}
	ggufBiases(f, c)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// ggufKeys reads <arch>.* integers and floats, remembering the first error.
type ggufKeys struct {
	f      *gguf.File
	prefix string
	err    error
}

func (r *ggufKeys) value(key string, required bool) (gguf.Value, bool) {
	v, ok := r.f.Get(r.prefix + key)
	if !ok && required && r.err == nil {
		r.err = fmt.Errorf("%w: GGUF has no %s%s", ErrInvalidConfig, r.prefix, key)
	}
	return v, ok
}

func (r *ggufKeys) int(key string, dst *int, required bool) {
	v, ok := r.value(key, required)
	if !ok || r.err != nil {
		return
	}
	n, isInt := v.Int()
	if !isInt || n < 0 || n > 1<<30 {
		r.err = fmt.Errorf("%w: %s%s = %s (%v); want one non-negative integer (per-layer arrays are not supported)",
			ErrInvalidConfig, r.prefix, key, v.Format(), v.Type)
		return
	}
	*dst = int(n)
}

func (r *ggufKeys) float(key string, dst *float64, required bool) {
	v, ok := r.value(key, required)
	if !ok || r.err != nil {
		return
	}
	x, isFloat := v.Float()
	if !isFloat {
		r.err = fmt.Errorf("%w: %s%s = %s (%v), want a float", ErrInvalidConfig, r.prefix, key, v.Format(), v.Type)
		return
	}
	*dst = shortestFloat(x, v.Type)
}

// shortestFloat turns a float32 read from a file back into the decimal it was written from
// (1e-06 rather than 9.99999997e-07), as config.json would give it.
func shortestFloat(x float64, t gguf.ValueType) float64 {
	if t != gguf.TypeFloat32 {
		return x
	}
	y, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', -1, 32), 64)
	if err != nil {
		return x
	}
	return y
}

// ggufRopeScaling reads rope.scaling.type linear, or llama3 scaling from rope_freqs.weight (which
// is how llama.cpp's converter stores it: one factor per frequency, no metadata).
func ggufRopeScaling(f *gguf.File, c *Config, prefix string) error {
	kind, _ := f.String(prefix + "rope.scaling.type")
	switch kind {
	case "", "none":
	case "linear":
		v, _ := f.Get(prefix + "rope.scaling.factor")
		factor, ok := v.Float()
		if !ok {
			return fmt.Errorf("%w: linear rope scaling without %srope.scaling.factor", ErrInvalidConfig, prefix)
		}
		c.RopeScaling = &RopeScaling{Type: "linear", Factor: shortestFloat(factor, v.Type)}
	default:
		return fmt.Errorf("%w: rope scaling %q (supported: linear, llama3)", ErrUnsupportedArchitecture, kind)
	}
	t, ok := f.Tensor(ggufRopeFreqs)
	if !ok {
		return nil
	}
	if c.RopeScaling != nil {
		return fmt.Errorf("%w: both %s and %s scaling", ErrUnsupportedArchitecture, ggufRopeFreqs, kind)
	}
	if t.Type != gguf.F32 || len(t.Dims) != 1 || t.Dims[0] != int64(c.HeadDim/2) {
		return fmt.Errorf("%w: %s is %v %v, want f32 [%d]", ErrWeightMismatch, ggufRopeFreqs, t.Type, t.Dims, c.HeadDim/2)
	}
	factors := make([]float32, c.HeadDim/2)
	if err := quant.Dequantize(quant.F32, t.Data, factors); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWeightMismatch, ggufRopeFreqs, err)
	}
	orig := 8192 // the converter's default, also Llama 3.1's value
	if n, ok := f.Int(prefix + "rope.scaling.original_context_length"); ok && n > 0 && n < 1<<30 {
		orig = int(n)
	}
	rs, err := llama3ScalingFromFactors(c, factors, orig)
	if err != nil {
		return err
	}
	c.RopeScaling = rs
	return nil
}

// llama3ScalingFromFactors recovers llama3 rope-scaling parameters from the per-frequency factors:
// factor is the largest one; low/high_freq_factor are the converter's defaults (1, 4), the values of
// every Llama 3.x model, and the factors must be what they give, or the scaling is refused.
func llama3ScalingFromFactors(c *Config, factors []float32, orig int) (*RopeScaling, error) {
	rs := &RopeScaling{Type: "llama3", Factor: float64(slices.Max(factors)), LowFreqFactor: 1, HighFreqFactor: 4,
		OriginalMaxPositionEmbeddings: orig}
	want := llama3RopeFactors(c.RopeTheta, c.HeadDim, rs)
	for i, f := range factors {
		if math.Abs(float64(f-want[i])) > 1e-4*math.Max(1, math.Abs(float64(want[i]))) {
			return nil, fmt.Errorf("%w: %s[%d] = %g, llama3 scaling (factor %g, low 1, high 4, original context %d) gives %g",
				ErrUnsupportedArchitecture, ggufRopeFreqs, i, f, rs.Factor, orig, want[i])
		}
	}
	return rs, nil
}

// llama3RopeFactors is convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors: the divisor of
// each RoPE frequency under llama3 scaling.
func llama3RopeFactors(theta float64, headDim int, rs *RopeScaling) []float32 {
	out := make([]float32, headDim/2)
	lowWavelen := float64(rs.OriginalMaxPositionEmbeddings) / rs.LowFreqFactor
	highWavelen := float64(rs.OriginalMaxPositionEmbeddings) / rs.HighFreqFactor
	for i := range out {
		freq := float64(float32(1 / math.Pow(theta, float64(2*i)/float64(headDim))))
		wavelen := 2 * math.Pi / freq
		switch {
		case wavelen < highWavelen:
			out[i] = 1
		case wavelen > lowWavelen:
			out[i] = float32(rs.Factor)
		default:
			smooth := (float64(rs.OriginalMaxPositionEmbeddings)/wavelen - rs.LowFreqFactor) / (rs.HighFreqFactor - rs.LowFreqFactor)
			out[i] = float32(1 / ((1-smooth)/rs.Factor + smooth))
		}
	}
	return out
}

// ggufVocab sets VocabSize from the embedding, checked against the token list and <arch>.vocab_size,
// tied embeddings from the absence of output.weight, and BOS/EOS from tokenizer.ggml.*.
func ggufVocab(f *gguf.File, c *Config, prefix string) error {
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		return fmt.Errorf("%w: missing tensor token_embd.weight", ErrWeightMismatch)
	}
	if len(emb.Dims) != 2 || emb.Dims[1] <= 0 || emb.Dims[1] > 1<<24 {
		return fmt.Errorf("%w: token_embd.weight has dims %v, want [hidden, vocab]", ErrWeightMismatch, emb.Dims)
	}
	c.VocabSize = int(emb.Dims[1])
	if n, ok := f.Int(prefix + "vocab_size"); ok && n != int64(c.VocabSize) {
		return fmt.Errorf("%w: %svocab_size %d, token_embd.weight has %d rows", ErrInvalidConfig, prefix, n, c.VocabSize)
	}
	if tokens, ok := f.Array("tokenizer.ggml.tokens"); ok && tokens.Len() != c.VocabSize {
		return fmt.Errorf("%w: %d tokens in tokenizer.ggml.tokens, token_embd.weight has %d rows", ErrInvalidConfig, tokens.Len(), c.VocabSize)
	}
	_, hasOutput := f.Tensor("output.weight")
	c.TieEmbeddings = !hasOutput
	id := func(key string) (int, bool) {
		n, ok := f.Int(key)
		return int(n), ok && n >= 0 && n < int64(c.VocabSize)
	}
	if bos, ok := id("tokenizer.ggml.bos_token_id"); ok {
		c.BOSTokenID = &bos
	}
	for _, key := range []string{"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"} {
		if v, ok := id(key); ok && !slices.Contains(c.EOSTokenIDs, v) {
			c.EOSTokenIDs = append(c.EOSTokenIDs, v)
		}
	}
	return nil
}

// ggufBiases sets the bias flags from the tensors present (GGUF has no keys for them): llama's
// attention_bias when a q bias exists, mlp_bias when a gate bias does. qwen2's q/k/v biases are
// implied by the architecture.
func ggufBiases(f *gguf.File, c *Config) {
	if _, ok := f.Tensor("blk.0.attn_q.bias"); ok && c.Arch != "qwen2" {
		c.AttentionBias = true
	}
	if _, ok := f.Tensor("blk.0.ffn_gate.bias"); ok {
		c.MLPBias = true
	}
}

// ggufTensors maps every tensor to its HF name, checks it against c.ExpectedTensors and undoes the
// llama q/k permutation.
func ggufTensors(f *gguf.File, c *Config) (map[string]quant.Tensor, error) {
	specs := c.ExpectedTensors()
	want := make(map[string]tensorSpec, len(specs))
	for _, s := range specs {
		want[s.Name] = s
	}
	out := make(map[string]quant.Tensor, len(specs))
	for _, t := range f.Tensors {
		if t.Name == ggufRopeFreqs {
			continue
		}
		hf, ok := hfNameFromGGUF(t.Name)
		spec, expected := want[hf]
		if !ok || !expected {
			return nil, fmt.Errorf("%w: unexpected tensor %q for a %s config", ErrWeightMismatch, t.Name, c.Arch)
		}
		qt, err := ggufTensor(c, t, hf, spec)
		if err != nil {
			return nil, err
		}
		out[hf] = qt
	}
	for _, s := range specs {
		if _, ok := out[s.Name]; !ok && !s.Optional {
			g, _ := ggufNameFromHF(s.Name)
			return nil, fmt.Errorf("%w: missing tensor %q (%s, shape %v)", ErrWeightMismatch, g, s.Name, s.Shape)
		}
	}
	return out, nil
}

func ggufTensor(c *Config, t gguf.TensorInfo, hf string, spec tensorSpec) (quant.Tensor, error) {
	typ := quant.Type(t.Type)
	if !slices.Contains(ggufSupportedTypes, typ) {
		return quant.Tensor{}, fmt.Errorf("%w: %w: tensor %q has type %v (supported: %v)", ErrWeightMismatch, quant.ErrType,
			t.Name, t.Type, ggufSupportedTypes)
	}
	shape := t.Shape()
	if !slices.Equal(shape, spec.Shape) {
		return quant.Tensor{}, fmt.Errorf("%w: tensor %q (%s) has shape %v, config wants %v", ErrWeightMismatch, t.Name, hf, shape, spec.Shape)
	}
	qt := quant.Tensor{Type: typ, Shape: shape, Data: t.Data}
	if heads, ok := ggufRopePermuted(c, hf); ok {
		rowBytes, err := typ.RowBytes(shape[len(shape)-1])
		if len(shape) == 1 { // a bias: every element is a row
			rowBytes, err = typ.RowBytes(typ.BlockSize())
			if typ.BlockSize() != 1 {
				err = fmt.Errorf("a %v bias cannot be permuted element by element", typ)
			}
		}
		if err == nil {
			qt.Data = make([]byte, len(t.Data))
			err = permuteHeadRows(qt.Data, t.Data, rowBytes, heads, false)
		}
		if err != nil {
			return quant.Tensor{}, fmt.Errorf("%w: un-permuting %q: %w", ErrWeightMismatch, t.Name, err)
		}
	}
	if err := qt.Validate(); err != nil {
		return quant.Tensor{}, fmt.Errorf("%w: tensor %q: %w", ErrWeightMismatch, t.Name, err)
	}
	return qt, nil
}
