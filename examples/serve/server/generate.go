package server

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/zoomr-go/zoomr/examples/serve/api"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/zoomr"
)

// generation is one request's run: its settings and the text produced so far.
type generation struct {
	id    string
	model string
	chat  bool   // chat: reasoning and content apart; completions: the text as it comes
	param string // the request field a prompt error names
	req   api.Common
	stops stopMatcher // on the content
	// The reply's trimming, as zoomr's Generation.Text trims: the reasoning of surrounding
	// whitespace, the content of leading whitespace (a completion's text is left as it is).
	reasoningTrim, contentTrim spaceTrim

	created            int64
	promptTokens       int
	tokens             int // generated tokens received
	reasoning, content strings.Builder
	tokenIDs           []int // with return_token_ids
	stream             *sse  // nil: one JSON response at the end
}

// generate ranges over the generation in the Batcher and writes the response: one JSON object, or
// server-sent events from the first token on.
func (s *Server) generate(w http.ResponseWriter, r *http.Request, g *generation, run *zoomr.Generation) {
	info := infoOf(r)
	g.promptTokens = len(run.PromptIDs())
	info.id, info.promptTokens = g.id, g.promptTokens
	if s.draining.Load() {
		fail(w, r, api.ShuttingDown())
		return
	}
	g.created, g.model = time.Now().Unix(), s.opts.Name
	g.stops.stops = g.req.Stop
	g.reasoningTrim, g.contentTrim = spaceTrim{trailing: true}, spaceTrim{}
	if !g.chat {
		g.contentTrim.off = true
	}
	if s.dec.Tokenizer() == nil {
		g.req.ReturnTokenIDs = true // without text, the ids are the output
	}
	ctx := r.Context()
	var genErr error
	stopped, clientGone := false, false
	for tok, err := range run.Tokens() {
		if err != nil {
			genErr = err
			break
		}
		if g.tokens == 0 {
			info.ttft = time.Since(info.start)
			if g.req.Stream {
				g.stream = beginStream(w, s.opts.WriteTimeout)
				if err := g.stream.event(g.roleChunk()); err != nil {
					clientGone = true
					break
				}
			}
		}
		g.tokens++
		reasoning, content := s.split(g, tok)
		content, found := g.stops.push(content)
		if err := g.add(reasoning, content, tok.ID, false); err != nil {
			clientGone = true
			break
		}
		if found {
			stopped = true
			break
		}
	}
	st := run.Stats() // complete: ranging has ended (the batcher has ended the generation)
	info.completion, info.tokensPerSecond = g.tokens, st.TokensPerSecond
	if clientGone || ctx.Err() != nil {
		info.clientGone = true
		return
	}
	if genErr != nil {
		s.failGeneration(w, r, g, genErr)
		return
	}
	held := ""
	if !stopped {
		held = g.stops.flush()
	}
	if err := g.add("", held, -1, true); err != nil {
		info.clientGone = true
		return
	}
	info.finish = finishReason(stopped, st.StopReason)
	if err := g.finish(w, info.finish, s.usage(g, st)); err != nil {
		info.clientGone = true
	}
}

// split is a token's text as reasoning and content. Chat: zoomr's split (Token.Delta: the thinking
// span's tokens are reasoning, its markers and control tokens hidden). Completions: all content,
// control tokens left out. skip_special_tokens=false writes the control tokens too.
func (s *Server) split(g *generation, tok zoomr.Token) (reasoning, content string) {
	tk := s.dec.Tokenizer()
	control := tk != nil && tk.IsControl(tok.ID)
	if !g.chat {
		if control && !g.req.KeepSpecial {
			return "", ""
		}
		return "", tok.Text
	}
	reasoning, content = tok.Delta()
	if tok.Hidden && control && g.req.KeepSpecial {
		if tok.Kind == summarize.Answer {
			return "", tok.Text
		}
		return tok.Text, ""
	}
	return reasoning, content
}

// genOptions are a request's generation settings; what it leaves out is the Decoder's (the
// model's defaults under zoomr.Load) or the server's Temperature.
func (s *Server) genOptions(c api.Common) []zoomr.GenOption {
	cfg := s.dec.Config()
	temp, topK, topP := cfg.Temperature, cfg.TopK, cfg.TopP
	if s.opts.Temperature != nil {
		temp = *s.opts.Temperature
	}
	if c.Temperature != nil {
		temp = *c.Temperature
	}
	if c.TopK != nil {
		topK = *c.TopK
	}
	if c.TopP != nil {
		topP = *c.TopP
	}
	var seed uint64
	if c.Seed != nil {
		seed = uint64(*c.Seed)
	} else {
		var b [8]byte
		randRead(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	return []zoomr.GenOption{zoomr.WithMaxTokens(c.MaxTokens), zoomr.WithSampling(temp, topK, topP, seed),
		zoomr.WithIgnoreEOS(c.IgnoreEOS)}
}

// failGeneration answers a generation that ended in an error: a JSON error if nothing was sent
// yet, else an error event closing the stream.
func (s *Server) failGeneration(w http.ResponseWriter, r *http.Request, g *generation, err error) {
	var aerr *api.Error
	switch {
	case errors.Is(err, zoomr.ErrBusy):
		aerr = api.QueueFull()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(s.opts.RetryAfter.Seconds()))))
	case errors.Is(err, zoomr.ErrClosed):
		aerr = api.ShuttingDown()
	case errors.Is(err, zoomr.ErrPrompt):
		aerr = api.BadPrompt(g.param, err)
	default:
		aerr = api.Internal(err)
		infoOf(r).genErr = err
	}
	if g.stream == nil {
		fail(w, r, aerr)
		return
	}
	infoOf(r).err = aerr
	if g.stream.event(api.ErrorBody{Error: aerr}) == nil {
		g.stream.done()
	}
}

// add takes a token's reasoning and content (content after the stop strings), trims them as the
// whole reply is trimmed, and streams the delta. id < 0: no token (the end, final: what was held).
func (g *generation) add(reasoning, content string, id int, final bool) error {
	reasoning = g.reasoningTrim.push(reasoning, final)
	content = g.contentTrim.push(content, final)
	g.reasoning.WriteString(reasoning)
	g.content.WriteString(content)
	var ids []int
	if g.req.ReturnTokenIDs && id >= 0 {
		ids = []int{id}
		g.tokenIDs = append(g.tokenIDs, id)
	}
	if g.stream == nil || (reasoning == "" && content == "" && ids == nil) {
		return nil
	}
	return g.stream.event(g.deltaChunk(reasoning, content, ids, nil))
}

// finish writes the end: the last stream events, or the whole JSON response.
func (g *generation) finish(w http.ResponseWriter, reason string, usage *api.Usage) error {
	if g.stream == nil {
		if g.chat {
			writeJSON(w, http.StatusOK, api.ChatCompletion{ID: g.id, Object: "chat.completion", Created: g.created,
				Model: g.model, Choices: []api.ChatChoice{{Message: api.ChatMessage{Role: "assistant",
					Content: g.content.String(), ReasoningContent: g.reasoning.String()}, FinishReason: reason,
					TokenIDs: g.tokenIDs}}, Usage: usage})
		} else {
			writeJSON(w, http.StatusOK, api.Completion{ID: g.id, Object: "text_completion", Created: g.created,
				Model: g.model, Choices: []api.CompletionChoice{{Text: g.content.String(), FinishReason: &reason,
					TokenIDs: g.tokenIDs}}, Usage: usage})
		}
		return nil
	}
	if err := g.stream.event(g.deltaChunk("", "", nil, &reason)); err != nil {
		return err
	}
	if g.req.IncludeUsage {
		if err := g.stream.event(g.usageChunk(usage)); err != nil {
			return err
		}
	}
	return g.stream.done()
}

func (s *Server) usage(g *generation, st zoomr.Stats) *api.Usage {
	return &api.Usage{PromptTokens: g.promptTokens, CompletionTokens: g.tokens,
		TotalTokens: g.promptTokens + g.tokens, ZoomR: &api.ZoomRUsage{Policy: st.Policy,
			PeakResidentKVBytes: st.PeakResidentBytes, PeakHostKVBytes: st.PeakHostBytes,
			TokensPerSecond: st.TokensPerSecond, Reselections: st.Reselections,
			PrefillSeconds: st.PrefillSeconds, DecodeSeconds: st.DecodeSeconds}}
}

// finishReason is OpenAI's: "length" when max_tokens ended it, "stop" otherwise.
func finishReason(stopString bool, r zoomr.StopReason) string {
	if !stopString && r == zoomr.StopMaxTokens {
		return "length"
	}
	return "stop"
}

// The stream's events.

func (g *generation) roleChunk() any {
	if !g.chat {
		return nil // completions have no role event
	}
	empty := ""
	return g.chatChunk([]api.ChunkChoice{{Delta: api.Delta{Role: "assistant", Content: &empty}}}, nil)
}

func (g *generation) deltaChunk(reasoning, content string, ids []int, finish *string) any {
	if !g.chat {
		return api.Completion{ID: g.id, Object: "text_completion", Created: g.created, Model: g.model,
			Choices: []api.CompletionChoice{{Text: content, FinishReason: finish, TokenIDs: ids}}}
	}
	var d api.Delta
	if reasoning != "" {
		d.ReasoningContent = &reasoning
	}
	if content != "" {
		d.Content = &content
	}
	return g.chatChunk([]api.ChunkChoice{{Delta: d, FinishReason: finish, TokenIDs: ids}}, nil)
}

func (g *generation) usageChunk(u *api.Usage) any {
	if !g.chat {
		return api.Completion{ID: g.id, Object: "text_completion", Created: g.created, Model: g.model,
			Choices: []api.CompletionChoice{}, Usage: u}
	}
	return g.chatChunk([]api.ChunkChoice{}, u)
}

func (g *generation) chatChunk(choices []api.ChunkChoice, u *api.Usage) api.ChatCompletionChunk {
	return api.ChatCompletionChunk{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: g.model,
		Choices: choices, Usage: u}
}

// sse writes server-sent events, flushing each.
type sse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func beginStream(w http.ResponseWriter, timeout time.Duration) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	return &sse{w: w, rc: http.NewResponseController(w), timeout: timeout}
}

// event writes one "data: {json}" event (nil writes nothing).
func (e *sse) event(v any) error {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return e.write(append(append([]byte("data: "), b...), '\n', '\n'))
}

// done ends the stream as OpenAI does.
func (e *sse) done() error { return e.write([]byte("data: [DONE]\n\n")) }

func (e *sse) write(b []byte) error {
	e.rc.SetWriteDeadline(time.Now().Add(e.timeout)) // unsupported writers: no deadline
	if _, err := e.w.Write(b); err != nil {
		return err
	}
	return e.rc.Flush()
}
