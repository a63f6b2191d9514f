package kvcache

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// fakeModel is a stand-in for the model package: random embeddings produce each token's q, k, v
// (with a position-dependent rotation so that K differs per position), attention over the cache's
// Context plus the token itself (masked softmax, GQA), and logits from the attention outputs. It is
// only as deep as needed to make greedy decoding depend on every attended entry.
type fakeModel struct {
	lay        Layout
	heads      int // query heads
	vocab      int
	eq, ek, ev [][]float32 // [vocab][L*H*D], [vocab][L*KVH*D] x2
	out        [][]float32 // [vocab][L*H*D]
}

func newFakeModel(l Layout, heads, vocab int, seed uint64) *fakeModel {
	rng := rand.New(rand.NewPCG(seed, 99))
	randMat := func(rows, cols int) [][]float32 {
		m := make([][]float32, rows)
		for i := range m {
			m[i] = make([]float32, cols)
			for j := range m[i] {
				m[i][j] = float32(rng.NormFloat64())
			}
		}
		return m
	}
	qd, kd := l.Layers*heads*l.HeadDim, l.TokenElems()
	return &fakeModel{lay: l, heads: heads, vocab: vocab,
		eq: randMat(vocab, qd), ek: randMat(vocab, kd), ev: randMat(vocab, kd), out: randMat(vocab, qd)}
}

// rotate applies a RoPE-like rotation by position to consecutive pairs of x (rows of D).
func rotate(x []float32, d, pos int) []float32 {
	y := slices.Clone(x)
	for r := 0; r < len(x); r += d {
		for i := 0; i+1 < d; i += 2 {
			th := float64(pos) / math.Pow(100, float64(i)/float64(d))
			s, c := math.Sincos(th)
			a, b := float64(x[r+i]), float64(x[r+i+1])
			y[r+i], y[r+i+1] = float32(a*c-b*s), float32(a*s+b*c)
		}
	}
	return y
}

// step runs token tok at position pos over ctx: next-token logits and the token's k, v [L,KVH,D].
func (m *fakeModel) step(t testing.TB, tok, pos int, ctx Context) (logits, k, v []float32) {
	l, d, h := m.lay, m.lay.HeadDim, m.heads
	q := rotate(m.eq[tok], d, pos)
	k = rotate(m.ek[tok], d, pos)
	v = slices.Clone(m.ev[tok])
	c := ctx.Capacity()
	mask := flatF32(t, ctx.Mask)
	attnOut := make([]float32, l.Layers*h*d)
	g := h / l.KVHeads
	scale := 1 / math.Sqrt(float64(d))
	for li := range l.Layers {
		ks, vs := flatF32(t, ctx.K[li]), flatF32(t, ctx.V[li])
		for hi := range h {
			kh := hi / g
			qv := q[(li*h+hi)*d : (li*h+hi+1)*d]
			selfK := k[(li*l.KVHeads+kh)*d : (li*l.KVHeads+kh+1)*d]
			selfV := v[(li*l.KVHeads+kh)*d : (li*l.KVHeads+kh+1)*d]
			dot := func(a, b []float32) float64 {
				var s float64
				for i := range a {
					s += float64(a[i]) * float64(b[i])
				}
				return s * scale
			}
			scores := make([]float64, c+1)
			mx := dot(qv, selfK)
			scores[c] = mx
			for s := range c {
				if mask[s] != 0 {
					scores[s] = dot(qv, ks[(kh*c+s)*d:(kh*c+s+1)*d])
					mx = max(mx, scores[s])
				}
			}
			var z float64
			for s := range scores {
				if s == c || mask[s] != 0 {
					scores[s] = math.Exp(scores[s] - mx)
					z += scores[s]
				} else {
					scores[s] = 0
				}
			}
			o := attnOut[(li*h+hi)*d : (li*h+hi+1)*d]
			for j := range d {
				acc := scores[c] * float64(selfV[j])
				row := vs[(kh*d+j)*c : (kh*d+j+1)*c]
				for s := range c {
					acc += scores[s] * float64(row[s])
				}
				o[j] = float32(acc / z)
			}
		}
	}
	logits = make([]float32, m.vocab)
	for tkn := range m.vocab {
		var s float64
		for i, x := range m.out[tkn] {
			s += float64(x) * float64(attnOut[i])
		}
		logits[tkn] = float32(s)
	}
	return logits, k, v
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// greedyWithFake decodes steps tokens greedily through the fake model with cache c; a thought ends
// every 23 tokens with a 5-token summary, and after each seal the newest thoughts are zoomed.
func greedyWithFake(t testing.TB, m *fakeModel, c Cache, prompt []int, steps int) []int {
	k, v := make([]float32, 0), make([]float32, 0)
	// Prefill token by token through the model (each prompt token attends to the earlier ones), then
	// hand the prompt to the cache in the chunk layout [L, KVH, n, D].
	pk, pv := make([][]float32, len(prompt)), make([][]float32, len(prompt))
	scratch, err := NewFull(FullConfig{Layout: c.Layout()})
	if err != nil {
		t.Fatal(err)
	}
	var logits []float32
	for i, tok := range prompt {
		logits, pk[i], pv[i] = m.step(t, tok, i, contextOf(t, scratch))
		if err := scratch.Append(i, pk[i], pv[i]); err != nil {
			t.Fatal(err)
		}
	}
	n, d := len(prompt), c.Layout().HeadDim
	for lh := range c.Layout().Layers * c.Layout().KVHeads {
		for i := range n {
			k = append(k, pk[i][lh*d:(lh+1)*d]...)
			v = append(v, pv[i][lh*d:(lh+1)*d]...)
		}
	}
	if err := c.AppendPrompt(k, v, n); err != nil {
		t.Fatal(err)
	}
	sc := newScripted(c)
	var out []int
	for s := range steps {
		tok := argmax(logits)
		out = append(out, tok)
		pos := c.Len()
		phase := s % 23
		if phase == 0 {
			sc.open = pos
		}
		if phase == 18 {
			sc.sum = pos
		}
		var tk, tv []float32
		logits, tk, tv = m.step(t, tok, pos, contextOf(t, c))
		if err := c.Append(pos, tk, tv); err != nil {
			t.Fatal(err)
		}
		if phase == 22 {
			if err := sc.seal(sc.pending(0)); err != nil {
				t.Fatal(err)
			}
			if _, ok := c.(Zoomer); ok {
				zoomNewest(t, sc)
			}
		}
	}
	return out
}

// TestFakeModelGreedyZoomREqualsFull is the model-free version of the oracle: 256 greedy tokens with
// a ZoomR cache whose regions cover everything equal those with the full cache. A tight ZoomR must
// diverge (or the fake model would not be testing anything).
func TestFakeModelGreedyZoomREqualsFull(t *testing.T) {
	l := Layout{Layers: 2, KVHeads: 2, HeadDim: 8}
	m := newFakeModel(l, 4, 64, 3)
	prompt := []int{1, 5, 9, 2, 33, 17, 8}
	const steps = 256
	full := greedyWithFake(t, m, must[*Full](t)(NewFull(FullConfig{Layout: l})), prompt, steps)
	covering := greedyWithFake(t, m, must[*ZoomR](t)(NewZoomR(Config{Layout: l, Window: 32,
		SummaryCap: 5 * 12, ZoomSlots: 12, ZoomSlotLen: 18})), prompt, steps)
	if !slices.Equal(full, covering) {
		t.Fatalf("ZoomR (covering) diverged from Full:\n%v\n%v", full, covering)
	}
	tight := greedyWithFake(t, m, must[*ZoomR](t)(NewZoomR(Config{Layout: l, Window: 8,
		SummaryCap: 10, ZoomSlots: 1, ZoomSlotLen: 4})), prompt, steps)
	if slices.Equal(full, tight) {
		t.Fatalf("a tight ZoomR gave the full cache's tokens: the fake model ignores its context")
	}
	if distinct := len(slices.Compact(slices.Sorted(slices.Values(full)))); distinct < 5 {
		t.Fatalf("greedy output uses only %d distinct tokens: %v", distinct, full)
	}
}
