package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// tensorSpec is one weight the config calls for.
type tensorSpec struct {
	Name     string
	Shape    []int
	Optional bool // absent -> zeros (qwen2 biases, as llama.cpp accepts them)
}

// ExpectedTensors lists the HF tensor names and shapes that a checkpoint for c must contain.
func (c *Config) ExpectedTensors() []tensorSpec {
	d, q, kv := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	specs := []tensorSpec{
		{Name: "model.embed_tokens.weight", Shape: []int{c.VocabSize, d}},
		{Name: "model.norm.weight", Shape: []int{d}},
	}
	if !c.TieEmbeddings {
		specs = append(specs, tensorSpec{Name: "lm_head.weight", Shape: []int{c.VocabSize, d}})
	}
	for l := range c.Layers {
		p := layerPrefix(l)
		add := func(name string, optional bool, shape ...int) {
			specs = append(specs, tensorSpec{Name: p + "." + name, Shape: shape, Optional: optional})
		}
		add("input_layernorm.weight", false, d)
		add("post_attention_layernorm.weight", false, d)
		add("self_attn.q_proj.weight", false, q, d)
		add("self_attn.k_proj.weight", false, kv, d)
		add("self_attn.v_proj.weight", false, kv, d)
		add("self_attn.o_proj.weight", false, d, q)
		if c.HasQKVBias() {
			optional := c.Arch == "qwen2" && !c.AttentionBias
			add("self_attn.q_proj.bias", optional, q)
			add("self_attn.k_proj.bias", optional, kv)
			add("self_attn.v_proj.bias", optional, kv)
		}
		if c.HasOBias() {
			add("self_attn.o_proj.bias", false, d)
		}
		if c.HasQKNorm() {
			add("self_attn.q_norm.weight", false, c.HeadDim)
			add("self_attn.k_norm.weight", false, c.HeadDim)
		}
		add("mlp.gate_proj.weight", false, c.Intermediate, d)
		add("mlp.up_proj.weight", false, c.Intermediate, d)
		add("mlp.down_proj.weight", false, d, c.Intermediate)
		if c.MLPBias {
			add("mlp.gate_proj.bias", false, c.Intermediate)
			add("mlp.up_proj.bias", false, c.Intermediate)
			add("mlp.down_proj.bias", false, d)
		}
	}
	return specs
}

// ignoredTensor reports tensors a checkpoint may carry that the graph does not use.
func ignoredTensor(c *Config, name string) bool {
	return strings.HasSuffix(name, ".rotary_emb.inv_freq") || (c.TieEmbeddings && name == "lm_head.weight")
}

// openWeightFiles opens dir's safetensors: model.safetensors.index.json's shards if present, otherwise
// model.safetensors. It returns the file that holds each tensor.
func openWeightFiles(dir string) (map[string]*SafetensorsFile, []*SafetensorsFile, error) {
	indexPath := filepath.Join(dir, "model.safetensors.index.json")
	var shardNames []string
	var weightMap map[string]string
	if data, err := os.ReadFile(indexPath); err == nil {
		var index struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(data, &index); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrInvalidSafetensors, indexPath, err)
		}
		weightMap = index.WeightMap
		for _, f := range index.WeightMap {
			if strings.Contains(f, "/") || strings.Contains(f, `\`) || f == ".." {
				return nil, nil, fmt.Errorf("%w: %s names shard %q outside the model directory", ErrInvalidSafetensors, indexPath, f)
			}
			if !slices.Contains(shardNames, f) {
				shardNames = append(shardNames, f)
			}
		}
		sort.Strings(shardNames)
	} else if errors.Is(err, fs.ErrNotExist) {
		shardNames = []string{"model.safetensors"}
	} else {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidSafetensors, err)
	}

	files := make([]*SafetensorsFile, 0, len(shardNames))
	byName := map[string]*SafetensorsFile{}
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, shard := range shardNames {
		f, err := OpenSafetensors(filepath.Join(dir, shard))
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		files = append(files, f)
		for name := range f.Tensors {
			if prev, dup := byName[name]; dup {
				closeAll()
				return nil, nil, fmt.Errorf("%w: tensor %q is in both %s and %s", ErrInvalidSafetensors, name, prev.Path, f.Path)
			}
			if weightMap != nil && weightMap[name] != shard {
				closeAll()
				return nil, nil, fmt.Errorf("%w: tensor %q found in %s, index says %q", ErrInvalidSafetensors, name, shard, weightMap[name])
			}
			byName[name] = f
		}
	}
	for name, shard := range weightMap {
		if _, ok := byName[name]; !ok {
			closeAll()
			return nil, nil, fmt.Errorf("%w: index maps %q to %s, which does not contain it", ErrWeightMismatch, name, shard)
		}
	}
	return byName, files, nil
}

// loadWeights reads every tensor the config needs, checked by name, shape and dtype, into float32 tensors.
// Each tensor is read straight into its final buffer, so peak memory is one copy of the weights.
func loadWeights(dir string, c *Config) (map[string]*tensors.Tensor, error) {
	byName, files, err := openWeightFiles(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	specs := c.ExpectedTensors()
	want := make(map[string]bool, len(specs))
	for _, s := range specs {
		want[s.Name] = true
	}
	var unexpected []string
	for name := range byName {
		if !want[name] && !ignoredTensor(c, name) {
			unexpected = append(unexpected, name)
		}
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		return nil, fmt.Errorf("%w: unexpected tensor(s) for %s config: %s", ErrWeightMismatch, c.Arch, strings.Join(unexpected, ", "))
	}
	out := make(map[string]*tensors.Tensor, len(specs))
	for _, s := range specs {
		t, err := readSpec(byName, s)
		if err != nil {
			return nil, err
		}
		out[s.Name] = t
	}
	return out, nil
}

func readSpec(byName map[string]*SafetensorsFile, s tensorSpec) (*tensors.Tensor, error) {
	t := tensors.FromShape(shapes.Make(dtypes.Float32, s.Shape...))
	f, ok := byName[s.Name]
	if !ok {
		if s.Optional {
			return t, nil // zero-filled
		}
		return nil, fmt.Errorf("%w: missing tensor %q (shape %v)", ErrWeightMismatch, s.Name, s.Shape)
	}
	info := f.Tensors[s.Name]
	if !slices.Equal(info.Shape, s.Shape) {
		if s.Name == "model.embed_tokens.weight" || s.Name == "lm_head.weight" {
			return nil, fmt.Errorf("%w: tensor %q has shape %v, config (vocab_size, hidden_size) wants %v",
				ErrWeightMismatch, s.Name, info.Shape, s.Shape)
		}
		return nil, fmt.Errorf("%w: tensor %q has shape %v, config wants %v", ErrWeightMismatch, s.Name, info.Shape, s.Shape)
	}
	switch info.DType {
	case "F32", "BF16", "F16", "F64":
	default:
		return nil, fmt.Errorf("%w: tensor %q has dtype %s, want F32, BF16 or F16", ErrWeightMismatch, s.Name, info.DType)
	}
	var readErr error
	t.MustMutableFlatData(func(flat any) {
		readErr = f.ReadFloat32(s.Name, flat.([]float32))
	})
	if readErr != nil {
		return nil, readErr
	}
	return t, nil
}
