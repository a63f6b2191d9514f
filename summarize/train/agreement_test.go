package train

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/summarize"
)

// longExample is a rendered-like example: a prompt, thoughts of varying body and summary lengths (one
// with an empty body), and an answer whose second token routes.
func longExample(rng *rand.Rand, thoughts int) *Example {
	P, B, S, A := summarize.Prompt, summarize.Thought, summarize.Summary, summarize.Answer
	var kinds []summarize.Kind
	var idx []int
	add := func(k summarize.Kind, t, n int) {
		for range n {
			kinds, idx = append(kinds, k), append(idx, t)
		}
	}
	add(P, -1, 5)
	for t := range thoughts {
		if t != 2 {
			add(B, t, 1+rng.IntN(9))
		}
		add(S, t, 1+rng.IntN(4))
	}
	add(A, -1, 4)
	e := &Example{IDs: make([]int, len(kinds)), Weight: make([]float32, len(kinds)), Kinds: kinds, Thought: idx,
		PromptLen: 5, Route: len(kinds) - 3, RouteThought: 1}
	return e
}

// positionsOf reads the attended positions of a context whose keys hold their position (layout
// [1, 1, 1], float32).
func positionsOf(t *testing.T, ctx kvcache.Context) map[int]bool {
	mask := tensors.MustCopyFlatData[float32](ctx.Mask)
	k := tensors.MustCopyFlatData[float32](ctx.K[0])
	out := map[int]bool{}
	for s, m := range mask {
		if m == 1 {
			require.False(t, out[int(k[s])], "position %d attended twice", int(k[s]))
			out[int(k[s])] = true
		}
	}
	return out
}

// TestViewMatchesCache: a training mask row is exactly what a ZoomR cache attends when the decoder
// feeds it the same example — the same thoughts sealed at the same tokens, the same zoom selections —
// plus the token itself: training sees what decoding sees.
func TestViewMatchesCache(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for trial := range 12 {
		e := longExample(rng, 8)
		l := layoutOf(e)
		v := ViewConfig{WindowMin: 2 + trial%5, WindowMax: 2 + trial%5, Zoom: 2, SlotLen: []int{0, 3}[trial%2]}.Draw(e, rng)
		v.SummaryCap = []int{0, 6, 9}[trial%3]
		n := e.Len()
		mask := make([]float32, n*n)
		v.Fill(e, n, mask)

		lay := kvcache.Layout{Layers: 1, KVHeads: 1, HeadDim: 1}
		cfg := v.cacheConfig(n)
		cfg.Layout, cfg.ZoomSlots = lay, 2
		cache, err := kvcache.NewZoomR(cfg)
		require.NoError(t, err)
		tok := func(p int) []float32 { return []float32{float32(p)} }
		var prompt []float32
		for p := range e.PromptLen {
			prompt = append(prompt, float32(p))
		}
		require.NoError(t, cache.AppendPrompt(prompt, prompt, e.PromptLen))
		thoughts := l.thoughts()
		sealed, sel := 0, -1
		for p := e.PromptLen; p < n; p++ {
			for sel+1 < len(v.Zoom) && v.Zoom[sel+1].From <= p { // the re-selection after token From-1
				sel++
				var ids []kvcache.ThoughtID
				for _, id := range v.Zoom[sel].IDs {
					ids = append(ids, kvcache.ThoughtID(id))
				}
				require.NoError(t, cache.Zoom(ids))
			}
			ctx, err := cache.Context()
			require.NoError(t, err)
			got := positionsOf(t, ctx)
			got[p] = true
			for q := range n {
				require.Equal(t, mask[p*n+q] == 1, got[q], "trial %d, token %d, position %d (view %+v)", trial, p, q, v)
			}
			require.NoError(t, cache.Append(p, tok(p), tok(p)))
			for sealed < len(thoughts) && thoughts[sealed].Summary.End == p+1 {
				require.NoError(t, cache.Seal(thoughts[sealed]))
				sealed++
			}
		}
	}
}

// TestRouteScoresEqualCacheScores: the trainer's routing scores (a graph over the training forward's
// queries and keys) equal kvcache.ScoreSummaries over the same keys' mean summary keys — the scores
// the consensus vote reads at decode time.
func TestRouteScoresEqualCacheScores(t *testing.T) {
	c := &model.Config{Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 8}
	const T, route = 12, 10
	spans := []kvcache.Span{{Start: 1, End: 3}, {Start: 4, End: 7}, {Start: 8, End: 9}} // the summaries
	J := len(spans)
	rng := rand.New(rand.NewPCG(9, 9))
	randT := func(dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(x, dims...)
	}
	var qs, ks []*tensors.Tensor
	for range c.Layers {
		qs, ks = append(qs, randT(1, c.Heads, T, c.HeadDim)), append(ks, randT(1, c.KVHeads, T, c.HeadDim))
	}
	routeOneHot := make([]float32, T)
	routeOneHot[route] = 1
	member := make([]float32, J*T)
	for j, s := range spans {
		for p := s.Start; p < s.End; p++ {
			member[j*T+p] = 1 / float32(s.Len())
		}
	}
	backend, err := NewBackend()
	require.NoError(t, err)
	e := MustNewExec(backend, func(in []*Node) []*Node {
		out := model.TrainOutputs{Q: in[:c.Layers], K: in[c.Layers : 2*c.Layers]}
		return routeScores(c, out, in[2*c.Layers], in[2*c.Layers+1])
	})
	args := []any{}
	for _, q := range qs {
		args = append(args, q)
	}
	for _, k := range ks {
		args = append(args, k)
	}
	args = append(args, tensors.FromFlatDataAndDimensions(routeOneHot, 1, T), tensors.FromFlatDataAndDimensions(member, 1, J, T))
	got := e.MustExec(args...)

	// The cache's view of the same numbers: q [L, H, D] at the routing position, kbar [J][L, KVH, D].
	lay := kvcache.Layout{Layers: c.Layers, KVHeads: c.KVHeads, HeadDim: c.HeadDim}
	D := c.HeadDim
	q := make([]float32, c.Layers*c.Heads*D)
	kbar := make([]float32, J*lay.TokenElems())
	for l := range c.Layers {
		qf, kf := tensors.MustCopyFlatData[float32](qs[l]), tensors.MustCopyFlatData[float32](ks[l])
		for h := range c.Heads {
			copy(q[(l*c.Heads+h)*D:], qf[(h*T+route)*D:(h*T+route+1)*D])
		}
		for j, s := range spans {
			for kh := range c.KVHeads {
				for p := s.Start; p < s.End; p++ {
					for d := range D {
						kbar[j*lay.TokenElems()+(l*c.KVHeads+kh)*D+d] += kf[(kh*T+p)*D+d] / float32(s.Len())
					}
				}
			}
		}
	}
	want := make([]float32, c.Layers*c.Heads*J)
	require.NoError(t, kvcache.ScoreSummaries(lay, kbar, q, want))
	for l := range c.Layers {
		g := tensors.MustCopyFlatData[float32](got[l]) // [1, H, J]
		for i, x := range g {
			require.InDelta(t, want[l*c.Heads*J+i], x, 1e-5, "layer %d score %d", l, i)
		}
	}
	require.False(t, math.IsNaN(float64(want[0])))
}

// TestCopyLossIsTheAttentionAtTheSource: the copy loss is, over the copies and the named heads,
// the mean of -log(attention on the source) where the attention is softmax(q·k/√D) over the keys
// the query's mask row allows — what the model's attention computes — and its accuracy the share
// whose best allowed key is the source. Two copies of one example and a padded slot; one head of
// each KV group of the second layer.
func TestCopyLossIsTheAttentionAtTheSource(t *testing.T) {
	c := &model.Config{Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 8}
	const T, C = 12, 4
	copies := []Copy{{At: 10, From: 3}, {At: 7, From: 5}}
	heads := []HeadRef{{Layer: 1, Head: 0}, {Layer: 1, Head: 3}}
	rng := rand.New(rand.NewPCG(7, 7))
	randF := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	var qf, kf [][]float32
	for range c.Layers {
		qf, kf = append(qf, randF(c.Heads*T*c.HeadDim)), append(kf, randF(c.KVHeads*T*c.HeadDim))
	}
	allowed := func(at, key int) bool { return key <= at && key != 4 } // a causal row missing one key
	at, to, keys, has := make([]float32, C*T), make([]float32, C*T), make([]float32, C*T), make([]float32, C)
	for i := range C {
		if i >= len(copies) {
			keys[i*T], to[i*T] = 1, 1
			continue
		}
		cp := copies[i]
		at[i*T+cp.At], to[i*T+cp.From], has[i] = 1, 1, 1
		for k := range T {
			if allowed(cp.At, k) {
				keys[i*T+k] = 1
			}
		}
	}
	backend, err := NewBackend()
	require.NoError(t, err)
	e := MustNewExec(backend, func(in []*Node) []*Node {
		out := model.TrainOutputs{Q: in[:c.Layers], K: in[c.Layers : 2*c.Layers]}
		loss, n, acc := copyLoss(c, heads, out, in[4], in[5], in[6], in[7])
		return []*Node{loss, n, acc}
	})
	args := []any{}
	for l := range c.Layers {
		args = append(args, tensors.FromFlatDataAndDimensions(qf[l], 1, c.Heads, T, c.HeadDim))
	}
	for l := range c.Layers {
		args = append(args, tensors.FromFlatDataAndDimensions(kf[l], 1, c.KVHeads, T, c.HeadDim))
	}
	args = append(args, tensors.FromFlatDataAndDimensions(at, 1, C, T), tensors.FromFlatDataAndDimensions(to, 1, C, T),
		tensors.FromFlatDataAndDimensions(keys, 1, C, T), tensors.FromFlatDataAndDimensions(has, 1, C))
	got := e.MustExec(args...)

	D := c.HeadDim
	var sumNLL, hits float64
	for _, h := range heads {
		kv := h.Head / c.GroupSize()
		for _, cp := range copies {
			q := qf[h.Layer][(h.Head*T+cp.At)*D : (h.Head*T+cp.At+1)*D]
			scores := map[int]float64{}
			best := -1
			for k := range T {
				if !allowed(cp.At, k) {
					continue
				}
				s := 0.0
				for d := range D {
					s += float64(q[d]) * float64(kf[h.Layer][(kv*T+k)*D+d])
				}
				scores[k] = s / math.Sqrt(float64(D))
				if best < 0 || scores[k] > scores[best] {
					best = k
				}
			}
			z := 0.0
			for _, s := range scores {
				z += math.Exp(s)
			}
			sumNLL -= math.Log(math.Exp(scores[cp.From]) / z)
			if best == cp.From {
				hits++
			}
		}
	}
	n := float64(len(heads) * len(copies))
	require.InDelta(t, sumNLL/n, float64(got[0].Value().(float32)), 1e-4)
	require.Equal(t, float32(len(copies)), got[1].Value().(float32))
	require.InDelta(t, hits/n, float64(got[2].Value().(float32)), 1e-6)
}
