package zoomr

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLogitsProcessorSteersGeneration: a processor that allows one token per step decides the
// whole greedy generation and sees exactly the tokens generated before each step.
func TestLogitsProcessorSteersGeneration(t *testing.T) {
	m := testModel(t, "llama")
	free, err := New(m, nil, Config{MaxTokens: 12, IgnoreEOS: true, NewSegmenter: scripted()})
	require.NoError(t, err)
	freeIDs, _ := generate(t, free, testPrompt)

	var seen [][]int
	d, err := New(m, nil, Config{MaxTokens: 12, IgnoreEOS: true, NewSegmenter: scripted(),
		NewLogitsProcessor: func() LogitsProcessor {
			return LogitsProcessorFunc(func(generated []int, logits []float32) error {
				seen = append(seen, slices.Clone(generated))
				AllowOnly(logits, 40+len(generated)) // 40, 41, 42, ...
				return nil
			})
		}})
	require.NoError(t, err)
	ids, _ := generate(t, d, testPrompt)
	want := make([]int, 12)
	for i := range want {
		want[i] = 40 + i
	}
	require.Equal(t, want, ids)
	require.NotEqual(t, freeIDs, ids, "the free-running generation must differ, or the test proves nothing")
	require.Len(t, seen, 12)
	for i, g := range seen {
		require.Equal(t, want[:i], append([]int{}, g...), "processor call %d", i)
	}
}

// TestLogitsProcessorBansTokens: banning the free-running greedy tokens changes the output and no
// banned token is sampled, greedy or sampled.
func TestLogitsProcessorBansTokens(t *testing.T) {
	m := testModel(t, "llama")
	free, err := New(m, nil, Config{MaxTokens: 20, IgnoreEOS: true, NewSegmenter: scripted()})
	require.NoError(t, err)
	banned, _ := generate(t, free, testPrompt)
	ban := func() LogitsProcessor {
		return LogitsProcessorFunc(func(_ []int, logits []float32) error {
			for _, id := range banned {
				logits[id] = float32(math.Inf(-1))
			}
			return nil
		})
	}
	for _, temp := range []float64{0, 1.5} {
		d, err := New(m, nil, Config{MaxTokens: 20, IgnoreEOS: true, NewSegmenter: scripted(),
			Temperature: temp, Seed: 3, NewLogitsProcessor: ban})
		require.NoError(t, err)
		ids, _ := generate(t, d, testPrompt)
		for _, id := range ids {
			require.NotContains(t, banned, id, "temperature %v", temp)
		}
	}
}

// TestLogitsProcessorErrors: a processor that allows nothing, fails, or is nil gives a typed error,
// not a panic, and the decoder still works afterwards.
func TestLogitsProcessorErrors(t *testing.T) {
	m := testModel(t, "llama")
	run := func(p func() LogitsProcessor) error {
		d, err := New(m, nil, Config{MaxTokens: 8, IgnoreEOS: true, NewSegmenter: scripted(), NewLogitsProcessor: p})
		require.NoError(t, err)
		_, _, err = d.Run(context.Background(), testPrompt)
		return err
	}
	nothingAfter3 := func() LogitsProcessor {
		return LogitsProcessorFunc(func(g []int, logits []float32) error {
			if len(g) == 3 {
				AllowOnly(logits) // no token
			}
			return nil
		})
	}
	require.ErrorIs(t, run(nothingAfter3), ErrNoToken)
	outOfRange := func() LogitsProcessor {
		return LogitsProcessorFunc(func(_ []int, logits []float32) error {
			AllowOnly(logits, -1, len(logits)) // ids outside the vocabulary are not allowed
			return nil
		})
	}
	require.ErrorIs(t, run(outOfRange), ErrNoToken)
	boom := errors.New("grammar broke")
	failing := func() LogitsProcessor {
		return LogitsProcessorFunc(func([]int, []float32) error { return boom })
	}
	require.ErrorIs(t, run(failing), boom)
	require.ErrorIs(t, run(func() LogitsProcessor { return nil }), ErrConfig)
	require.NoError(t, run(nil))
}
