package zoomr

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zoomr-go/zoomr/model"
)

// ErrBusy is returned by Batcher.TryStart when the batcher's admission queue is full.
var ErrBusy = errors.New("zoomr: batcher queue full")

// ErrClosed is yielded by generations of a closed Batcher.
var ErrClosed = errors.New("zoomr: batcher closed")

// BatcherOptions size a Batcher. Zero values take the defaults.
type BatcherOptions struct {
	// MaxBatch is the most generations decoding at once (default 8): each decode step of all of them
	// is one pass over the model's weights.
	MaxBatch int
	// MaxQueue is the most generations waiting for a place (default 64); TryStart refuses beyond it.
	MaxQueue int
}

// Batcher runs many generations of one Decoder with continuous batching: every decode step of the
// running generations is one model.StepBatch (on the host engine, one pass over the weights for all
// of them instead of one per generation); generations join between steps and leave when they end or
// their context is cancelled (their place is free at the next step). A new generation's prompt is
// prefilled one chunk (Config.PrefillChunk tokens) per step, so running streams never wait more than
// one chunk for it. Each generation keeps its own cache, segmenter, selector, sampler and settings,
// and gives the same tokens as it would alone (greedy; up to float32 rounding of the batched
// products). A Batcher is safe for concurrent use; Close it when done.
type Batcher struct {
	d    *Decoder
	opts BatcherOptions

	mu      sync.Mutex
	waiting []*batchJob
	wake    chan struct{} // a job arrived or the batcher closed (capacity 1)
	closed  bool
	done    chan struct{} // the loop has exited
	counts  BatcherStats
}

// BatcherStats are a Batcher's counters so far.
type BatcherStats struct {
	Steps    int64 // batched decode steps run
	Rows     int64 // generation steps in them (Rows/Steps is the mean batch size)
	Prefills int64 // prefill chunks run
	Waiting  int   // generations waiting for a place now
	Running  int   // generations prefilling or decoding now
}

// NewBatcher starts a batcher over d (its loop runs on a goroutine of its own until Close).
func (d *Decoder) NewBatcher(opts BatcherOptions) (*Batcher, error) {
	if opts.MaxBatch < 0 || opts.MaxQueue < 0 {
		return nil, fmt.Errorf("%w: MaxBatch %d, MaxQueue %d", ErrConfig, opts.MaxBatch, opts.MaxQueue)
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = 8
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = 64
	}
	b := &Batcher{d: d, opts: opts, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go b.loop()
	return b, nil
}

// batchJob is one generation inside the batcher.
type batchJob struct {
	g      *Generation
	ctx    context.Context
	s      *session
	out    *tokenQueue
	stats  Stats
	start  time.Time // decoding started
	builds int64
}

// Start prepares a generation from prompt ids that runs in the batcher; range over its Tokens (the
// generation joins the batch when ranging starts, and leaves when ranging stops). Ranging yields
// ErrBusy if the queue is full.
func (b *Batcher) Start(ctx context.Context, prompt []int, opts ...GenOption) *Generation {
	g := b.d.StartIDs(ctx, prompt, opts...)
	g.batcher = b
	return g
}

// StartText is Start for a text prompt, tokenized as Decoder.Encode does.
func (b *Batcher) StartText(ctx context.Context, prompt string, opts ...GenOption) *Generation {
	g := b.d.Start(ctx, prompt, opts...)
	g.batcher = b
	return g
}

// Stats are the batcher's counters.
func (b *Batcher) Stats() BatcherStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counts
}

// Close stops the batcher: running and waiting generations end with ErrClosed. It waits for the
// loop to exit.
func (b *Batcher) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		b.signal()
	}
	b.mu.Unlock()
	<-b.done
}

// signal wakes the loop (b.mu held or not: the channel has room for one).
func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// submit queues a generation; the job's queue receives its tokens.
func (b *Batcher) submit(g *Generation, ctx context.Context) (*batchJob, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, ErrClosed
	case len(b.waiting) >= b.opts.MaxQueue:
		return nil, fmt.Errorf("%w: %d generations waiting", ErrBusy, len(b.waiting))
	}
	j := &batchJob{g: g, ctx: ctx, out: newTokenQueue()}
	b.waiting = append(b.waiting, j)
	b.counts.Waiting = len(b.waiting)
	b.signal()
	return j, nil
}

// runBatched streams a generation run by the batcher: tokens arrive through the job's queue; when
// the caller stops ranging, the job is cancelled and leaves the batch at the next step.
func (g *Generation) runBatched(stats *Stats, yield func(Token, error) bool) error {
	ctx, cancel := context.WithCancel(g.ctx)
	defer cancel()
	j, err := g.batcher.submit(g, ctx)
	if err != nil {
		return err
	}
	defer func() { *stats = j.out.wait() }()
	for {
		toks, done, final := j.out.take(ctx)
		for _, t := range toks {
			if !yield(t, nil) {
				cancel()
				j.out.stopReason(StopCaller)
				return nil
			}
		}
		if done {
			return final
		}
	}
}

// loop is the batcher's goroutine: admit, prefill one chunk, decode one step, repeat.
func (b *Batcher) loop() {
	defer close(b.done)
	var active []*batchJob
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			for _, j := range append(active, b.drainWaiting()...) {
				b.end(j, "", ErrClosed)
			}
			return
		}
		for len(active) < b.opts.MaxBatch && len(b.waiting) > 0 {
			j := b.waiting[0]
			b.waiting = b.waiting[1:]
			active = append(active, j)
		}
		b.counts.Waiting, b.counts.Running = len(b.waiting), len(active)
		b.mu.Unlock()
		if len(active) == 0 {
			<-b.wake
			continue
		}
		active = b.step(active)
	}
}

// drainWaiting empties the queue (b.mu held).
func (b *Batcher) drainWaiting() []*batchJob {
	w := b.waiting
	b.waiting = nil
	return w
}

// step runs one prefill chunk (for the oldest generation still prefilling) and one batched decode
// step (for every generation past its prompt), and returns the generations still running.
func (b *Batcher) step(active []*batchJob) []*batchJob {
	var decoding []*batchJob
	prefilled := false
	keep := active[:0]
	for _, j := range active {
		switch {
		case j.ctx.Err() != nil:
			b.end(j, StopCancelled, j.ctx.Err())
			continue
		case j.s == nil:
			if err := b.setup(j); err != nil {
				b.end(j, StopError, err)
				continue
			}
		}
		if j.s.pos < len(j.g.prompt) {
			if !prefilled {
				prefilled = true
				if err := b.prefill(j); err != nil {
					b.end(j, StopError, err)
					continue
				}
			}
			keep = append(keep, j)
			continue
		}
		decoding = append(decoding, j)
		keep = append(keep, j)
	}
	if len(decoding) == 0 {
		return keep
	}
	ended := b.decode(decoding)
	out := keep[:0]
	for _, j := range keep {
		if !ended[j] {
			out = append(out, j)
		}
	}
	return out
}

// setup builds a job's session (its first step in the batch).
func (b *Batcher) setup(j *batchJob) error {
	g := j.g
	if g.err != nil {
		return g.err
	}
	if err := b.d.checkPrompt(g.prompt); err != nil {
		return err
	}
	s, err := b.d.newSession(j.ctx, len(g.prompt), g.set, &g.text, &j.stats)
	if err != nil {
		return err
	}
	j.s, j.builds = s, b.d.model.GraphBuilds()
	return nil
}

// prefill runs the next chunk of a job's prompt.
func (b *Batcher) prefill(j *batchJob) error {
	start := time.Now()
	err := j.s.prefillChunk(j.g.prompt)
	j.stats.PrefillSeconds += since(start)
	if j.s.pos == len(j.g.prompt) {
		j.start = time.Now()
	}
	b.mu.Lock()
	b.counts.Prefills++
	b.mu.Unlock()
	return err
}

// decode samples every decoding job's next token, runs their model steps as one batch and applies
// the results; it returns the jobs that ended.
func (b *Batcher) decode(jobs []*batchJob) map[*batchJob]bool {
	ended := map[*batchJob]bool{}
	var reqs []model.StepRequest
	var stepping []*batchJob
	var pend []*pending
	for _, j := range jobs {
		p, err := j.s.next()
		if err != nil {
			b.end(j, StopError, err)
			ended[j] = true
			continue
		}
		if p.req == nil { // the generation stops with this token
			b.emit(j, p, nil)
			ended[j] = true
			continue
		}
		reqs, stepping, pend = append(reqs, *p.req), append(stepping, j), append(pend, p)
	}
	if len(reqs) == 0 {
		return ended
	}
	start := time.Now()
	res, err := b.d.model.StepBatch(context.Background(), reqs)
	elapsed := since(start)
	b.mu.Lock()
	b.counts.Steps++
	b.counts.Rows += int64(len(reqs))
	b.mu.Unlock()
	for i, j := range stepping {
		j.stats.ModelSeconds += elapsed
		pend[i].model = elapsed
		if err != nil {
			b.end(j, StopError, err)
			ended[j] = true
			continue
		}
		if !b.emit(j, pend[i], res[i:i+1]) {
			ended[j] = true
		}
	}
	return ended
}

// emit finishes a job's step and queues its token; it reports whether the job goes on.
func (b *Batcher) emit(j *batchJob, p *pending, res []*model.StepResult) bool {
	if err := j.s.finish(p, res); err != nil {
		b.end(j, StopError, err)
		return false
	}
	j.stats.Tokens++
	j.out.push(p.tok)
	if p.stop != "" {
		b.end(j, p.stop, nil)
		return false
	}
	return true
}

// end finishes a job: its cache is freed, its stats completed, its stream closed with err.
func (b *Batcher) end(j *batchJob, reason StopReason, err error) {
	if j.s != nil {
		j.s.cache.Reset()
		j.stats.GraphBuilds = b.d.model.GraphBuilds() - j.builds
	}
	if !j.start.IsZero() {
		j.stats.DecodeSeconds = since(j.start)
		if j.stats.DecodeSeconds > 0 {
			j.stats.TokensPerSecond = float64(j.stats.Tokens) / j.stats.DecodeSeconds
		}
	}
	if reason == "" && err != nil {
		reason = StopError
	}
	j.stats.StopReason = reason
	j.out.finish(j.stats, err)
}

// tokenQueue carries a batched generation's tokens from the batcher's loop to the ranging
// goroutine without ever blocking the loop (a slow reader must not stall the batch).
type tokenQueue struct {
	mu      sync.Mutex
	items   []Token
	err     error
	stats   Stats
	done    bool
	reason  StopReason // set by the reader when it stops ranging
	notify  chan struct{}
	doneSig chan struct{}
}

func newTokenQueue() *tokenQueue {
	return &tokenQueue{notify: make(chan struct{}, 1), doneSig: make(chan struct{})}
}

func (q *tokenQueue) push(t Token) {
	q.mu.Lock()
	q.items = append(q.items, t)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *tokenQueue) finish(st Stats, err error) {
	q.mu.Lock()
	if !q.done {
		q.done, q.err, q.stats = true, err, st
		close(q.doneSig)
	}
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// take waits for tokens or the end: it returns what is queued, and, once the generation ended and
// everything was taken, its error and done = true.
func (q *tokenQueue) take(ctx context.Context) (toks []Token, done bool, err error) {
	for {
		q.mu.Lock()
		toks, q.items = q.items, nil
		finished, err := q.done, q.err
		q.mu.Unlock()
		if len(toks) > 0 || finished {
			return toks, finished && len(toks) == 0, err
		}
		select {
		case <-q.notify:
		case <-ctx.Done():
			<-q.doneSig // the loop ends the job at its next step
		}
	}
}

// stopReason records why the reader stopped (it wins over the loop's cancellation).
func (q *tokenQueue) stopReason(r StopReason) {
	q.mu.Lock()
	q.reason = r
	q.mu.Unlock()
}

// wait returns the generation's final stats once the loop has ended it.
func (q *tokenQueue) wait() Stats {
	<-q.doneSig
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.stats
	if q.reason != "" {
		st.StopReason = q.reason
	}
	return st
}
