package main

import (
	"fmt"
	"io"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/summarize"
	"github.com/zoomr-go/zoomr/summarize/task"
	"github.com/zoomr-go/zoomr/summarize/train"
)

// headRoles is, per query head (layer-major), what it does on far note questions: Copy is its mean
// attention, from the position that predicts the note, on the note's digit in the asked thought's
// body (the induction copy); Tag its attention on the body's same tag, the position that predicted
// the digit there (a copy can read that position's prediction instead); Route the share of
// problems whose best mean-summary-key score at the routing position is the asked thought (what
// ZoomR's vote reads there).
type headRoles struct {
	Copy, Tag, Route []float64
	N                int
}

// probeHeads feeds n held-out note questions of the evaluation's length whose step is more than
// nearTarget thoughts back (teacher-forced, full causal attention) and measures every head's roles.
// A head that copies should be left out of the routing loss when routing and copying share a
// position (train.Config.RouteSkipHeads; task.NoteTagForm).
func probeHeads(m *model.Model, src *train.TaskSource, form task.Form, n int, seed uint64) (*headRoles, error) {
	g, err := task.NewGenerator(task.Config{NoteShare: 1, Form: form}, task.HeldOut, seed)
	if err != nil {
		return nil, err
	}
	exec, err := newQKExec(m)
	if err != nil {
		return nil, err
	}
	c := m.Config
	heads := c.Layers * c.Heads
	r := &headRoles{Copy: make([]float64, heads), Tag: make([]float64, heads), Route: make([]float64, heads)}
	for r.N < n {
		p := g.Next()
		if p.Target <= nearTarget {
			continue
		}
		e, err := src.Example(p)
		if err != nil {
			return nil, err
		}
		if err := r.add(exec, c, e); err != nil {
			return nil, err
		}
	}
	for i := range r.Copy {
		r.Copy[i] /= float64(r.N)
		r.Tag[i] /= float64(r.N)
		r.Route[i] /= float64(r.N)
	}
	return r, nil
}

// add runs one example; its note copy (train.Example.Copies) gives the digit's predictor, the
// answer's N tag, and the digit in the asked thought's body.
func (r *headRoles) add(exec *mlctx.Exec, c *model.Config, e *train.Example) error {
	if len(e.Copies) == 0 {
		return fmt.Errorf("probe: a note question without its note copy")
	}
	at, digit := e.Copies[0].At, e.Copies[0].From
	f, err := runQK(exec, c, e)
	if err != nil {
		return err
	}
	D, G := c.HeadDim, c.Heads/c.KVHeads
	query, key := f.query, f.key
	summaries := sealedSummaries(e)
	for l := range c.Layers {
		for h := range c.Heads {
			kv := h / G
			att := f.attention(l, h, at)
			r.Copy[l*c.Heads+h] += att[digit]
			r.Tag[l*c.Heads+h] += att[digit-1]
			best, bestScore := -1, math.Inf(-1)
			for th, pos := range summaries {
				mean := make([]float32, D)
				for _, t := range pos {
					for i, x := range key(l, kv, t) {
						mean[i] += x / float32(len(pos))
					}
				}
				if s := dot(query(l, h, e.Route), mean); s > bestScore {
					best, bestScore = th, s
				}
			}
			if best == e.RouteThought {
				r.Route[l*c.Heads+h]++
			}
		}
	}
	r.N++
	return nil
}

// sealedSummaries maps each thought whose summary ends before the routing position to its summary
// tokens' positions.
func sealedSummaries(e *train.Example) map[int][]int {
	out := map[int][]int{}
	for t, th := range e.Thought {
		if th >= 0 && e.Kinds[t] == summarize.Summary && t < e.Route {
			out[th] = append(out[th], t)
		}
	}
	return out
}

func dot(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// newQKExec runs the training forward pass and returns the argmax and every layer's queries and
// keys.
func newQKExec(m *model.Model) (*mlctx.Exec, error) {
	return mlctx.NewExecAny(m.Backend(), m.Context().Reuse(), func(_ *mlctx.Context, in []*Node) []*Node {
		out := m.TrainForward(in[0], in[1])
		// The logits stay an output: v0.26's executor fails on nodes no output depends on.
		return []*Node{ArgMax(out.Logits, -1, dtypes.Int32), Stack(out.Q, 0), Stack(out.K, 0)}
	})
}

// qkPass is one example's teacher-forced pass under the full causal mask: the argmax prediction
// after each position, and every layer's post-RoPE queries and keys.
type qkPass struct {
	c      *model.Config
	T      int
	argmax []int32
	q, k   []float32 // [L, 1, H, T, D] and [L, 1, KVH, T, D]
}

func runQK(exec *mlctx.Exec, c *model.Config, e *train.Example) (*qkPass, error) {
	T := e.Len()
	ids := make([]int32, T)
	for i, id := range e.IDs {
		ids[i] = int32(id)
	}
	mask := make([]float32, T*T)
	train.CausalMask(T, T, mask)
	outs, err := exec.Exec([][]int32{ids}, tensors.FromFlatDataAndDimensions(mask, 1, T, T))
	if err != nil {
		return nil, err
	}
	return &qkPass{c: c, T: T, argmax: tensors.MustCopyFlatData[int32](outs[0]),
		q: tensors.MustCopyFlatData[float32](outs[1]), k: tensors.MustCopyFlatData[float32](outs[2])}, nil
}

func (f *qkPass) query(l, h, t int) []float32 {
	D := f.c.HeadDim
	o := ((l*f.c.Heads+h)*f.T + t) * D
	return f.q[o : o+D]
}

func (f *qkPass) key(l, kv, t int) []float32 {
	D := f.c.HeadDim
	o := ((l*f.c.KVHeads+kv)*f.T + t) * D
	return f.k[o : o+D]
}

// attention is head (l, h)'s attention from position at over positions 0..at: the softmax of
// q·k/√D, what the model's causal attention computes.
func (f *qkPass) attention(l, h, at int) []float64 {
	kv := h / f.c.GroupSize()
	scale := 1 / math.Sqrt(float64(f.c.HeadDim))
	att := make([]float64, at+1)
	top := math.Inf(-1)
	for t := range att {
		att[t] = dot(f.query(l, h, at), f.key(l, kv, t)) * scale
		top = max(top, att[t])
	}
	var z float64
	for t := range att {
		att[t] = math.Exp(att[t] - top)
		z += att[t]
	}
	for t := range att {
		att[t] /= z
	}
	return att
}

// printHeads prints the table of probeHeads.
func printHeads(w io.Writer, r *headRoles, c *model.Config) {
	fmt.Fprintf(w, "heads on %d far note questions (teacher-forced): attention on the note's digit (copy) and on its tag (tag) from the digit's predictor; route top-1 at the restated tag\n", r.N)
	fmt.Fprintln(w, "  head   copy    tag    route")
	for l := range c.Layers {
		for h := range c.Heads {
			i := l*c.Heads + h
			fmt.Fprintf(w, "  %d.%d   %5.3f   %5.3f   %4.2f\n", l, h, r.Copy[i], r.Tag[i], r.Route[i])
		}
	}
}
