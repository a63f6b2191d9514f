package zoomr

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/zoomr-go/zoomr/model"
)

// sampler picks the next token from logits: argmax at temperature 0, otherwise a draw from the
// temperature-scaled softmax restricted to the top-k tokens and the top-p nucleus. It reuses its
// buffers, one sampler per generation.
type sampler struct {
	temp  float64
	topK  int
	topP  float64
	rng   *rand.Rand
	idx   []int
	probs []float64
}

func newSampler(s genSettings) *sampler {
	return &sampler{temp: s.temperature, topK: s.topK, topP: s.topP, rng: rand.New(rand.NewPCG(s.seed, 0x20a3))}
}

func (s *sampler) sample(logits []float32) int {
	if s.temp == 0 {
		return model.Argmax(logits)
	}
	// Candidates: all tokens, or the top-k by logit (ties by lower id, so runs are reproducible).
	s.idx = s.idx[:0]
	for i := range logits {
		s.idx = append(s.idx, i)
	}
	sort.Slice(s.idx, func(a, b int) bool {
		la, lb := logits[s.idx[a]], logits[s.idx[b]]
		return la > lb || (la == lb && s.idx[a] < s.idx[b])
	})
	if s.topK > 0 && s.topK < len(s.idx) {
		s.idx = s.idx[:s.topK]
	}
	maxLogit := float64(logits[s.idx[0]])
	s.probs = s.probs[:0]
	sum := 0.0
	for _, i := range s.idx {
		p := math.Exp((float64(logits[i]) - maxLogit) / s.temp)
		s.probs = append(s.probs, p)
		sum += p
	}
	n := len(s.idx)
	if s.topP > 0 && s.topP < 1 {
		acc := 0.0
		for j, p := range s.probs {
			acc += p / sum
			if acc >= s.topP {
				n = j + 1
				break
			}
		}
		sum = 0
		for _, p := range s.probs[:n] {
			sum += p
		}
	}
	r := s.rng.Float64() * sum
	for j := range n {
		r -= s.probs[j]
		if r < 0 {
			return s.idx[j]
		}
	}
	return s.idx[n-1]
}
