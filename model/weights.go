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

	"github.com/zoomr-go/zoomr/model/quant"
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

// loadStored reads every tensor of dir's safetensors in its stored type (F32, BF16, F16; F64 narrowed
// to F32), each into a buffer of exactly its size, and checks them against the config by name and
// shape.
func loadStored(dir string, c *Config) (storedWeights, error) {
	byName, files, err := openWeightFiles(dir)
	if err != nil {
		return storedWeights{}, err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	s := storedWeights{t: make(map[string]quant.Tensor, len(byName)), exact: true}
	for name, f := range byName {
		if ignoredTensor(c, name) {
			continue
		}
		if s.t[name], err = readStored(f, name); err != nil {
			return storedWeights{}, err
		}
	}
	if err := s.check(c); err != nil {
		return storedWeights{}, err
	}
	return s, nil
}
