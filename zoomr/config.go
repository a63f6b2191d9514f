package zoomr

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/zoomr-go/zoomr/consensus"
	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/summarize"
)

// Errors returned by the decoder. Each is wrapped with the numbers involved; test with errors.Is.
var (
	// ErrConfig: a Config that cannot be used (Validate explains which field).
	ErrConfig = errors.New("zoomr: invalid config")
	// ErrPrompt: an empty prompt, a prompt longer than MaxPromptTokens, or a token id outside the vocabulary.
	ErrPrompt = errors.New("zoomr: invalid prompt")
	// ErrProtocol: the model or tokenizer cannot follow the configured protocol (e.g. no summary tokens).
	ErrProtocol = errors.New("zoomr: protocol unavailable")
	// ErrRanged: a Generation's Tokens ranged over a second time (a Generation runs once).
	ErrRanged = errors.New("zoomr: a Generation's Tokens can be ranged over once")
)

// The built-in cache policies (kvcache's registry lists every registered one: kvcache.PolicyNames).
// All but PolicyFull keep a bounded active context.
const (
	PolicyZoomR     = kvcache.PolicyZoomR     // prompt + summaries + zoomed thoughts + window (the paper's)
	PolicyFull      = kvcache.PolicyFull      // every token (capacity in power-of-two buckets)
	PolicySumR      = kvcache.PolicySumR      // prompt + summaries + window, no zoom
	PolicyStreaming = kvcache.PolicyStreaming // StreamingLLM: the prompt as sinks + window
	PolicyH2O       = kvcache.PolicyH2O       // heavy hitters by accumulated attention + window
	PolicyRKV       = kvcache.PolicyRKV       // R-KV: importance minus key redundancy + window
)

// SegmenterKind names the stream segmenter.
type SegmenterKind string

const (
	// SegmentAuto (the default, "") uses the summary markers when the tokenizer has them, otherwise
	// paragraphs; without a tokenizer, thoughts are cut at MaxThoughtLen only.
	SegmentAuto SegmenterKind = "auto"
	// SegmentSummary follows the summary markers of a model tuned for ZoomR.
	SegmentSummary SegmenterKind = "summary"
	// SegmentParagraph is training-free: thoughts end at blank lines and their own keys stand in for
	// summaries, so ZoomR runs on any reasoning model.
	SegmentParagraph SegmenterKind = "paragraph"
)

// Config configures a Decoder. The zero value is the paper's ZoomR with greedy decoding: every field's
// zero value means the documented default. Collaborators can be injected through the New* factories
// (one instance per generation, so they need not be safe for concurrent use).
type Config struct {
	// Policy names a registered cache policy (kvcache.PolicyNames); "" means PolicyZoomR.
	Policy string `json:"policy,omitzero"`

	// Window is the number of most recent tokens always attended (default 256).
	Window int `json:"window,omitzero"`
	// Sinks: 0 keeps the whole prompt resident (default); > 0 keeps only its first Sinks tokens.
	Sinks int `json:"sinks,omitzero"`
	// Zoom is c, the number of thoughts zoomed in at once (default 2).
	Zoom int `json:"zoom,omitzero"`
	// ZoomSlotLen is the capacity of one zoom slot in tokens (default 256); a longer thought keeps its
	// last ZoomSlotLen body tokens.
	ZoomSlotLen int `json:"zoom_slot_len,omitzero"`
	// Votes is k, the thoughts each attention head votes for (default 2).
	Votes int `json:"votes,omitzero"`
	// VoteLayers, when set, are the only layers whose heads vote (consensus.Options.Layers); nil:
	// every layer. For a model trained to route with some layers only (summarize/train's
	// RouteSkipHeads), whose other heads' scores are noise at the re-selection points.
	VoteLayers []int `json:"vote_layers,omitzero"`
	// SummaryCap is the summary region's capacity in tokens (default 1024).
	SummaryCap int `json:"summary_cap,omitzero"`
	// BFloat16 stores the KV cache in bfloat16 (half the memory) instead of float32.
	BFloat16 bool `json:"bf16,omitzero"`

	// Segmenter is the stream segmenter; "" means SegmentAuto.
	Segmenter SegmenterKind `json:"segmenter,omitzero"`
	// Protocol names the summary markers (defaults <|begin_of_summary|>, <|end_of_summary|>) and an
	// optional answer marker.
	Protocol summarize.Protocol `json:"protocol,omitzero"`
	// Think names the markers of a reasoning model's thinking span (zero: chat.DefaultThink, <think>
	// and </think>). When the vocabulary has both as single tokens, the close marker ends the
	// reasoning like Protocol.AnswerMarker, and Chat lets the model open the span itself.
	Think chat.ThinkMarkers `json:"think,omitzero"`
	// ChatTemplate renders Chat's messages into a prompt (nil: Chat is unavailable). LoadChatTemplate
	// reads a model's (Hugging Face directory or GGUF).
	ChatTemplate *chat.Template `json:"-"`

	// MaxThoughtLen and MaxSummaryLen cap thoughts and summaries (defaults 512 and 64).
	MaxThoughtLen int `json:"max_thought_len,omitzero"`
	MaxSummaryLen int `json:"max_summary_len,omitzero"`
	// ParagraphTail: with SegmentParagraph, the last ParagraphTail tokens of each thought act as its
	// summary region (0: the mean of all its keys).
	ParagraphTail int `json:"paragraph_tail,omitzero"`
	// ReselectAt lists token texts after which the zoomed set is chosen again ("." "?" ...), besides
	// every sealed thought. ReselectEvery adds a re-selection every N tokens (0: never).
	ReselectAt    []string `json:"reselect_at,omitzero"`
	ReselectEvery int      `json:"reselect_every,omitzero"`

	// Temperature 0 (default) is greedy decoding; > 0 samples, optionally restricted by TopK and TopP.
	Temperature float64 `json:"temperature,omitzero"`
	TopK        int     `json:"top_k,omitzero"`
	TopP        float64 `json:"top_p,omitzero"`
	// Seed makes sampling reproducible.
	Seed uint64 `json:"seed,omitzero"`

	// MaxTokens bounds the generated tokens (default 1024).
	MaxTokens int `json:"max_tokens,omitzero"`
	// StopTokens end generation when sampled (they are emitted). The model's and tokenizer's EOS
	// tokens are added unless IgnoreEOS.
	StopTokens []int `json:"stop_tokens,omitzero"`
	// EOSTokens are end-of-sequence ids besides the model config's and the tokenizer's (Load takes
	// them from generation_config.json's eos_token_id): they stop generation unless IgnoreEOS.
	EOSTokens []int `json:"eos_tokens,omitzero"`
	// StopStrings end generation when the generated text ends with one of them.
	StopStrings []string `json:"stop_strings,omitzero"`
	IgnoreEOS   bool     `json:"ignore_eos,omitzero"`

	// MaxPromptTokens bounds the prompt (default 8192): the whole-prompt sink region is sized to it.
	MaxPromptTokens int `json:"max_prompt_tokens,omitzero"`
	// PrefillChunk is the number of prompt tokens run per prefill call (default 512).
	PrefillChunk int `json:"prefill_chunk,omitzero"`

	// NewCache, if set, replaces the registered policy named by Policy. It gets the ZoomR cache
	// config the decoder would use (the model's KV layout, the prompt length, the region sizes).
	NewCache func(cfg kvcache.Config) (kvcache.Cache, error) `json:"-"`
	// NewSelector, if set, replaces consensus.GlobalVote with Votes per head.
	NewSelector func() consensus.Selector `json:"-"`
	// NewSegmenter, if set, replaces the segmenter built from Segmenter.
	NewSegmenter func() (summarize.Segmenter, error) `json:"-"`
	// NewLogitsProcessor, if set, gives each generation a processor that edits the logits before
	// every sampled token (a grammar for the answer, banned tokens).
	NewLogitsProcessor func() LogitsProcessor `json:"-"`
}

// Defaults.
const (
	DefaultMaxTokens       = 1024
	DefaultMaxPromptTokens = 8192
	DefaultPrefillChunk    = 512
)

// withDefaults fills zero values.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Policy == "" {
		c.Policy = PolicyZoomR
	}
	if c.Segmenter == "" {
		c.Segmenter = SegmentAuto
	}
	if c.Think == (chat.ThinkMarkers{}) {
		c.Think = chat.DefaultThink
	}
	def(&c.Window, kvcache.DefaultWindow)
	def(&c.Zoom, kvcache.DefaultZoomSlots)
	def(&c.ZoomSlotLen, kvcache.DefaultZoomSlotLen)
	def(&c.Votes, consensus.DefaultVotesPerHead)
	def(&c.SummaryCap, kvcache.DefaultSummaryCap)
	def(&c.MaxThoughtLen, summarize.DefaultMaxThoughtLen)
	def(&c.MaxSummaryLen, summarize.DefaultMaxSummaryLen)
	def(&c.MaxTokens, DefaultMaxTokens)
	def(&c.MaxPromptTokens, DefaultMaxPromptTokens)
	def(&c.PrefillChunk, DefaultPrefillChunk)
	return c
}

// Validate reports the first field that cannot be used.
func (c Config) Validate() error {
	if _, ok := kvcache.Lookup(c.Policy); !ok && c.Policy != "" && c.NewCache == nil {
		return fmt.Errorf("%w: Policy %q (registered: %s)", ErrConfig, c.Policy, strings.Join(kvcache.PolicyNames(), ", "))
	}
	switch c.Segmenter {
	case "", SegmentAuto, SegmentSummary, SegmentParagraph:
	default:
		return fmt.Errorf("%w: Segmenter %q (want auto, summary or paragraph)", ErrConfig, c.Segmenter)
	}
	nonNeg := []struct {
		name string
		v    int
	}{
		{"Window", c.Window}, {"Sinks", c.Sinks}, {"Zoom", c.Zoom}, {"ZoomSlotLen", c.ZoomSlotLen},
		{"Votes", c.Votes}, {"SummaryCap", c.SummaryCap}, {"MaxThoughtLen", c.MaxThoughtLen},
		{"MaxSummaryLen", c.MaxSummaryLen}, {"ParagraphTail", c.ParagraphTail}, {"ReselectEvery", c.ReselectEvery},
		{"TopK", c.TopK}, {"MaxTokens", c.MaxTokens}, {"MaxPromptTokens", c.MaxPromptTokens},
		{"PrefillChunk", c.PrefillChunk},
	}
	for _, f := range nonNeg {
		if f.v < 0 {
			return fmt.Errorf("%w: %s = %d must be >= 0", ErrConfig, f.name, f.v)
		}
	}
	if c.MaxSummaryLen == 1 {
		return fmt.Errorf("%w: MaxSummaryLen 1 cannot hold both markers", ErrConfig)
	}
	if c.Temperature < 0 || math.IsNaN(c.Temperature) || math.IsInf(c.Temperature, 0) {
		return fmt.Errorf("%w: Temperature %v must be a finite number >= 0", ErrConfig, c.Temperature)
	}
	if c.TopP < 0 || c.TopP > 1 || math.IsNaN(c.TopP) {
		return fmt.Errorf("%w: TopP %v must be in [0, 1]", ErrConfig, c.TopP)
	}
	for _, s := range c.StopStrings {
		if s == "" {
			return fmt.Errorf("%w: empty stop string", ErrConfig)
		}
	}
	for _, t := range append(slices.Clip(c.StopTokens), c.EOSTokens...) {
		if t < 0 {
			return fmt.Errorf("%w: stop or EOS token %d < 0", ErrConfig, t)
		}
	}
	if c.VoteLayers != nil {
		if err := (consensus.Options{Layers: c.VoteLayers}).Validate(); err != nil {
			return fmt.Errorf("%w: VoteLayers: %w", ErrConfig, err)
		}
	}
	d := c.withDefaults()
	if d.Sinks > 0 && d.Sinks > d.MaxPromptTokens {
		return fmt.Errorf("%w: Sinks %d > MaxPromptTokens %d", ErrConfig, d.Sinks, d.MaxPromptTokens)
	}
	return nil
}
