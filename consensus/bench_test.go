package consensus

import (
	"math/rand/v2"
	"testing"
)

// benchScores: 32 layers × 32 query heads × 4096 thoughts of Gaussian scores (a Llama-8B-sized
// model deep into a long trace).
func benchScores() Scores {
	const l, h, t = 32, 32, 4096
	r := rand.New(rand.NewPCG(5, 6))
	s := Scores{Layers: l, Heads: h, Thoughts: t, Data: make([]float32, l*h*t)}
	for i := range s.Data {
		s.Data[i] = float32(r.NormFloat64())
	}
	return s
}

func benchSelect(b *testing.B, sel Selector, valid func(int) bool) {
	s := benchScores()
	var v []bool
	if valid != nil {
		v = make([]bool, s.Thoughts)
		for i := range v {
			v[i] = valid(i)
		}
	}
	b.SetBytes(int64(4 * len(s.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sel.Select(s, v, 2); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/op")
}

// BenchmarkGlobalVote: the size, k = 2, c = 2, all thoughts valid.
func BenchmarkGlobalVote(b *testing.B) { benchSelect(b, &GlobalVote{}, nil) }

// BenchmarkGlobalVoteHalfValid: every other thought invalid.
func BenchmarkGlobalVoteHalfValid(b *testing.B) {
	benchSelect(b, &GlobalVote{}, func(i int) bool { return i%2 == 0 })
}

// BenchmarkGlobalVoteSkip8: the first 8 layers do not vote.
func BenchmarkGlobalVoteSkip8(b *testing.B) {
	benchSelect(b, &GlobalVote{Options: Options{SkipLayers: 8}}, nil)
}

func BenchmarkPerHead(b *testing.B)  { benchSelect(b, &PerHead{}, nil) }
func BenchmarkScoreSum(b *testing.B) { benchSelect(b, &ScoreSum{}, nil) }
func BenchmarkRecent(b *testing.B)   { benchSelect(b, &Recent{}, nil) }
