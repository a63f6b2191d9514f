package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/summarize"
)

// ErrTrain: a training step that failed (graph building or execution).
var ErrTrain = errors.New("train: step failed")

// Trainer runs optimizer steps on a model. Build the model on a backend of its own (training
// graphs are large; see NewBackend). A Trainer is not safe for concurrent use.
type Trainer struct {
	m    *model.Model
	cfg  Config
	opt  optimizers.Interface
	exec *mlctx.Exec
	lr   *mlctx.Variable
	step int
}

// StepStats are the results of one optimizer step.
type StepStats struct {
	Step   int     // the step just taken (0-based)
	LR     float64 // its learning rate
	Loss   float64 // weighted cross-entropy of the generated tokens
	Route  float64 // routing loss (0 when the batch had no routing position)
	RouteN int     // examples with a routing position
	// RouteAcc is the share of (example, layer, head) whose top-scored summary is the routed thought.
	RouteAcc float64
	// AnswerAcc is the share of answer tokens predicted right (argmax), over the batch.
	AnswerAcc float64
	Copy      float64 // copy loss (0 when the batch had no copy)
	CopyN     int     // copies in the batch (Example.Copies its masks let through)
	// CopyAcc is the share of (copy, copy head) whose most attended key is the copy's source.
	CopyAcc float64
	Tokens  int           // real tokens in the batch
	Batch   int           // sequences in the batch
	Seq     int           // padded length
	Took    time.Duration // wall time of the step
}

// New prepares a trainer for m (whose variables it trains in place).
func New(m *model.Model, cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := checkHeads(m.Config, slices.Concat(cfg.RouteSkipHeads, cfg.CopyHeads)); err != nil {
		return nil, err
	}
	if len(cfg.CopyHeads) == 0 {
		cfg.CopyHeads = lastLayerHeads(m.Config)
	}
	adam := optimizers.Adam().LearningRate(cfg.LR)
	if cfg.WeightDecay > 0 {
		adam = adam.WeightDecay(cfg.WeightDecay)
	}
	t := &Trainer{m: m, cfg: cfg, opt: adam.Done()}
	t.lr = optimizers.LearningRateVar(m.Context(), dtypes.Float32, cfg.LR)
	exec, err := mlctx.NewExecAny(m.Backend(), m.Context(), t.stepGraph)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrain, err)
	}
	t.exec = exec.SetMaxCache(128)
	return t, nil
}

// Model is the model being trained.
func (t *Trainer) Model() *model.Model { return t.m }

// Config is the configuration with defaults applied.
func (t *Trainer) Config() Config { return t.cfg }

// StepCount is the number of steps taken (the next step's index).
func (t *Trainer) StepCount() int { return t.step }

// Step takes one optimizer step on examples (padded to one length).
func (t *Trainer) Step(examples []*Example) (StepStats, error) {
	if len(examples) == 0 {
		return StepStats{}, fmt.Errorf("%w: empty batch", ErrExample)
	}
	for i, e := range examples {
		if err := e.Validate(); err != nil {
			return StepStats{}, fmt.Errorf("example %d: %w", i, err)
		}
		for _, id := range e.IDs {
			if id < 0 || id >= t.m.Config.VocabSize {
				return StepStats{}, fmt.Errorf("%w: example %d has token %d outside the vocabulary (%d)",
					ErrExample, i, id, t.m.Config.VocabSize)
			}
		}
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(t.cfg.Seed, uint64(t.step)*2+1))
	b := newBatch(examples, t.cfg.PadTo, t.cfg.View, rng)
	lr := t.cfg.LearningRate(t.step)
	if err := t.lr.SetValue(tensors.FromScalar(float32(lr))); err != nil {
		return StepStats{}, fmt.Errorf("%w: setting the learning rate: %w", ErrTrain, err)
	}
	out, err := execute(t.exec, b.inputs()...)
	if err != nil {
		return StepStats{}, err
	}
	st := StepStats{Step: t.step, LR: lr, Tokens: b.realTokens(), Batch: b.B, Seq: b.T, Took: time.Since(start)}
	st.Loss = float64(out[0].Value().(float32))
	st.Route = float64(out[1].Value().(float32))
	st.RouteN = int(out[2].Value().(float32))
	st.RouteAcc = float64(out[3].Value().(float32))
	st.AnswerAcc = answerAccuracy(b, tensors.MustCopyFlatData[int32](out[4]))
	st.Copy = float64(out[5].Value().(float32))
	st.CopyN = int(out[6].Value().(float32))
	st.CopyAcc = float64(out[7].Value().(float32))
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
		return st, fmt.Errorf("%w: loss is %v at step %d", ErrTrain, st.Loss, t.step)
	}
	t.step++
	return st, nil
}

// execute runs an Exec, turning graph-building panics into errors.
func execute(e *mlctx.Exec, args ...any) (out []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrTrain, r)
		}
	}()
	out, err = e.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrain, err)
	}
	return out, nil
}

// answerAccuracy is the share of answer-kind targets whose argmax prediction is right.
func answerAccuracy(b *batch, argmax []int32) float64 {
	right, n := 0, 0
	for i, e := range b.examples {
		for t := 0; t+1 < e.Len(); t++ {
			if e.Kinds[t+1] != summarize.Answer || e.Weight[t+1] == 0 {
				continue
			}
			n++
			if argmax[i*b.T+t] == int32(e.IDs[t+1]) {
				right++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float64(right) / float64(n)
}

// stepGraph: inputs as batch.inputs(); outputs loss, route loss, route count, route accuracy,
// argmax, copy loss, copy count, copy accuracy.
func (t *Trainer) stepGraph(ctx *mlctx.Context, in []*Node) []*Node {
	tokens, mask, targets, weights := in[0], in[1], in[2], in[3]
	route, member, want, valid := in[4], in[5], in[6], in[7]
	copyAt, copyTo, copyKey, copyHas := in[8], in[9], in[10], in[11]
	out := t.m.TrainForward(tokens, mask)
	loss := lmLoss(out.Logits, targets, weights)
	rLoss, rCount, rAcc := routeLoss(t.m.Config, t.cfg.RouteSkipHeads, out, route, member, want, valid)
	cLoss, cCount, cAcc := copyLoss(t.m.Config, t.cfg.CopyHeads, out, copyAt, copyTo, copyKey, copyHas)
	total := loss
	if t.cfg.RouteWeight > 0 {
		total = Add(total, MulScalar(rLoss, t.cfg.RouteWeight))
	}
	if t.cfg.CopyWeight > 0 {
		total = Add(total, MulScalar(cLoss, t.cfg.CopyWeight))
	}
	grads := ctx.BuildTrainableVariablesGradientsGraph(total)
	if t.cfg.ClipNorm > 0 {
		grads = clipGlobalNorm(grads, t.cfg.ClipNorm)
	}
	withGrads, ok := t.opt.(interface {
		UpdateGraphWithGradients(*mlctx.Context, []*Node, dtypes.DType)
	})
	if !ok {
		panic("train: optimizer cannot take precomputed gradients")
	}
	withGrads.UpdateGraphWithGradients(ctx, grads, dtypes.Float32)
	return []*Node{loss, rLoss, rCount, rAcc, ArgMax(out.Logits, -1, dtypes.Int32), cLoss, cCount, cAcc}
}

// lmLoss is the weighted mean cross-entropy: logits [B, T, V], targets [B, T], weights [B, T].
func lmLoss(logits, targets, weights *Node) *Node {
	V := logits.Shape().Dimensions[2]
	logp := LogSoftmax(logits, -1)
	nll := Neg(ReduceSum(Mul(logp, OneHot(targets, V, dtypes.Float32)), -1)) // [B, T]
	return Div(ReduceAllSum(Mul(nll, weights)), Max(ReduceAllSum(weights), ScalarOne(logits.Graph(), dtypes.Float32)))
}

// queryScores is every query against every key of its KV group, scaled by 1/sqrt(D) as attention
// is: q [B, H, C, D] and keys [B, KVH, N, D] -> [B, H, C, N].
func queryScores(c *model.Config, q, keys *Node) *Node {
	dims := q.Shape().Dimensions
	B, C, N := dims[0], dims[2], keys.Shape().Dimensions[2]
	qg := Reshape(q, B, c.KVHeads, c.GroupSize()*C, c.HeadDim)              // [B, KVH, G·C, D]
	s := DotGeneral(qg, []int{3}, []int{0, 1}, keys, []int{3}, []int{0, 1}) // [B, KVH, G·C, N]
	return MulScalar(Reshape(s, B, c.Heads, C, N), 1/math.Sqrt(float64(c.HeadDim)))
}

// routeScores returns per layer the scores [B, H, J] of the routing position's query against the
// mean summary key of every thought, scaled by 1/sqrt(D) (kvcache.ScoreSummaries' formula).
func routeScores(c *model.Config, out model.TrainOutputs, route, member *Node) []*Node {
	dims := member.Shape().Dimensions
	B, J := dims[0], dims[1]
	var scores []*Node
	for l := range c.Layers {
		q := DotGeneral(out.Q[l], []int{2}, []int{0}, route, []int{1}, []int{0})     // [B, H, D]
		kbar := DotGeneral(member, []int{2}, []int{0}, out.K[l], []int{2}, []int{0}) // [B, J, KVH, D]
		kbar = TransposeAllAxes(kbar, 0, 2, 1, 3)                                    // [B, KVH, J, D]
		scores = append(scores, Reshape(queryScores(c, ExpandAxes(q, 2), kbar), B, c.Heads, J))
	}
	return scores
}

// routeLoss is the mean over examples with a routing position and over the routed (layer, head)
// pairs (all but skip) of the cross-entropy of softmax_j(scores) against the routed thought; also
// the number of such examples and the share of (example, routed head) whose best-scored thought is
// the routed one.
func routeLoss(c *model.Config, skip []HeadRef, out model.TrainOutputs, route, member, want, valid *Node) (loss, count, acc *Node) {
	has := ReduceSum(route, 1) // [B]: 1 when the example routes
	headWeights, routed := headWeights(c, skip, true)
	var sumCE, sumHit *Node
	for l, s := range routeScores(c, out, route, member) {
		ce, hit := headCE(ExpandAxes(s, 2), ExpandAxes(valid, 1, 2), ExpandAxes(want, 1, 2), ExpandAxes(has, 1), headWeights[l])
		sumCE, sumHit = addOrSet(sumCE, ce), addOrSet(sumHit, hit)
	}
	return meanOver(sumCE, sumHit, ReduceAllSum(has), routed)
}

// copyLoss is the mean over the batch's copies and over heads of the cross-entropy of each head's
// attention at a copy's query position (its softmax over the keys the mask allows there) against
// the copy's source position; also the number of copies and the share of (copy, head) whose most
// attended key is the source. Shapes: copyAt, copyTo, copyKey [B, C, T]; copyHas [B, C].
func copyLoss(c *model.Config, heads []HeadRef, out model.TrainOutputs, copyAt, copyTo, copyKey, copyHas *Node) (loss, count, acc *Node) {
	headWeights, n := headWeights(c, heads, false)
	var sumCE, sumHit *Node
	for l := range c.Layers {
		if !slices.Contains(headWeights[l], 1) {
			continue
		}
		q := DotGeneral(out.Q[l], []int{2}, []int{0}, copyAt, []int{2}, []int{0}) // [B, H, D, C]
		s := queryScores(c, TransposeAllAxes(q, 0, 1, 3, 2), out.K[l])            // [B, H, C, T]
		ce, hit := headCE(s, ExpandAxes(copyKey, 1), ExpandAxes(copyTo, 1), copyHas, headWeights[l])
		sumCE, sumHit = addOrSet(sumCE, ce), addOrSet(sumHit, hit)
	}
	return meanOver(sumCE, sumHit, ReduceAllSum(copyHas), n)
}

// headCE is the summed cross-entropy of softmax(scores) over the allowed entries against want, and
// the summed hits (the best allowed entry is want's), over the real rows (has) and the heads
// weighted 1. Shapes: scores [B, H, C, N]; allowed and want [B, 1, C, N] (1 = allowed, one-hot);
// has [B, C]; weights [H].
func headCE(scores, allowed, want, has *Node, weights []float32) (ce, hits *Node) {
	g := scores.Graph()
	dims := scores.Shape().Dimensions
	ok := BroadcastToDims(GreaterThan(allowed, ScalarZero(g, dtypes.Float32)), dims...)
	logp := MaskedLogSoftmax(scores, ok, -1)
	logp = Where(ok, logp, ZerosLike(logp))                                                 // no -inf * 0
	rowCE := Neg(ReduceSum(Mul(logp, want), -1))                                            // [B, H, C]
	best := ArgMax(Where(ok, scores, AddScalar(ZerosLike(scores), -1e9)), -1, dtypes.Int32) // [B, H, C]
	wantIdx := BroadcastToDims(ArgMax(want, -1, dtypes.Int32), best.Shape().Dimensions...)
	hit := ConvertDType(Equal(best, wantIdx), dtypes.Float32)
	w := Mul(Reshape(Const(g, weights), 1, len(weights), 1), ExpandAxes(has, 1)) // [B, H, C]
	return ReduceAllSum(Mul(rowCE, w)), ReduceAllSum(Mul(hit, w))
}

// meanOver turns sums over rows and heads into means: per counted row, per head.
func meanOver(sumCE, sumHit, count *Node, heads int) (loss, n, acc *Node) {
	denom := MulScalar(Max(count, ScalarOne(count.Graph(), dtypes.Float32)), float64(max(heads, 1)))
	if sumCE == nil { // no head takes part
		zero := ScalarZero(count.Graph(), dtypes.Float32)
		return zero, count, zero
	}
	return Div(sumCE, denom), count, Div(sumHit, denom)
}

func addOrSet(sum, x *Node) *Node {
	if sum == nil {
		return x
	}
	return Add(sum, x)
}

// headWeights returns per layer a weight per query head and the number of heads weighted 1: with
// except, every head but those named; without, only those named.
func headWeights(c *model.Config, named []HeadRef, except bool) (weights [][]float32, n int) {
	in, out := float32(0), float32(1)
	if !except {
		in, out = 1, 0
	}
	weights = make([][]float32, c.Layers)
	for l := range weights {
		weights[l] = make([]float32, c.Heads)
		for h := range weights[l] {
			weights[l][h] = out
		}
	}
	for _, h := range named {
		weights[h.Layer][h.Head] = in
	}
	for _, ws := range weights {
		for _, w := range ws {
			n += int(w)
		}
	}
	return weights, n
}

// lastLayerHeads are the copy loss's heads by default: the last layer's, whose attention writes
// what the model predicts last.
func lastLayerHeads(c *model.Config) []HeadRef {
	out := make([]HeadRef, c.Heads)
	for h := range out {
		out[h] = HeadRef{Layer: c.Layers - 1, Head: h}
	}
	return out
}

// checkHeads reports a head reference outside the model.
func checkHeads(c *model.Config, heads []HeadRef) error {
	for _, h := range heads {
		if h.Layer < 0 || h.Layer >= c.Layers || h.Head < 0 || h.Head >= c.Heads {
			return fmt.Errorf("%w: head %s outside the model's %d layers of %d heads", ErrConfig, h, c.Layers, c.Heads)
		}
	}
	return nil
}

// clipGlobalNorm scales all gradients down so that their joint L2 norm is at most maxNorm.
func clipGlobalNorm(grads []*Node, maxNorm float64) []*Node {
	var sq *Node
	for _, g := range grads {
		s := ReduceAllSum(Square(g))
		if sq == nil {
			sq = s
		} else {
			sq = Add(sq, s)
		}
	}
	norm := Sqrt(sq)
	scale := Div(Scalar(norm.Graph(), dtypes.Float32, maxNorm), Max(norm, Scalar(norm.Graph(), dtypes.Float32, maxNorm)))
	out := make([]*Node, len(grads))
	for i, g := range grads {
		out[i] = Mul(g, scale)
	}
	return out
}
