package zoomr

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/zoomr-go/zoomr/consensus"
	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
)

// Decoder generates text from a model with a bounded KV cache. It holds only read-only state (the
// model, the tokenizer, the resolved configuration), so it is safe for concurrent use: every
// generation gets its own cache, segmenter, selector and sampler.
type Decoder struct {
	model   *model.Model
	tok     *tokenizer.Tokenizer // nil: ids in, ids out
	cfg     Config               // defaults applied
	layout  kvcache.Layout
	segKind SegmenterKind // the segmenter in use: SegmentAuto resolved
	// slots makes the caches' active contexts: in the backend's buffers when the model runs graphs
	// on a device (XLA), split across its devices like the model when it has several, in Go memory
	// otherwise (nil).
	slots   kvcache.SlotsFactory
	markers summarize.Markers // resolved summary markers (SegmentSummary)
	texts   []string          // token texts by id, for the paragraph segmenter (nil without a tokenizer)
	reselec []int             // token ids that trigger re-selection
	think   thinkIDs          // the thinking span's markers, when the vocabulary has them
	answer  []int             // ids that end the reasoning: the protocol's answer marker, the think close marker
	owned   bool              // the Decoder loaded the model (Load) and closes it
}

// thinkIDs are the token ids of the thinking span's markers (Config.Think).
type thinkIDs struct {
	open, close int
	ok          bool // the vocabulary has both as single tokens
}

// New builds a Decoder. tok may be nil when prompts are given as ids and no text is needed; then
// the summary markers cannot be resolved (an explicit SegmentSummary needs a tokenizer; SegmentAuto
// cuts thoughts at MaxThoughtLen).
func New(m *model.Model, tok *tokenizer.Tokenizer, cfg Config) (*Decoder, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil model", ErrConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	mc := m.Config
	d := &Decoder{model: m, tok: tok, cfg: cfg}
	switch {
	case m.Devices() > 1: // split by KV head like the model, in the devices' buffers (shared or not)
		d.slots = kvcache.NewShardedBackendSlots(m.Backend(), m.Mesh())
	case m.Engine() == model.EngineGraph && !m.Backend().HasSharedBuffers():
		d.slots = kvcache.NewBackendSlots(m.Backend())
	}
	d.layout = kvcache.Layout{Layers: mc.Layers, KVHeads: mc.KVHeads, HeadDim: mc.HeadDim, DType: dtypes.Float32}
	if cfg.BFloat16 {
		d.layout.DType = dtypes.BFloat16
	}
	for _, l := range cfg.VoteLayers {
		if l >= mc.Layers {
			return nil, fmt.Errorf("%w: VoteLayers names layer %d of a %d-layer model", ErrConfig, l, mc.Layers)
		}
	}
	for _, t := range cfg.EOSTokens {
		if t >= mc.VocabSize {
			return nil, fmt.Errorf("%w: EOS token %d outside the vocabulary [0, %d)", ErrConfig, t, mc.VocabSize)
		}
	}
	if tok != nil && tok.VocabSize() > mc.VocabSize {
		return nil, fmt.Errorf("%w: tokenizer has %d tokens, model vocabulary %d", ErrConfig, tok.VocabSize(), mc.VocabSize)
	}
	if err := d.resolveProtocol(); err != nil {
		return nil, err
	}
	if _, err := cfg.ResidentBudget(d.layout, 1); err != nil {
		return nil, err
	}
	if _, err := d.settings(nil); err != nil {
		return nil, err
	}
	return d, nil
}

// resolveProtocol looks up the marker and re-selection tokens the segmenter needs.
func (d *Decoder) resolveProtocol() error {
	cfg := d.cfg
	for _, s := range cfg.ReselectAt {
		if d.tok == nil {
			return fmt.Errorf("%w: ReselectAt %q needs a tokenizer", ErrConfig, s)
		}
		id, ok := d.tok.TokenID(s)
		if !ok {
			return fmt.Errorf("%w: ReselectAt %q is not a single token", ErrProtocol, s)
		}
		d.reselec = append(d.reselec, id)
	}
	if err := d.resolveAnswer(); err != nil {
		return err
	}
	if cfg.NewSegmenter != nil {
		return nil
	}
	d.segKind = cfg.Segmenter
	if d.segKind == SegmentAuto {
		d.segKind = SegmentParagraph
		if d.tok != nil {
			if _, err := cfg.Protocol.Resolve(d.tok); err == nil {
				d.segKind = SegmentSummary
			}
		}
	}
	switch d.segKind {
	case SegmentSummary:
		if d.tok == nil {
			return fmt.Errorf("%w: the summary segmenter needs a tokenizer to find the markers %q, %q",
				ErrProtocol, cfg.Protocol.Begin(), cfg.Protocol.End())
		}
		m, err := cfg.Protocol.Resolve(d.tok)
		if err != nil {
			return fmt.Errorf("%w: the model's vocabulary has no summary tokens (was it tuned for ZoomR? "+
				"use the paragraph segmenter otherwise): %w", ErrProtocol, err)
		}
		m.Answer = d.answer
		if err := m.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		d.markers = m
	case SegmentParagraph:
		if d.tok != nil {
			d.texts = tokenTexts(d.tok)
		}
	}
	return nil
}

// resolveAnswer looks up the ids that end the reasoning: the protocol's answer marker (which must be
// a token) and the thinking span's close marker (when the vocabulary has the span's markers).
func (d *Decoder) resolveAnswer() error {
	if a := d.cfg.Protocol.AnswerMarker; a != "" {
		if d.tok == nil {
			return fmt.Errorf("%w: answer marker %q needs a tokenizer", ErrConfig, a)
		}
		id, ok := d.tok.TokenID(a)
		if !ok {
			return fmt.Errorf("%w: answer marker %q is not a token", ErrProtocol, a)
		}
		d.answer = append(d.answer, id)
	}
	if d.tok == nil {
		return nil
	}
	open, okOpen := d.tok.TokenID(d.cfg.Think.Open)
	closing, okClose := d.tok.TokenID(d.cfg.Think.Close)
	if okOpen && okClose && open != closing {
		d.think = thinkIDs{open: open, close: closing, ok: true}
		if !slices.Contains(d.answer, closing) {
			d.answer = append(d.answer, closing)
		}
	}
	return nil
}

// newSegmenter builds one generation's segmenter.
func (d *Decoder) newSegmenter() (summarize.Segmenter, error) {
	cfg := d.cfg
	if cfg.NewSegmenter != nil {
		return cfg.NewSegmenter()
	}
	re := summarize.Reselect{SentenceEnds: d.reselec, Every: cfg.ReselectEvery}
	if d.segKind == SegmentSummary {
		return summarize.NewSummarySegmenter(d.markers, summarize.Config{MaxThoughtLen: cfg.MaxThoughtLen,
			MaxSummaryLen: cfg.MaxSummaryLen, Tail: cfg.ParagraphTail, Reselect: re})
	}
	pc := summarize.ParagraphConfig{Tail: cfg.ParagraphTail, MaxThoughtLen: cfg.MaxThoughtLen, Reselect: re}
	if d.texts != nil {
		pc.TokenText = func(id int) string {
			if id < len(d.texts) {
				return d.texts[id]
			}
			return ""
		}
	} else {
		// No tokenizer: no paragraph text to see; thoughts are split at MaxThoughtLen only. A break id
		// outside the vocabulary satisfies the segmenter without ever matching.
		pc.Breaks = []int{d.model.Config.VocabSize}
	}
	pc.Answer = d.answer
	return summarize.NewParagraphSegmenter(pc)
}

func (d *Decoder) newSelector() (consensus.Selector, error) {
	if d.cfg.NewSelector != nil {
		return d.cfg.NewSelector(), nil
	}
	return consensus.NewGlobalVote(consensus.Options{VotesPerHead: d.cfg.Votes, Layers: d.cfg.VoteLayers})
}

// Config returns the decoder's configuration with defaults applied.
func (d *Decoder) Config() Config { return d.cfg }

// Segmenter is the segmenter kind in use (SegmentAuto resolved; "" with Config.NewSegmenter).
func (d *Decoder) Segmenter() SegmenterKind { return d.segKind }

// Model returns the decoder's model.
func (d *Decoder) Model() *model.Model { return d.model }

// Tokenizer returns the decoder's tokenizer (may be nil).
func (d *Decoder) Tokenizer() *tokenizer.Tokenizer { return d.tok }

// Encode tokenizes a prompt the way Generate does: the tokenizer's BOS convention, special tokens parsed.
func (d *Decoder) Encode(prompt string) ([]int, error) {
	if d.tok == nil {
		return nil, fmt.Errorf("%w: text prompt without a tokenizer", ErrPrompt)
	}
	ids, err := d.tok.EncodeWith(prompt, tokenizer.Options{AddBOS: d.tok.AddBOS(), ParseSpecial: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPrompt, err)
	}
	return ids, nil
}

// Generate tokenizes prompt and streams the generated tokens. Iteration stops at a stop token, a stop
// string, MaxTokens, an error (yielded once, last), or when the caller breaks.
func (d *Decoder) Generate(ctx context.Context, prompt string) iter.Seq2[Token, error] {
	return d.Start(ctx, prompt).Tokens()
}

// GenerateIDs streams the tokens generated after the prompt ids.
func (d *Decoder) GenerateIDs(ctx context.Context, prompt []int) iter.Seq2[Token, error] {
	return d.StartIDs(ctx, prompt).Tokens()
}

// Start prepares a generation from a text prompt; range over its Tokens, then read its Stats.
func (d *Decoder) Start(ctx context.Context, prompt string, opts ...GenOption) *Generation {
	ids, err := d.Encode(prompt)
	g := d.StartIDs(ctx, ids, opts...)
	if err != nil && g.err == nil {
		g.err = err
	}
	return g
}

// StartIDs prepares a generation from prompt ids.
func (d *Decoder) StartIDs(ctx context.Context, prompt []int, opts ...GenOption) *Generation {
	g := &Generation{d: d, ctx: ctx, prompt: append([]int(nil), prompt...)}
	g.set, g.err = d.settings(opts)
	return g
}

// Run generates to the end and returns every token with the final stats.
func (d *Decoder) Run(ctx context.Context, prompt []int) ([]Token, Stats, error) {
	g := d.StartIDs(ctx, prompt)
	var out []Token
	for t, err := range g.Tokens() {
		if err != nil {
			return out, g.Stats(), err
		}
		out = append(out, t)
	}
	return out, g.Stats(), nil
}

// checkPrompt validates prompt ids against the config and the vocabulary.
func (d *Decoder) checkPrompt(ids []int) error {
	if len(ids) == 0 {
		return fmt.Errorf("%w: empty prompt", ErrPrompt)
	}
	if len(ids) > d.cfg.MaxPromptTokens {
		return fmt.Errorf("%w: %d prompt tokens exceed MaxPromptTokens %d", ErrPrompt, len(ids), d.cfg.MaxPromptTokens)
	}
	for i, id := range ids {
		if id < 0 || id >= d.model.Config.VocabSize {
			return fmt.Errorf("%w: prompt token %d is id %d, outside the vocabulary [0, %d)", ErrPrompt, i, id, d.model.Config.VocabSize)
		}
	}
	return nil
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }

// tokenTexts decodes every token on its own (byte-level BPE stores "\n" as "Ċ", SentencePiece as
// <0x0A>), so the paragraph segmenter sees the text a token writes.
func tokenTexts(tok *tokenizer.Tokenizer) []string {
	texts := make([]string, tok.VocabSize())
	one := []int{0}
	for id := range texts {
		one[0] = id
		if b, err := tok.DecodeBytes(one, tokenizer.DecodeOptions{}); err == nil {
			texts[id] = string(b)
		}
	}
	return texts
}
