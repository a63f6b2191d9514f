package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
)

// LoadForFineTuning loads a Hugging Face model directory (config.json, safetensors, tokenizer.json)
// to be taught the protocol p: the protocol's tokens (summary markers, answer marker if any) are
// added to the tokenizer as special tokens when it lacks them, and the embedding (and an untied LM
// head) grows to the new vocabulary (model.ExtendVocab: new rows start at the mean embedding).
// Pass model.WithBackend(NewBackend()) and model.WithTrainingLayout() in opts for training.
func LoadForFineTuning(ctx context.Context, dir string, p summarize.Protocol, seed uint64, opts ...model.Option) (*model.Model, *tokenizer.Tokenizer, error) {
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, nil, err
	}
	loaded, err := model.Load(ctx, dir, opts...)
	if err != nil {
		return nil, nil, err
	}
	tok.AddSpecialTokens(protocolTokens(p)...)
	if tok.VocabSize() <= loaded.Config.VocabSize {
		return loaded, tok, nil // the new ids fit in the embedding's existing (padding) rows
	}
	cfg := loaded.Config
	named, err := loaded.Weights()
	if err != nil {
		return nil, nil, err
	}
	weights := map[string]*tensors.Tensor{}
	for _, w := range named {
		weights[w.Name] = tensors.FromFlatDataAndDimensions(w.Data, w.Shape...)
	}
	grown, err := model.ExtendVocab(cfg, weights, tok.VocabSize(), seed)
	if err != nil {
		return nil, nil, err
	}
	m, err := model.New(cfg, grown, opts...)
	if err != nil {
		return nil, nil, err
	}
	return m, tok, nil
}

func protocolTokens(p summarize.Protocol) []string {
	out := []string{p.Begin(), p.End()}
	if p.AnswerMarker != "" {
		out = append(out, p.AnswerMarker)
	}
	return out
}

// WriteTokenizer writes srcDir's tokenizer.json (and tokenizer_config.json, if any) to dstDir with
// the protocol's tokens listed in "added_tokens" (special, at the ids tok gave them), so a
// fine-tuned model's directory loads with the vocabulary it was trained on.
func WriteTokenizer(srcDir, dstDir string, tok *tokenizer.Tokenizer, p summarize.Protocol) error {
	data, err := os.ReadFile(filepath.Join(srcDir, "tokenizer.json"))
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s/tokenizer.json: %w", srcDir, err)
	}
	var added []map[string]any
	if raw, ok := doc["added_tokens"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &added); err != nil {
			return fmt.Errorf("%s/tokenizer.json added_tokens: %w", srcDir, err)
		}
	}
	have := map[string]bool{}
	for _, a := range added {
		if c, ok := a["content"].(string); ok {
			have[c] = true
		}
	}
	for _, text := range protocolTokens(p) {
		if have[text] {
			continue
		}
		id, ok := tok.TokenID(text)
		if !ok {
			return fmt.Errorf("%w: protocol token %q", summarize.ErrUnknownToken, text)
		}
		added = append(added, map[string]any{"id": id, "content": text, "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": false, "special": true})
	}
	if doc["added_tokens"], err = json.Marshal(added); err != nil {
		return err
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dstDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dstDir, "tokenizer.json"), out, 0o644); err != nil {
		return err
	}
	cfg, err := os.ReadFile(filepath.Join(srcDir, "tokenizer_config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dstDir, "tokenizer_config.json"), cfg, 0o644)
}

// LoadGrown loads the model of a Hugging Face directory whose vocabulary is a prefix of a larger
// one of vocab words (a task model grown into task.VocabularyOf(task.Long), say): the embedding
// (and an untied LM head) grows to vocab rows. Each new row is the mean of the old rows plus noise
// of their spread per dimension, so that the new words (step tags, counters) start apart from each
// other and can be told apart by attention from the first step (model.ExtendVocab's near-equal
// rows suit a few added markers, not dozens of index words). A model already of vocab rows loads
// unchanged; a larger one is a model.ErrInvalidInput.
func LoadGrown(ctx context.Context, dir string, vocab int, seed uint64, opts ...model.Option) (*model.Model, error) {
	loaded, err := model.Load(ctx, dir, opts...)
	if err != nil {
		return nil, err
	}
	cfg := loaded.Config
	if vocab == cfg.VocabSize {
		return loaded, nil
	}
	old := cfg.VocabSize
	named, err := loaded.Weights()
	if err != nil {
		return nil, err
	}
	weights := map[string]*tensors.Tensor{}
	for _, w := range named {
		weights[w.Name] = tensors.FromFlatDataAndDimensions(w.Data, w.Shape...)
	}
	grown, err := model.ExtendVocab(cfg, weights, vocab, seed)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x960))
	d := cfg.Hidden
	for _, name := range []string{"model.embed_tokens.weight", "lm_head.weight"} {
		t, ok := grown[name]
		if !ok {
			continue
		}
		data := tensors.MustCopyFlatData[float32](t)
		for j := range d {
			var sum, sq float64
			for r := range old {
				v := float64(data[r*d+j])
				sum += v
				sq += v * v
			}
			mean := sum / float64(old)
			std := math.Sqrt(max(sq/float64(old)-mean*mean, 0))
			for r := old; r < vocab; r++ {
				data[r*d+j] = float32(mean + std*rng.NormFloat64())
			}
		}
		grown[name] = tensors.FromFlatDataAndDimensions(data, vocab, d)
	}
	return model.New(cfg, grown, opts...)
}
