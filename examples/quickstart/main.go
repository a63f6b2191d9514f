// Command quickstart decodes one held-out reasoning problem with the bundled tiny model under ZoomR,
// streaming its thoughts, summaries and zoom events, then compares memory and speed with the full
// KV cache on the same problem.
//
//	go run ./examples/quickstart
//
// The model (testdata/zoomr-tiny) was trained by examples/train to close every thought with a
// summary. The problem is one it never saw: each step's body walks a key-driven chain of digits and
// ends with a note; the summary keeps only the new value. The question asks for one step's note,
// which only that step's body holds: ZoomR's heads vote on the summaries, zoom that body back in,
// and the answer is read from it, while the cache never holds more than the prompt, the summaries,
// the ends of two zoomed thoughts and a 128-token window. The answer is constrained to the question
// form's schema (restated question, answer word, EOS), as an application that knows its answer
// format would constrain it; -answer-grammar=false shows the model's free answer, which for a step
// far back often takes a value's form (docs/training-history.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/zoomr-go/zoomr/examples/internal/taskrun"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/zoomr"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("model", taskrun.DefaultModel, "model directory")
	seed := flag.Uint64("seed", 7, "seed of the held-out problem")
	value := flag.Bool("value", false, "ask a value question (answered from a summary) instead of a note")
	grammar := flag.Bool("answer-grammar", true, "constrain the answer to the question form's schema (task.AnswerGrammar); false: the model's free answer")
	flag.Parse()
	ctx := context.Background()
	m, tok, err := taskrun.Load(ctx, *dir)
	if err != nil {
		return err
	}
	share := 1.0
	if *value {
		share = -1
	}
	tt, err := taskrun.LoadTask(*dir)
	if err != nil {
		return err
	}
	g, err := task.NewGenerator(task.Config{NoteShare: share, Form: tt.Form, Scale: tt.Scale}, task.HeldOut, *seed)
	if err != nil {
		return err
	}
	p := g.Next()
	fmt.Printf("prompt: %s\n", p.Prompt())
	fmt.Printf("(%d steps of %d moves; the question asks for step #%d's %s)\n\n", p.Steps(), p.Walk, p.Target, p.Kind)

	config := func(p string) (zoomr.Config, error) {
		if *grammar {
			return taskrun.WithAnswerGrammar(taskrun.Config(p, 0, tt), tok, tt.Form)
		}
		return taskrun.Config(p, 0, tt), nil
	}
	zcfg, err := config(zoomr.PolicyZoomR)
	if err != nil {
		return err
	}
	zdec, err := zoomr.New(m, tok, zcfg)
	if err != nil {
		return err
	}
	pr := &printer{words: func(id int) string { return taskrun.Words(tok, id) }}
	z, err := taskrun.Solve(ctx, zdec, p, false, pr.token)
	if err != nil {
		return err
	}
	pr.flush()
	// A result is "right" when the answer matches the reference solution, "recalled" when it matches
	// what the model itself wrote for that step (its walk may have drifted from the reference earlier
	// on; reading its own thought back is what the cache decides), "wrong" otherwise.
	mark := func(r taskrun.Result) string {
		switch {
		case r.Correct:
			return "right"
		case r.Recalled:
			return "recalled"
		}
		return "wrong"
	}
	constrained := ""
	if *grammar {
		constrained = ", constrained to the answer schema"
	}
	fmt.Printf("\nanswer: %s   (reference %s: %s%s)\n", z.Answer, p.AnswerToken(), mark(z), constrained)
	if d := z.Divergence; d.Role == task.RoleEnd {
		fmt.Printf("(the trace went on past the reference's %d thoughts)\n", p.Steps())
	} else if !d.Exact {
		fmt.Printf("(the trace first left the reference in thought %d: %s %q where the reference has %q)\n",
			d.Thought+1, d.Role, d.Got, d.Want)
	}
	fmt.Println()

	fcfg, err := config(zoomr.PolicyFull)
	if err != nil {
		return err
	}
	fdec, err := zoomr.New(m, tok, fcfg)
	if err != nil {
		return err
	}
	f, err := taskrun.Solve(ctx, fdec, p, false, nil)
	if err != nil {
		return err
	}
	kib := func(b int64) float64 { return float64(b) / 1024 }
	fmt.Printf("ZoomR : %-8s  peak resident KV %7.1f KiB (host store %.1f KiB)  %4.0f tokens/s  %d tokens\n",
		mark(z), kib(z.Stats.PeakResidentBytes), kib(z.Stats.PeakHostBytes), z.Stats.TokensPerSecond, z.Stats.Tokens)
	fmt.Printf("Full  : %-8s  peak resident KV %7.1f KiB                        %4.0f tokens/s  %d tokens\n",
		mark(f), kib(f.Stats.PeakResidentBytes), f.Stats.TokensPerSecond, f.Stats.Tokens)
	fmt.Printf("ZoomR holds %.1f× less KV resident than the full cache, at %.2f× its decoding speed (%d re-selections, %d zoom changes)\n",
		float64(f.Stats.PeakResidentBytes)/float64(max(1, z.Stats.PeakResidentBytes)),
		z.Stats.TokensPerSecond/max(1e-9, f.Stats.TokensPerSecond), z.Stats.Reselections, z.Zooms)
	return nil
}

// printer writes the stream one thought per line: the body, its summary in ⟦…⟧, and zoom events.
type printer struct {
	words func(id int) string
	line  strings.Builder
	kind  summarize.Kind
	last  []int
	n     int // words on the current line
}

func (p *printer) token(t zoomr.Token) {
	w := p.words(t.ID)
	switch {
	case t.Kind == summarize.Summary && (w == task.BeginSummary):
		p.write("⟦")
	case t.Kind == summarize.Summary && w == task.EndSummary:
		p.write("⟧")
	case w == task.AnswerMarker:
		p.flush()
		p.write("answer ▶")
	case w == task.EOS:
	default:
		if t.Kind == summarize.Thought && p.n > 16 && strings.HasPrefix(w, "w") && w != "w1" {
			// Long walks: keep the start and the end of each body.
			if p.n == 17 {
				p.write("…")
			}
			p.n++
			return
		}
		p.write(w)
	}
	if t.Sealed >= 0 {
		p.flush()
	}
	if t.Reselected && !sameSet(t.Zoomed, p.last) {
		p.last = append(p.last[:0], t.Zoomed...)
		ids := make([]string, len(t.Zoomed))
		for i, id := range t.Zoomed {
			ids[i] = fmt.Sprint(id)
		}
		p.flush()
		fmt.Printf("    ↳ zoom in: thoughts [%s] (agreeability %.2f)\n", strings.Join(ids, " "), t.Stats.Agreeability)
	}
}

func (p *printer) write(s string) {
	if p.line.Len() > 0 && s != "⟧" {
		p.line.WriteByte(' ')
	}
	p.line.WriteString(s)
	p.n++
}

func (p *printer) flush() {
	if p.line.Len() > 0 {
		fmt.Println(p.line.String())
	}
	p.line.Reset()
	p.n = 0
}

func sameSet(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
