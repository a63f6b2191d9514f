package train

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/zoomr-go/zoomr/consensus"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/summarize"
)

// Evaluator measures a model on fixed held-out examples, teacher-forced (the reference trace is fed
// and every next-token prediction is checked), under the attention patterns of the cache policies:
//
//	full    full causal attention
//	sumr    prompt + summaries + window, nothing zoomed (summaries only)
//	oracle  sumr + the routed thought's body zoomed in from the routing position on
//	scored  sumr + the thoughts GlobalVote picks from the routing query's mean-summary-key scores
//	        (k votes per head, Zoom thoughts), as a ZoomR decoder does at that re-selection point
//
// It reports answer accuracy (every answer token right) per mode and per example Tag, the routed
// thought's share of top-1 head scores and of GlobalVote selections, and trace accuracy (thought and
// summary tokens; "exact" = every one right) under full and restricted attention.
type Evaluator struct {
	m        *model.Model
	examples []*Example
	exec     *mlctx.Exec
	// Window, Zoom and Votes of the restricted modes (defaults 64, 2, 2); BatchTokens per forward pass.
	Window, Zoom, Votes, BatchTokens int
}

// NewEvaluator prepares an evaluator over examples (which should have routing positions).
func NewEvaluator(m *model.Model, examples []*Example) (*Evaluator, error) {
	for i, e := range examples {
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("eval example %d: %w", i, err)
		}
	}
	ev := &Evaluator{m: m, examples: examples, Window: 64, Zoom: 2, Votes: 2, BatchTokens: 8192}
	exec, err := mlctx.NewExecAny(m.Backend(), m.Context().Reuse(), ev.graph)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrain, err)
	}
	ev.exec = exec.SetMaxCache(64)
	return ev, nil
}

// graph: tokens, mask, route, member -> argmax [B, T], scores [L, B, H, J].
func (ev *Evaluator) graph(_ *mlctx.Context, in []*Node) []*Node {
	out := ev.m.TrainForward(in[0], in[1])
	return []*Node{ArgMax(out.Logits, -1, dtypes.Int32), Stack(routeScores(ev.m.Config, out, in[2], in[3]), 0)}
}

// Report is the result of one evaluation. Accuracies are in [0, 1].
type Report struct {
	N int
	// Answer[mode][tag] is the answer accuracy; tag "" is over all examples.
	Answer map[string]map[string]float64
	// RouteTop1 is the share of (example, layer, head) whose best-scored thought is the routed one
	// (scores from the sumr pass); Selected the share of examples where GlobalVote picked it.
	RouteTop1, Selected float64
	// TraceTok / TraceExact under full and restricted (sumr) attention.
	TraceTok, TraceExact map[string]float64
}

// Modes in report order.
var Modes = []string{"full", "sumr", "oracle", "scored"}

// Run evaluates every example.
func (ev *Evaluator) Run() (*Report, error) {
	r := &Report{N: len(ev.examples), Answer: map[string]map[string]float64{}, TraceTok: map[string]float64{},
		TraceExact: map[string]float64{}}
	type tally struct{ right, n int }
	answer := map[string]map[string]*tally{}
	add := func(mode, tag string, ok bool) {
		if answer[mode] == nil {
			answer[mode] = map[string]*tally{}
		}
		for _, t := range []string{"", tag} {
			if answer[mode][t] == nil {
				answer[mode][t] = &tally{}
			}
			answer[mode][t].n++
			if ok {
				answer[mode][t].right++
			}
		}
	}
	var top1, sel float64
	var nRoute int
	traceTok, traceN := map[string]int{}, map[string]int{}
	traceExact := map[string]int{}
	voter, err := consensus.NewGlobalVote(consensus.Options{VotesPerHead: ev.Votes})
	if err != nil {
		return nil, err
	}
	for from := 0; from < len(ev.examples); {
		chunk := ev.chunk(from)
		from += len(chunk)
		// full
		full, _, err := ev.pass(chunk, func(e *Example, T int, dst []float32) { CausalMask(e.Len(), T, dst) })
		if err != nil {
			return nil, err
		}
		// sumr: no zoom at all
		none := func(e *Example, T int, dst []float32) { RouteView(e, ev.Window, nil).Fill(e, T, dst) }
		sumr, scores, err := ev.pass(chunk, none)
		if err != nil {
			return nil, err
		}
		// oracle: the routed thought from the routing position on
		oracle, _, err := ev.pass(chunk, func(e *Example, T int, dst []float32) {
			RouteView(e, ev.Window, []int{e.RouteThought}).Fill(e, T, dst)
		})
		if err != nil {
			return nil, err
		}
		// scored: GlobalVote over the sumr pass's routing scores
		picked := make([][]int, len(chunk))
		for i, e := range chunk {
			if e.Route < 0 {
				continue
			}
			s, valid := scores.of(i, e)
			selection, err := voter.Select(s, valid, ev.Zoom)
			if err != nil {
				return nil, err
			}
			picked[i] = append([]int(nil), selection.IDs...)
			nRoute++
			top1 += scores.top1(i, e)
			if contains(picked[i], e.RouteThought) {
				sel++
			}
		}
		idx := map[*Example]int{}
		for i, e := range chunk {
			idx[e] = i
		}
		scored, _, err := ev.pass(chunk, func(e *Example, T int, dst []float32) {
			RouteView(e, ev.Window, picked[idx[e]]).Fill(e, T, dst)
		})
		if err != nil {
			return nil, err
		}
		for i, e := range chunk {
			add("full", e.Tag, answerRight(e, full[i]))
			add("sumr", e.Tag, answerRight(e, sumr[i]))
			add("oracle", e.Tag, answerRight(e, oracle[i]))
			add("scored", e.Tag, answerRight(e, scored[i]))
			for mode, pred := range map[string][]int32{"full": full[i], "restricted": sumr[i]} {
				right, n := traceRight(e, pred)
				traceTok[mode] += right
				traceN[mode] += n
				if right == n {
					traceExact[mode]++
				}
			}
		}
	}
	for mode, byTag := range answer {
		r.Answer[mode] = map[string]float64{}
		for tag, t := range byTag {
			r.Answer[mode][tag] = float64(t.right) / float64(max(1, t.n))
		}
	}
	for mode := range traceN {
		r.TraceTok[mode] = float64(traceTok[mode]) / float64(max(1, traceN[mode]))
		r.TraceExact[mode] = float64(traceExact[mode]) / float64(max(1, r.N))
	}
	if nRoute > 0 {
		r.RouteTop1, r.Selected = top1/float64(nRoute), sel/float64(nRoute)
	}
	return r, nil
}

// chunk returns the examples of one forward pass starting at from.
func (ev *Evaluator) chunk(from int) []*Example {
	T := paddedLen(ev.examples[from].Len(), 64)
	n := max(1, ev.BatchTokens/T)
	return ev.examples[from:min(len(ev.examples), from+n)]
}

// passScores are the routing scores of one pass: [L, B, H, J].
type passScores struct {
	data       []float32
	L, B, H, J int
}

// of returns example i's scores as consensus.Scores over its own thoughts, and which thoughts were
// sealed before its routing position.
func (p passScores) of(i int, e *Example) (consensus.Scores, []bool) {
	k := e.Thoughts()
	s := consensus.Scores{Layers: p.L, Heads: p.H, Thoughts: k, Data: make([]float32, p.L*p.H*k)}
	for l := range p.L {
		for h := range p.H {
			src := p.data[((l*p.B+i)*p.H+h)*p.J:]
			copy(s.Data[(l*p.H+h)*k:(l*p.H+h+1)*k], src[:k])
		}
	}
	valid := make([]bool, k)
	for t, at := range layoutOf(e).sealedAt {
		valid[t] = at >= 0 && at < e.Route
	}
	return s, valid
}

// top1 is the share of (layer, head) of example i whose best valid thought is the routed one.
func (p passScores) top1(i int, e *Example) float64 {
	s, valid := p.of(i, e)
	hits := 0
	for lh := range p.L * p.H {
		row := s.Data[lh*s.Thoughts : (lh+1)*s.Thoughts]
		best := -1
		for t, v := range row {
			if valid[t] && (best < 0 || v > row[best]) {
				best = t
			}
		}
		if best == e.RouteThought {
			hits++
		}
	}
	return float64(hits) / float64(p.L*p.H)
}

// pass runs one forward pass over examples with masks from fill; it returns each example's argmax
// predictions (pred[t] predicts token t+1) and the routing scores.
func (ev *Evaluator) pass(ex []*Example, fill func(e *Example, T int, dst []float32)) ([][]int32, passScores, error) {
	b := newBatch(ex, 64, ViewConfig{Restricted: -1}, rand.New(rand.NewPCG(0, 0)))
	for i, e := range ex {
		fill(e, b.T, b.mask[i*b.T*b.T:(i+1)*b.T*b.T])
	}
	out, err := execute(ev.exec, b.tokens, tensors.FromFlatDataAndDimensions(b.mask, b.B, b.T, b.T), b.route,
		tensors.FromFlatDataAndDimensions(b.member, b.B, b.J, b.T))
	if err != nil {
		return nil, passScores{}, err
	}
	am := tensors.MustCopyFlatData[int32](out[0])
	preds := make([][]int32, len(ex))
	for i := range ex {
		preds[i] = am[i*b.T : (i+1)*b.T]
	}
	d := out[1].Shape().Dimensions
	return preds, passScores{data: tensors.MustCopyFlatData[float32](out[1]), L: d[0], B: d[1], H: d[2], J: d[3]}, nil
}

// answerRight: every trained answer token predicted right.
func answerRight(e *Example, pred []int32) bool {
	for t := 1; t < e.Len(); t++ {
		if e.Kinds[t] == summarize.Answer && e.Weight[t] > 0 && pred[t-1] != int32(e.IDs[t]) {
			return false
		}
	}
	return true
}

// traceRight counts right predictions of the trained thought and summary tokens.
func traceRight(e *Example, pred []int32) (right, n int) {
	for t := 1; t < e.Len(); t++ {
		k := e.Kinds[t]
		if (k == summarize.Thought || k == summarize.Summary) && e.Weight[t] > 0 {
			n++
			if pred[t-1] == int32(e.IDs[t]) {
				right++
			}
		}
	}
	return right, n
}

func contains(ids []int, x int) bool {
	for _, v := range ids {
		if v == x {
			return true
		}
	}
	return false
}

// Row flattens a report for a CSV log: column names (sorted) and values.
func (r *Report) Row() (names []string, values []float64) {
	m := map[string]float64{"route_top1": r.RouteTop1, "route_selected": r.Selected}
	for mode, byTag := range r.Answer {
		for tag, v := range byTag {
			name := "acc_" + mode
			if tag != "" {
				name += "_" + tag
			}
			m[name] = v
		}
	}
	for mode, v := range r.TraceTok {
		m["trace_tok_"+mode] = v
	}
	for mode, v := range r.TraceExact {
		m["trace_exact_"+mode] = v
	}
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		values = append(values, m[k])
	}
	return names, values
}

// Summary is a one-line digest of a report.
func (r *Report) Summary() string {
	g := func(mode, tag string) float64 { return r.Answer[mode][tag] }
	return fmt.Sprintf("full %.2f (note %.2f) | sumr note %.2f | oracle %.2f | scored %.2f (note %.2f) | route top1 %.2f sel %.2f | trace exact full %.2f restr %.2f",
		g("full", ""), g("full", "note"), g("sumr", "note"), g("oracle", ""), g("scored", ""), g("scored", "note"),
		r.RouteTop1, r.Selected, r.TraceExact["full"], r.TraceExact["restricted"])
}
