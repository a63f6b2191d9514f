package kvcache

// SumR is the "summaries only" baseline of the paper: prompt (sink) + the summaries of all thoughts +
// a window, with no zoom. Its host store keeps only the open thought (what it needs to build the
// summary entry), so its host bytes stay bounded too. Zoom returns ErrNotSupported.
type SumR struct{ *ZoomR }

// SumRConfig configures SumR; the fields mean what they mean in Config (zero values: the defaults).
type SumRConfig struct {
	Layout      Layout
	Sinks       int // 0: the whole prompt
	SinkAlign   int
	Window      int
	SummaryCap  int
	SummaryGrow bool
	MaxTokens   int
	HostBlock   int
}

func (c SumRConfig) resolve() (Config, error) {
	return Config{Layout: c.Layout, Sinks: c.Sinks, SinkAlign: c.SinkAlign, Window: c.Window,
		SummaryCap: c.SummaryCap, SummaryGrow: c.SummaryGrow, MaxTokens: c.MaxTokens,
		HostBlock: c.HostBlock}.resolve(false, true)
}

// NewSumR builds a SumR cache.
func NewSumR(c SumRConfig) (*SumR, error) {
	r, err := c.resolve()
	if err != nil {
		return nil, err
	}
	return &SumR{newEngine(r, hostOpen)}, nil
}

// StreamingLLM is the attention-sink baseline (Xiao et al. 2023): the first Sinks tokens of the stream
// plus a window of the most recent ones. It keeps nothing on the host; thoughts are tracked (IDs, spans)
// but cannot be scored or zoomed (ErrNotSupported).
type StreamingLLM struct{ *ZoomR }

// DefaultStreamingSinks is the paper's number of attention-sink tokens.
const DefaultStreamingSinks = 4

// StreamingConfig configures StreamingLLM. Zero values: Sinks = DefaultStreamingSinks, Window = DefaultWindow.
type StreamingConfig struct {
	Layout Layout
	Sinks  int
	Window int
}

// NewStreamingLLM builds a StreamingLLM cache.
func NewStreamingLLM(c StreamingConfig) (*StreamingLLM, error) {
	r, err := c.resolve()
	if err != nil {
		return nil, err
	}
	return &StreamingLLM{newEngine(r, hostNone)}, nil
}

func (c StreamingConfig) resolve() (Config, error) {
	if c.Sinks == 0 {
		c.Sinks = DefaultStreamingSinks
	}
	return Config{Layout: c.Layout, Sinks: c.Sinks, Window: c.Window}.resolve(false, false)
}

// Budget of a SumR cache for a prompt of promptLen tokens (see Config.Budget).
func (c SumRConfig) Budget(promptLen int) (Budget, error) {
	r, err := c.resolve()
	if err != nil {
		return Budget{}, err
	}
	return r.budget(promptLen, r.SummaryCap), nil
}

// Budget of a StreamingLLM cache.
func (c StreamingConfig) Budget() (Budget, error) {
	r, err := c.resolve()
	if err != nil {
		return Budget{}, err
	}
	return r.budget(0, 0), nil
}
