package zoomr

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBatcherEqualsAlone: generations decoded together by a Batcher (continuous batching: they join
// while others run, with different prompt lengths, budgets and settings) give token for token what
// each gives alone, under ZoomR and the full cache.
func TestBatcherEqualsAlone(t *testing.T) {
	m := testModel(t, "llama")
	prompts := [][]int{{1, 2, 3}, {4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, {8, 9}, testPrompt, {30, 31, 32, 33}}
	maxTokens := []int{40, 25, 60, 33, 50}
	for _, policy := range []string{PolicyZoomR, PolicyFull} {
		t.Run(policy, func(t *testing.T) {
			// The gate holds the batcher's loop at its first sampled token until every generation has
			// been submitted, so they share steps however late their goroutines are scheduled.
			var gate atomic.Pointer[chan struct{}]
			hold := func() LogitsProcessor {
				return LogitsProcessorFunc(func([]int, []float32) error {
					if g := gate.Load(); g != nil {
						select {
						case <-*g:
						case <-time.After(time.Minute):
							return errors.New("the test never opened the gate")
						}
					}
					return nil
				})
			}
			d, err := New(m, nil, Config{Policy: policy, IgnoreEOS: true, NewSegmenter: scripted(), Window: 16, SummaryCap: 16,
				ZoomSlotLen: 16, PrefillChunk: 4, NewLogitsProcessor: hold})
			require.NoError(t, err)
			want := make([][]int, len(prompts))
			for i, p := range prompts {
				g := d.StartIDs(context.Background(), p, WithMaxTokens(maxTokens[i]))
				for tk, err := range g.Tokens() {
					require.NoError(t, err)
					want[i] = append(want[i], tk.ID)
				}
			}
			b, err := d.NewBatcher(BatcherOptions{MaxBatch: 4})
			require.NoError(t, err)
			defer b.Close()
			got := make([][]int, len(prompts))
			stats := make([]Stats, len(prompts))
			var wg sync.WaitGroup
			// Every generation starts ranging at once; the loop waits at the gate until all are
			// submitted; the fifth waits for a place and joins while the others run.
			open := make(chan struct{})
			gate.Store(&open)
			for i, p := range prompts {
				wg.Go(func() {
					g := b.Start(context.Background(), p, WithMaxTokens(maxTokens[i]))
					for tk, err := range g.Tokens() {
						if err != nil {
							t.Error(err)
							return
						}
						got[i] = append(got[i], tk.ID)
					}
					stats[i] = g.Stats()
				})
			}
			require.Eventually(t, func() bool { st := b.Stats(); return st.Running+st.Waiting == len(prompts) }, time.Minute, time.Millisecond)
			close(open)
			wg.Wait()
			for i := range prompts {
				require.Equal(t, want[i], got[i], "generation %d", i)
				require.Equal(t, StopMaxTokens, stats[i].StopReason)
				require.Equal(t, maxTokens[i], stats[i].Tokens)
			}
			bs := b.Stats()
			require.Greater(t, float64(bs.Rows)/float64(bs.Steps), 1.0, "steps were shared: %+v", bs)
			// The loop counts the ended generations out at the top of its next iteration.
			require.Eventually(t, func() bool { st := b.Stats(); return st.Running+st.Waiting == 0 }, 5*time.Second, time.Millisecond)
		})
	}
}

// TestBatcherLeavesAndLimits: a generation whose reader stops (or whose context is cancelled)
// leaves the batch at the next step; a full queue answers ErrBusy; Close ends the rest with ErrClosed.
func TestBatcherLeavesAndLimits(t *testing.T) {
	m := testModel(t, "llama")
	d, err := New(m, nil, Config{IgnoreEOS: true, NewSegmenter: scripted(), MaxTokens: 100000})
	require.NoError(t, err)
	b, err := d.NewBatcher(BatcherOptions{MaxBatch: 1, MaxQueue: 1})
	require.NoError(t, err)
	defer b.Close() // also when a check fails: no goroutine outlives the test

	// The reader stops after 5 tokens.
	g := b.Start(context.Background(), testPrompt)
	n := 0
	for _, err := range g.Tokens() {
		require.NoError(t, err)
		if n++; n == 5 {
			break
		}
	}
	require.Equal(t, StopCaller, g.Stats().StopReason)
	// The loop counts it out at the top of its next iteration, which may not have come yet.
	require.Eventually(t, func() bool { return b.Stats().Running == 0 }, 5*time.Second, time.Millisecond)

	// A long generation occupies the only place; one more waits; a third is refused.
	ctx, cancel := context.WithCancel(context.Background())
	long := b.Start(ctx, testPrompt)
	started := make(chan struct{})
	finished := make(chan error, 1)
	go func() {
		first := true
		for _, err := range long.Tokens() {
			if first {
				close(started)
				first = false
			}
			if err != nil {
				finished <- err
				return
			}
		}
		finished <- nil
	}()
	<-started
	waitingDone := make(chan error, 1)
	go func() {
		for _, err := range b.Start(context.Background(), testPrompt, WithMaxTokens(3)).Tokens() {
			if err != nil {
				waitingDone <- err
				return
			}
		}
		waitingDone <- nil
	}()
	require.Eventually(t, func() bool { return b.Stats().Waiting == 1 }, 5*time.Second, time.Millisecond)
	for _, err := range b.Start(context.Background(), testPrompt).Tokens() {
		require.ErrorIs(t, err, ErrBusy)
	}
	cancel() // the long one leaves at the next step; the waiting one runs
	require.ErrorIs(t, <-finished, context.Canceled)
	require.Equal(t, StopCancelled, long.Stats().StopReason)
	require.NoError(t, <-waitingDone)

	b.Close()
	for _, err := range b.Start(context.Background(), testPrompt).Tokens() {
		require.ErrorIs(t, err, ErrClosed)
	}
}
