package train

import (
	"math/bits"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/zoomr-go/zoomr/summarize"
)

// batch is a padded batch of examples and its graph inputs.
//
//	tokens  [B, T] int32   (padding: 0)
//	mask    [B, T, T] f32  1 = attend
//	targets [B, T] int32   targets[b, t] = ids[t+1]
//	weights [B, T] f32     loss weight of targets[b, t]
//	route   [B, T] f32     one-hot of the routing position (all zero: no routing)
//	member  [B, J, T] f32  1/len on the summary tokens of thought j
//	want    [B, J] f32     one-hot of the routed thought
//	valid   [B, J] f32     thoughts sealed before the routing position
//	copyAt  [B, C, T] f32  one-hot of copy c's query position (all zero: no copy c)
//	copyTo  [B, C, T] f32  one-hot of copy c's source position
//	copyKey [B, C, T] f32  1 where copy c's query may attend (its row of the mask)
//	copyHas [B, C] f32     1 for a real copy
type batch struct {
	examples   []*Example
	B, T, J, C int
	tokens     [][]int32
	mask       []float32
	targets    [][]int32
	weights    [][]float32
	route      [][]float32
	member     []float32
	want       [][]float32
	valid      [][]float32
	restrict   []bool // which examples got a restricted mask
	copyAt     []float32
	copyTo     []float32
	copyKey    []float32
	copyHas    []float32
}

// roundUp rounds n up to a multiple of m (m > 0).
func roundUp(n, m int) int { return (n + m - 1) / m * m }

// paddedLen is the length an n-token sequence is padded to: a multiple of padTo, and past 8×padTo
// a multiple of an eighth of n's power of two (at most 12.5% padding). Each padded length is one
// more training graph for XLA to compile and keep: at the long scale (traces to 4,700 tokens)
// multiples of 64 alone made ~75 lengths.
func paddedLen(n, padTo int) int {
	step := padTo
	if n > 8*padTo {
		step = max(padTo, (1<<(bits.Len(uint(n))-1))/8)
	}
	return roundUp(n, step)
}

// newBatch pads examples to a common length (paddedLen) and fills the inputs. Examples
// without a view of their own (and not Causal) get one drawn from vc, or the causal mask.
func newBatch(ex []*Example, padTo int, vc ViewConfig, rng *rand.Rand) *batch {
	vc = vc.withDefaults()
	b := &batch{examples: ex, B: len(ex), J: 1}
	for _, e := range ex {
		b.T = max(b.T, paddedLen(e.Len(), padTo))
		b.J = max(b.J, e.Thoughts())
	}
	b.J = roundUp(b.J, 8)
	T, J := b.T, b.J
	b.mask = make([]float32, b.B*T*T)
	b.member = make([]float32, b.B*J*T)
	b.restrict = make([]bool, b.B)
	for i, e := range ex {
		ids := make([]int32, T)
		tg := make([]int32, T)
		wt := make([]float32, T)
		for t, id := range e.IDs {
			ids[t] = int32(id)
			if t+1 < e.Len() {
				tg[t] = int32(e.IDs[t+1])
				wt[t] = e.Weight[t+1]
			}
		}
		b.tokens, b.targets, b.weights = append(b.tokens, ids), append(b.targets, tg), append(b.weights, wt)
		dst := b.mask[i*T*T : (i+1)*T*T]
		switch {
		case e.Causal:
			CausalMask(e.Len(), T, dst)
		case e.View != nil:
			e.View.Fill(e, T, dst)
			b.restrict[i] = true
		case rng.Float64() < vc.Restricted:
			v := vc.Draw(e, rng)
			v.Fill(e, T, dst)
			b.restrict[i] = true
		default:
			CausalMask(e.Len(), T, dst)
		}
		b.fillRoute(i, e)
	}
	b.fillCopies()
	return b
}

// fillCopies fills the copy inputs. C is the most copies of an example rounded up to 4 (fewer
// shapes to compile). A copy whose source the example's mask hides from its query (a restricted
// view without that body) is left out; a slot without a copy keeps a dummy allowed key, as the
// routing inputs do, so that its softmax is not over nothing.
func (b *batch) fillCopies() {
	for _, e := range b.examples {
		b.C = max(b.C, len(e.Copies))
	}
	b.C = roundUp(max(b.C, 1), 4)
	B, T, C := b.B, b.T, b.C
	b.copyAt, b.copyTo, b.copyKey = make([]float32, B*C*T), make([]float32, B*C*T), make([]float32, B*C*T)
	b.copyHas = make([]float32, B*C)
	for i, e := range b.examples {
		for c := range C {
			o := (i*C + c) * T
			at, to, key := b.copyAt[o:o+T], b.copyTo[o:o+T], b.copyKey[o:o+T]
			if c < len(e.Copies) {
				cp := e.Copies[c]
				row := b.mask[(i*T+cp.At)*T : (i*T+cp.At+1)*T]
				if row[cp.From] > 0 {
					copy(key, row)
					at[cp.At], to[cp.From] = 1, 1
					b.copyHas[i*C+c] = 1
					continue
				}
			}
			key[0], to[0] = 1, 1
		}
	}
}

// fillRoute fills the routing inputs of example i.
func (b *batch) fillRoute(i int, e *Example) {
	T, J := b.T, b.J
	route, want, valid := make([]float32, T), make([]float32, J), make([]float32, J)
	b.route, b.want, b.valid = append(b.route, route), append(b.want, want), append(b.valid, valid)
	mem := b.member[i*J*T : (i+1)*J*T]
	counts := make([]int, J)
	for t, th := range e.Thought {
		if th >= 0 && e.Kinds[t] == summarize.Summary {
			counts[th]++
		}
	}
	for t, th := range e.Thought {
		if th >= 0 && e.Kinds[t] == summarize.Summary {
			mem[th*T+t] = 1 / float32(counts[th])
		}
	}
	// An example without routing keeps a dummy valid thought: a softmax over nothing has NaN
	// gradients, even where the loss weighs it by 0.
	defer func() {
		if e.Route < 0 || want[e.RouteThought] == 0 {
			clear(valid)
			clear(want)
			valid[0], want[0] = 1, 1
		}
	}()
	if e.Route < 0 {
		return
	}
	l := layoutOf(e)
	for th, p := range l.sealedAt {
		if p >= 0 && p < e.Route {
			valid[th] = 1
		}
	}
	if valid[e.RouteThought] == 0 {
		return // the routed thought is not sealed yet: nothing to learn here
	}
	route[e.Route] = 1
	want[e.RouteThought] = 1
}

// inputs returns the graph inputs in the order the step graph takes them.
func (b *batch) inputs() []any {
	return []any{
		b.tokens,
		tensors.FromFlatDataAndDimensions(b.mask, b.B, b.T, b.T),
		b.targets,
		b.weights,
		b.route,
		tensors.FromFlatDataAndDimensions(b.member, b.B, b.J, b.T),
		b.want,
		b.valid,
		tensors.FromFlatDataAndDimensions(b.copyAt, b.B, b.C, b.T),
		tensors.FromFlatDataAndDimensions(b.copyTo, b.B, b.C, b.T),
		tensors.FromFlatDataAndDimensions(b.copyKey, b.B, b.C, b.T),
		tensors.FromFlatDataAndDimensions(b.copyHas, b.B, b.C),
	}
}

// tokens counts the real (unpadded) tokens.
func (b *batch) realTokens() int {
	n := 0
	for _, e := range b.examples {
		n += e.Len()
	}
	return n
}
