package zoomr

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zoomr-go/zoomr/consensus"
	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
)

// Token is one generated token with what happened at its step.
type Token struct {
	ID   int
	Text string // the text this token completed (may be "" while a UTF-8 sequence is incomplete)
	Kind summarize.Kind
	Pos  int // absolute position
	// Thought is the index of the thought this token belongs to (-1 for answer tokens).
	Thought int
	// Sealed is the id of the thought this token sealed, or -1.
	Sealed int
	// Reselected reports a re-selection after this token; Zoomed is then the new zoomed set.
	Reselected bool
	Zoomed     []int
	// Hidden: the token's Text belongs to neither the reasoning nor the answer (Delta,
	// Generation.Text): the marker that opens or closes the thinking span (or the protocol's answer
	// marker), or a special token such as EOS.
	Hidden bool
	Stats  StepStats
}

// StepStats is the cache and selection state after a token's step.
type StepStats struct {
	ResidentBytes int64 // bytes of the active context (what an accelerator would hold)
	HostBytes     int64 // bytes of the host segment store
	IndexBytes    int64 // bytes of the summary index (per sealed thought: its mean key and record), on the host
	// DecoderBytes is what the generation itself keeps that grows with the output: the generated ids
	// a LogitsProcessor sees (8 B per token, only with a processor), the agreeability of every
	// re-selection (8 B each), the summary-score buffer (4 B per layer, head and thought) and the
	// reasoning and answer texts (Generation.Text), counted by the capacity of their slices and
	// builders. With HostBytes and IndexBytes
	// it is every byte that grows with the output (zoomr's soak test holds the Go heap to it).
	DecoderBytes int64
	// TransferBytes is cumulative since the generation started: the bytes that crossed between host
	// and device during decoding — what the model steps copied (token ids, the new token's K/V, the
	// greedy choice or the logits, the queries at re-selections) and what the cache wrote into the
	// active context since the prompt (new tokens' slots, summaries, zoomed thoughts). On the host
	// engine nothing leaves Go memory; the figure is then the cache's writes: what a device would need.
	TransferBytes int64
	ActiveTokens  int // attended slots of the active context
	Capacity      int // slots of the active context
	Thoughts      int // sealed thoughts
	// Selected lists the thoughts zoomed in (chosen at the last re-selection). Shared between tokens
	// until the next re-selection: read it, do not modify it.
	Selected []int
	// Agreeability is the share of votes that landed in the selected set at the last re-selection
	// (0 before the first one).
	Agreeability float64
	GraphBuilds  int64 // graphs the model has compiled so far (all its generations)
	// ModelSeconds and OverheadSeconds are cumulative since the generation started: time inside the
	// model's decode step, and the rest of each step (segmenting, cache bookkeeping, summary scoring,
	// voting, zooming). Differences between two tokens give the shares over a window.
	ModelSeconds, OverheadSeconds float64
}

// StopReason says why a generation ended.
type StopReason string

// Why a generation ended.
const (
	StopToken     StopReason = "stop token"  // a stop token (EOS or Config.StopTokens) was sampled
	StopString    StopReason = "stop string" // the text ended with one of Config.StopStrings
	StopMaxTokens StopReason = "max tokens"  // Config.MaxTokens were generated
	StopCancelled StopReason = "cancelled"   // the context was cancelled
	StopCaller    StopReason = "caller"      // the caller stopped ranging
	StopError     StopReason = "error"       // an error ended it (yielded as the last element)
)

// Stats summarises a finished generation.
type Stats struct {
	Policy            string
	PromptTokens      int
	Tokens            int     // generated
	PrefillSeconds    float64 // prompt processing
	DecodeSeconds     float64 // generation, after the prompt
	TokensPerSecond   float64 // Tokens / DecodeSeconds
	PeakResidentBytes int64
	PeakHostBytes     int64
	// DecoderBytes and TransferBytes are StepStats' at the end.
	DecoderBytes, TransferBytes int64
	Reselections                int
	// SelectionSeconds is the time spent scoring summaries, voting and zooming.
	SelectionSeconds float64
	// ModelSeconds is the time inside the model's decode step; OverheadSeconds the rest of the steps
	// (segmenter, cache bookkeeping and selection).
	ModelSeconds, OverheadSeconds float64
	// Agreeabilities lists the agreeability of every re-selection, in order.
	Agreeabilities []float64
	GraphBuilds    int64 // graphs compiled during this generation (other concurrent generations may add)
	StopReason     StopReason
}

// Generation is one prompt's decoding. Range over Tokens once, then read Stats.
type Generation struct {
	d       *Decoder
	ctx     context.Context
	prompt  []int
	set     genSettings
	batcher *Batcher // nil: the generation runs its own steps
	err     error    // a setup error, yielded by Tokens
	used    atomic.Bool
	text    replyText // the reasoning and answer texts so far

	mu    sync.Mutex
	stats Stats // published when Tokens finishes
}

// Stats returns the generation's statistics (complete once Tokens has finished; zero before).
func (g *Generation) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stats
}

// Text returns the generation's reasoning and its answer, as OpenAI-compatible servers return
// reasoning_content and content: the text of the thought and summary tokens, and of the answer
// tokens, hidden tokens left out (Token.Delta), the reasoning trimmed of surrounding whitespace and
// the answer of leading whitespace (as chat.ThinkMarkers.Split trims), without the stop string that
// ended it (Token.Text keeps it). Complete once Tokens has
// finished; while it runs, the text so far. A generation from Start reasons until an answer marker
// (Config.Protocol, the thinking span's close marker); Chat decides from the template.
func (g *Generation) Text() (reasoning, answer string) { return g.text.text() }

// PromptIDs returns the prompt's token ids (for Chat, the rendered and tokenized messages).
func (g *Generation) PromptIDs() []int { return append([]int(nil), g.prompt...) }

// session is the mutable state of one generation.
type session struct {
	d        *Decoder
	ctx      context.Context
	cache    kvcache.Cache
	sealer   kvcache.Sealer            // nil: the policy does not use thoughts
	zoomer   kvcache.Zoomer            // nil: no summary index
	observer kvcache.AttentionObserver // nil: no attention needed
	thoughts int                       // thoughts sealed so far (the decoder's tracker)
	seg      summarize.Segmenter
	gate     *thinkGate // nil: the reasoning starts at the first token
	text     *replyText
	sel      consensus.Selector
	sampler  *sampler
	proc     LogitsProcessor // nil: none
	stream   *tokenizer.StreamDecoder
	stops    stopRules
	tail     []byte // the generated text's last bytes, for stop strings
	scores   []float32
	ids      []kvcache.ThoughtID
	agree    float64
	pos      int       // the next position: the prompt's length once prefilled, then one per token
	count    int       // tokens generated
	logits   []float32 // the next token's distribution (nil after a greedy step: greedy holds its choice)
	greedy   int
	transfer int64 // bytes the model steps moved between host and backend
	// movedAtPrompt is the cache's MovedBytes when the prompt was in (decoding's transfer starts there).
	movedAtPrompt int64
	// generated lists the tokens generated so far, kept only for a LogitsProcessor (which sees them).
	generated []int
	selected  []int // the zoomed thoughts, from the last re-selection
	stats     *Stats
}

// Tokens streams the generated tokens. An error is yielded once, as the last element. A Generation
// runs once: ranging again (from any goroutine) yields ErrRanged.
func (g *Generation) Tokens() iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		if !g.used.CompareAndSwap(false, true) {
			yield(Token{}, ErrRanged)
			return
		}
		var stats Stats
		defer func() {
			g.mu.Lock()
			g.stats = stats
			g.mu.Unlock()
		}()
		if g.err != nil {
			stats.StopReason = StopError
			yield(Token{}, g.err)
			return
		}
		run := g.run
		if g.batcher != nil {
			run = g.runBatched
		}
		if err := run(&stats, yield); err != nil {
			if stats.StopReason == "" {
				stats.StopReason = StopError
			}
			yield(Token{}, err)
		}
	}
}

func (g *Generation) run(stats *Stats, yield func(Token, error) bool) error {
	d := g.d
	if err := d.checkPrompt(g.prompt); err != nil {
		return err
	}
	s, err := d.newSession(g.ctx, len(g.prompt), g.set, &g.text, stats)
	if err != nil {
		return err
	}
	defer s.cache.Reset() // frees the context buffers
	buildsAtStart := d.model.GraphBuilds()
	defer func() { stats.GraphBuilds = d.model.GraphBuilds() - buildsAtStart }()

	start := time.Now()
	if err := s.prefill(g.prompt); err != nil {
		return err
	}
	stats.PrefillSeconds = since(start)
	start = time.Now()
	defer func() {
		stats.DecodeSeconds = since(start)
		if stats.DecodeSeconds > 0 {
			stats.TokensPerSecond = float64(stats.Tokens) / stats.DecodeSeconds
		}
	}()
	for {
		if err := g.ctx.Err(); err != nil {
			stats.StopReason = StopCancelled
			return err
		}
		p, err := s.next()
		if err != nil {
			return err
		}
		var res []*model.StepResult
		if p.req != nil {
			modelStart := time.Now()
			res, err = d.model.StepBatch(g.ctx, []model.StepRequest{*p.req})
			p.model = since(modelStart)
			s.stats.ModelSeconds += p.model
			if err != nil {
				return err
			}
		}
		if err := s.finish(p, res); err != nil {
			return err
		}
		stats.Tokens++
		if !yield(p.tok, nil) {
			stats.StopReason = StopCaller
			return nil
		}
		if p.stop != "" {
			stats.StopReason = p.stop
			return nil
		}
	}
}

// newSession builds the per-generation collaborators.
func (d *Decoder) newSession(ctx context.Context, promptLen int, set genSettings, text *replyText, stats *Stats) (*session, error) {
	cache, err := d.cfg.newCache(d.layout, promptLen, d.slots)
	if err != nil {
		return nil, err
	}
	seg, err := d.newSegmenter()
	if err != nil {
		return nil, fmt.Errorf("%w: segmenter: %w", ErrConfig, err)
	}
	sel, err := d.newSelector()
	if err != nil {
		return nil, fmt.Errorf("%w: selector: %w", ErrConfig, err)
	}
	s := &session{d: d, ctx: ctx, cache: cache, seg: seg, text: text, sel: sel, sampler: newSampler(set), stops: d.stopRules(set), stats: stats}
	if set.think != thinkOpen {
		s.gate = &thinkGate{inner: seg, open: d.think.open, start: set.think, state: set.think}
		if d.tok != nil {
			s.gate.isSpace = isSpaceToken(d.tok)
		}
		s.seg = s.gate
	}
	s.sealer, _ = cache.(kvcache.Sealer)
	s.zoomer, _ = cache.(kvcache.Zoomer)
	s.observer, _ = cache.(kvcache.AttentionObserver)
	if d.cfg.NewLogitsProcessor != nil {
		if s.proc = d.cfg.NewLogitsProcessor(); s.proc == nil {
			return nil, fmt.Errorf("%w: NewLogitsProcessor returned nil", ErrConfig)
		}
	}
	if d.tok != nil {
		s.stream = d.tok.NewStreamDecoder()
	}
	stats.Policy = d.cfg.Policy
	stats.PromptTokens = promptLen
	return s, nil
}

// prefill runs the whole prompt, chunk by chunk.
func (s *session) prefill(prompt []int) error {
	for s.pos < len(prompt) {
		if err := s.prefillChunk(prompt); err != nil {
			return err
		}
	}
	return nil
}

// prefillChunk runs the next chunk of the prompt (PrefillChunk tokens) over the cache grown so far;
// after the last one the session holds the prompt's last logits. A Batcher interleaves chunks with
// the decode steps of running generations.
func (s *session) prefillChunk(prompt []int) error {
	start := s.pos
	end := min(start+s.d.cfg.PrefillChunk, len(prompt))
	var kv *model.KV
	if s.cache.Len() > 0 {
		c, err := s.cache.Context()
		if err != nil {
			return err
		}
		kv = modelKV(c)
	}
	res, err := s.d.model.Prefill(s.ctx, prompt[start:end], start, kv, false)
	if err != nil {
		return err
	}
	if err := s.cache.AppendPrompt(res.K, res.V, end-start); err != nil {
		return err
	}
	if _, err := s.cache.Context(); err != nil { // a device context takes the prompt's rows now
		return err
	}
	s.pos, s.logits = end, res.Logits
	s.movedAtPrompt = s.observeMemory().MovedBytes
	return nil
}

// pending is one sampled and segmented token between the two halves of its step: next prepares
// its model step (nil req when generation stops with it), finish applies the step's result. A
// Batcher runs the model steps of many sessions' pending tokens in one StepBatch.
type pending struct {
	tok   Token
	ev    summarize.Event
	stop  StopReason
	req   *model.StepRequest
	start time.Time
	model float64 // seconds of its model step (set by whoever ran it), not counted as overhead
}

// next samples the next token from the session's logits, segments it, decides whether generation
// stops with it, and otherwise seals a thought that ended before it and prepares its model step over
// the active context.
func (s *session) next() (*pending, error) {
	d := s.d
	p := &pending{start: time.Now()}
	if err := s.process(s.generated, s.logits); err != nil {
		return nil, err
	}
	var id int
	if s.logits == nil { // the last step ran greedy where the logits are and returned its choice
		id = s.greedy
	} else {
		id = s.sampler.sample(s.logits)
	}
	if s.proc != nil {
		s.generated = append(s.generated, id)
	}
	pos := s.pos
	s.pos++
	s.count++
	ev := s.seg.Observe(id)
	p.ev = ev
	p.tok = Token{ID: id, Kind: ev.Kind, Pos: pos, Thought: ev.Thought, Sealed: -1,
		Hidden: ev.AnswerBegan || (s.gate != nil && s.gate.opened) || (d.tok != nil && d.tok.IsControl(id))}
	// Ids past the tokenizer's vocabulary (padding rows of the embedding) have no text.
	if s.stream != nil && id < d.tok.VocabSize() {
		text, err := s.stream.Next(id)
		if err != nil {
			return nil, err
		}
		p.tok.Text = text
	}
	switch {
	case s.stops.stopToken(d, id):
		p.stop = StopToken
	case s.stops.stopString(&s.tail, p.tok.Text):
		p.stop = StopString
	case s.count >= s.stops.maxTokens:
		p.stop = StopMaxTokens
	}
	if p.stop != "" {
		return p, nil
	}
	if ev.Sealed() && ev.Seal.BeforeToken {
		if err := s.seal(ev.Seal, pos, &p.tok); err != nil {
			return nil, err
		}
	}
	c, err := s.cache.Context()
	if err != nil {
		return nil, err
	}
	p.req = &model.StepRequest{Token: id, Pos: pos, KV: *modelKV(c),
		Options: model.StepOptions{
			ReturnAttention: s.observer != nil,
			// Greedy without a processor needs one id, not the logits; the queries serve re-selection only.
			Greedy:      s.sampler.temp == 0 && s.proc == nil,
			SkipQueries: !ev.Reselect || s.zoomer == nil,
		}}
	return p, nil
}

// finish applies the model step's result (res[0]; nil when generation stops with the token): the
// attention to an observer, the token's K/V to the cache, a thought this token ended, a
// re-selection; the next logits; and describes the token.
func (s *session) finish(p *pending, res []*model.StepResult) error {
	defer func() { s.stats.OverheadSeconds += since(p.start) - p.model }()
	if res == nil {
		if s.stream != nil {
			p.tok.Text += s.stream.Flush() // bytes of an unfinished character, as U+FFFD
		}
		s.text.add(p.tok)
		if p.stop == StopString {
			s.text.trimStop(s.stops.matched(s.tail))
		}
		s.describe(&p.tok)
		return nil
	}
	r := res[0]
	if s.observer != nil {
		if err := s.observer.ObserveAttention(r.Attn); err != nil {
			return err
		}
	}
	if err := s.cache.Append(p.tok.Pos, r.K, r.V); err != nil {
		return err
	}
	if p.ev.Sealed() && !p.ev.Seal.BeforeToken {
		if err := s.seal(p.ev.Seal, p.tok.Pos+1, &p.tok); err != nil {
			return err
		}
	}
	if p.ev.Reselect {
		if err := s.reselect(r.Q, &p.tok); err != nil {
			return err
		}
	}
	s.logits, s.greedy = r.Logits, r.Next
	s.transfer += r.TransferBytes
	s.text.add(p.tok)
	s.describe(&p.tok)
	return nil
}

// seal is the decoder's thought tracker: the segmenter's seal, whose last token is at end-1, becomes
// the thought's spans (body, then its summary — or, sealed without one, its last Tail body tokens),
// which a Sealer cache is told.
func (s *session) seal(sl summarize.Seal, end int, tok *Token) error {
	sum := sl.SummaryLen
	if sum == 0 {
		sum = sl.Tail
	}
	bodyEnd := end - sum
	bodyStart := bodyEnd - sl.BodyLen
	if sl.SummaryLen == 0 {
		bodyStart += sl.Tail // BodyLen counts the tail
	}
	th := kvcache.Thought{ID: kvcache.ThoughtID(s.thoughts), Body: kvcache.Span{Start: bodyStart, End: bodyEnd},
		Summary: kvcache.Span{Start: bodyEnd, End: end}}
	if s.sealer != nil {
		if err := s.sealer.Seal(th); err != nil {
			return err
		}
	}
	s.thoughts++
	tok.Sealed = int(th.ID)
	return nil
}

// reselect scores every sealed thought's summary with the token's queries, lets the heads vote, and
// zooms the winners in.
func (s *session) reselect(q []float32, tok *Token) error {
	if s.zoomer == nil || s.zoomer.ZoomCapacity() == 0 || s.thoughts == 0 {
		return nil
	}
	start := time.Now()
	mc := s.d.model.Config
	n := s.thoughts
	need := mc.Layers * mc.Heads * n
	if cap(s.scores) < need {
		s.scores = make([]float32, need, 2*need)
	}
	s.scores = s.scores[:need]
	if err := s.zoomer.ScoreSummaries(q, s.scores); err != nil {
		return err
	}
	sel, err := s.sel.Select(consensus.Scores{Layers: mc.Layers, Heads: mc.Heads, Thoughts: n, Data: s.scores}, nil,
		min(s.d.cfg.Zoom, s.zoomer.ZoomCapacity()))
	if err != nil {
		return err
	}
	s.ids = s.ids[:0]
	for _, t := range sel.IDs {
		s.ids = append(s.ids, kvcache.ThoughtID(t))
	}
	if err := s.zoomer.Zoom(s.ids); err != nil {
		return err
	}
	s.agree = sel.Agreeability
	tok.Reselected = true
	tok.Zoomed = append([]int(nil), sel.IDs...)
	s.selected = tok.Zoomed
	s.stats.Reselections++
	s.stats.Agreeabilities = append(s.stats.Agreeabilities, sel.Agreeability)
	s.stats.SelectionSeconds += since(start)
	return nil
}

// observeMemory reads the cache's accounting once and folds its peaks into the stats.
func (s *session) observeMemory() kvcache.Memory {
	mem := s.cache.Memory()
	s.stats.PeakResidentBytes = max(s.stats.PeakResidentBytes, mem.PeakResidentBytes)
	s.stats.PeakHostBytes = max(s.stats.PeakHostBytes, mem.PeakHostBytes)
	return mem
}

func (s *session) describe(tok *Token) {
	mem := s.observeMemory()
	decoder := int64(8*cap(s.generated)+8*cap(s.stats.Agreeabilities)+4*cap(s.scores)) + s.text.bytes()
	transfer := s.transfer + mem.MovedBytes - s.movedAtPrompt
	s.stats.DecoderBytes, s.stats.TransferBytes = decoder, transfer
	tok.Stats = StepStats{ResidentBytes: mem.ResidentBytes, HostBytes: mem.HostBytes, IndexBytes: mem.IndexBytes,
		DecoderBytes: decoder, TransferBytes: transfer, ActiveTokens: mem.Attended.Total(),
		Capacity: mem.Capacity, Thoughts: s.thoughts, Selected: s.selected, Agreeability: s.agree,
		GraphBuilds: s.d.model.GraphBuilds(), ModelSeconds: s.stats.ModelSeconds, OverheadSeconds: s.stats.OverheadSeconds}
}

// modelKV is the model's view of a cache's active context, whole or split across devices.
func modelKV(c kvcache.Context) *model.KV {
	return &model.KV{K: c.K, V: c.V, Mask: c.Mask, ShardedK: c.ShardedK, ShardedV: c.ShardedV, ShardedMask: c.ShardedMask}
}
