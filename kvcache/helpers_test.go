package kvcache

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Test tokens encode their position: K value i (of L*KVH*D) of position p is p*stride + i and the
// V value is its negative, so a slot's content names its position and any misplaced value shows.
// Values stay exact in bfloat16 while p*stride + i < 256.

func stride(l Layout) int { return l.TokenElems() }

func fakeToken(l Layout, pos int) (k, v []float32) {
	s := stride(l)
	k, v = make([]float32, s), make([]float32, s)
	for i := range k {
		k[i] = float32(pos*s + i)
		v[i] = -k[i]
	}
	return k, v
}

// fakeChunk is positions [pos, pos+n) in the prompt layout [L, KVH, n, D].
func fakeChunk(l Layout, pos, n int) (k, v []float32) {
	s, d := stride(l), l.HeadDim
	k, v = make([]float32, s*n), make([]float32, s*n)
	for lh := 0; lh < l.Layers*l.KVHeads; lh++ {
		for i := range n {
			for j := range d {
				x := float32((pos+i)*s + lh*d + j)
				k[(lh*n+i)*d+j], v[(lh*n+i)*d+j] = x, -x
			}
		}
	}
	return k, v
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func flatF32(t testing.TB, x *tensors.Tensor) []float32 {
	t.Helper()
	var out []float32
	err := x.ConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			out = slices.Clone(f)
		case []bfloat16.BFloat16:
			out = make([]float32, len(f))
			for i, b := range f {
				out[i] = b.Float32()
			}
		default:
			t.Fatalf("unexpected flat type %T", flat)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func contextOf(t testing.TB, c Cache) Context {
	t.Helper()
	ctx, err := c.Context()
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// slotView reads a context back: the position held by every attended slot (-1 if masked), checking
// that all its K and V values, in every layer and head, are those of that position.
func slotView(t testing.TB, l Layout, ctx Context) []int {
	t.Helper()
	c := ctx.Capacity()
	mask := flatF32(t, ctx.Mask)
	ks, vs := make([][]float32, l.Layers), make([][]float32, l.Layers)
	for i := range l.Layers {
		ks[i], vs[i] = flatF32(t, ctx.K[i]), flatF32(t, ctx.V[i])
		if got, want := ctx.K[i].Shape().Dimensions, []int{l.KVHeads, c, l.HeadDim}; !slices.Equal(got, want) {
			t.Fatalf("K[%d] shape %v, want %v", i, got, want)
		}
		if got, want := ctx.V[i].Shape().Dimensions, []int{l.KVHeads, l.HeadDim, c}; !slices.Equal(got, want) {
			t.Fatalf("V[%d] shape %v, want %v", i, got, want)
		}
	}
	s, d := stride(l), l.HeadDim
	pos := make([]int, c)
	for slot := range c {
		switch mask[slot] {
		case 0:
			pos[slot] = -1
			continue
		case 1:
		default:
			t.Fatalf("mask[%d] = %v, want 0 or 1", slot, mask[slot])
		}
		p := int(ks[0][slot*d]) / s
		pos[slot] = p
		for li := range l.Layers {
			for h := range l.KVHeads {
				for j := range d {
					want := float32(p*s + (li*l.KVHeads+h)*d + j)
					if k := ks[li][(h*c+slot)*d+j]; k != want {
						t.Fatalf("slot %d (pos %d): K[l=%d,h=%d,d=%d] = %v, want %v", slot, p, li, h, j, k, want)
					}
					if v := vs[li][(h*d+j)*c+slot]; v != -want {
						t.Fatalf("slot %d (pos %d): V[l=%d,h=%d,d=%d] = %v, want %v", slot, p, li, h, j, v, -want)
					}
				}
			}
		}
	}
	return pos
}

// attended is the sorted list of attended positions, read from the context tensors; a position in
// two slots fails the test.
func attended(t testing.TB, c Cache) []int {
	t.Helper()
	var out []int
	for _, p := range slotView(t, c.Layout(), contextOf(t, c)) {
		if p >= 0 {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	if d := len(out) - len(slices.Compact(slices.Clone(out))); d > 0 {
		t.Fatalf("%d positions attended twice: %v", d, out)
	}
	return out
}

// spansText renders spans as position lists ("." when empty).
func spansText(spans []Span) string {
	var ps []string
	for _, s := range spans {
		for p := s.Start; p < s.End; p++ {
			ps = append(ps, fmt.Sprint(p))
		}
	}
	if len(ps) == 0 {
		return "."
	}
	return strings.Join(ps, " ")
}

// grid renders a ZoomR or SumR cache's regions one per line (each region's positions, "." when
// empty), after checking that the context attends exactly their union.
func grid(t testing.TB, c Cache) string {
	t.Helper()
	var h *hier
	switch x := c.(type) {
	case *ZoomR:
		h = x.h
	case *SumR:
		h = x.h
	default: // a pool policy: every slot in physical order
		var b strings.Builder
		b.WriteString("pool:")
		for _, p := range slotView(t, c.Layout(), contextOf(t, c)) {
			if p < 0 {
				b.WriteString(" .")
			} else {
				fmt.Fprintf(&b, " %d", p)
			}
		}
		return b.String() + "\n"
	}
	regions := h.regionSpans()
	var union []Span
	var b strings.Builder
	for _, name := range []string{"sink", "summary", "zoom", "window"} {
		if name == "zoom" && h.cfg.ZoomSlots == 0 {
			continue
		}
		union = append(union, regions[name]...)
		fmt.Fprintf(&b, "%s: %s\n", name, spansText(mergeSpans(slices.Clone(regions[name]))))
	}
	if got, want := spansText(spansOfPositions(attended(t, c))), spansText(mergeSpans(union)); got != want {
		t.Fatalf("context attends %s, regions name %s", got, want)
	}
	return b.String()
}

// spansOfPositions groups sorted positions into spans.
func spansOfPositions(ps []int) []Span {
	var out []Span
	for _, p := range ps {
		if len(out) > 0 && out[len(out)-1].End == p {
			out[len(out)-1].End++
			continue
		}
		out = append(out, Span{p, p + 1})
	}
	return out
}

// normGrid trims the indentation of a literal grid.
func normGrid(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		b.WriteString(strings.Join(strings.Fields(line), " ") + "\n")
	}
	return b.String()
}

// scripted drives a cache the way a decoder does, tracking thoughts itself (the decoder owns the
// tracker): body tokens open a thought, "begin" starts its summary, "seal" closes it.
type scripted struct {
	Cache
	open, sum int // first position of the open thought / of its summary (-1: none)
	thoughts  []Thought
}

func newScripted(c Cache) *scripted { return &scripted{Cache: c, open: -1, sum: -1} }

// pending is the thought a seal now would record: body up to the summary (or the tail), summary after.
func (s *scripted) pending(tail int) Thought {
	n := s.Len()
	th := Thought{ID: ThoughtID(len(s.thoughts)), Body: Span{s.open, n - tail}, Summary: Span{n - tail, n}}
	if s.sum >= 0 {
		th.Body.End, th.Summary.Start = s.sum, s.sum
	}
	if s.open < 0 {
		th.Body = Span{th.Summary.Start, th.Summary.Start}
	}
	return th
}

// seal records the pending thought and tells a Sealer.
func (s *scripted) seal(th Thought) error {
	if sl, ok := s.Cache.(Sealer); ok {
		if err := sl.Seal(th); err != nil {
			return err
		}
	}
	s.thoughts = append(s.thoughts, th)
	s.open, s.sum = -1, -1
	return nil
}

// run executes a tiny language, one op per word group separated by ';':
//
//	prompt N   append N prompt tokens       gen N     append N generated tokens
//	begin      the next token starts the summary
//	seal       seal the thought (summary = tokens since begin)
//	sealw T    seal without summary, the body's last T tokens as its summary region
//	zoom a b   Zoom([a b]) ("zoom" alone: zoom nothing)
func (s *scripted) run(t testing.TB, ops string) {
	t.Helper()
	for _, op := range strings.Split(ops, ";") {
		f := strings.Fields(op)
		if len(f) == 0 {
			continue
		}
		var arg int
		if len(f) > 1 {
			fmt.Sscan(f[1], &arg)
		}
		var err error
		switch f[0] {
		case "prompt":
			k, v := fakeChunk(s.Layout(), s.Len(), arg)
			err = s.AppendPrompt(k, v, arg)
		case "gen":
			for range arg {
				if s.open < 0 {
					s.open = s.Len()
				}
				k, v := fakeToken(s.Layout(), s.Len())
				if err = s.Append(s.Len(), k, v); err != nil {
					break
				}
			}
		case "begin":
			s.sum = s.Len()
		case "seal":
			err = s.seal(s.pending(0))
		case "sealw":
			err = s.seal(s.pending(arg))
		case "zoom":
			var ids []ThoughtID
			for _, w := range f[1:] {
				var id int
				fmt.Sscan(w, &id)
				ids = append(ids, ThoughtID(id))
			}
			err = s.Cache.(Zoomer).Zoom(ids)
		default:
			t.Fatalf("unknown op %q", op)
		}
		if err != nil {
			t.Fatalf("op %q: %v", op, err)
		}
	}
}

// script runs ops on c, tracking its thoughts across calls.
func script(t testing.TB, s *scripted, ops string) { t.Helper(); s.run(t, ops) }
