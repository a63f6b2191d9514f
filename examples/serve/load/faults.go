package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// disconnectReport is the disconnect test's outcome.
type disconnectReport struct {
	Streams, Disconnected int
	// FreedAfterMs and FreedAfterSteps: from the last hang-up until /health showed only the others
	// running (polled every millisecond, so both are upper bounds).
	FreedAfterMs    float64 `json:"freed_after_ms"`
	FreedAfterSteps int64   `json:"freed_after_steps"`
	// OthersComplete: every stream that stayed got all its tokens.
	OthersComplete bool `json:"others_complete"`
}

// disconnects runs n streams of which every other one hangs up after -disconnect-after tokens, and
// measures how soon the server stops decoding them while the rest go on to the end.
func disconnects(ctx context.Context, c *client, o *options, w io.Writer) (*disconnectReport, error) {
	ps := &prompts{n: o.promptLen, vocab: o.vocab}
	rep := &disconnectReport{Streams: o.disconnect, Disconnected: o.disconnect / 2}
	long := 4 * o.maxTokens // the streams that stay outlast the hang-ups
	var hungUp sync.WaitGroup
	hungUp.Add(rep.Disconnected)
	results := make([]result, o.disconnect)
	errs := make([]error, o.disconnect)
	var wg sync.WaitGroup
	for i := range o.disconnect {
		leaves := i%2 == 1
		wg.Go(func() {
			after := 0
			if leaves {
				after = o.disconnectAfter
				defer hungUp.Done()
			}
			results[i], errs[i] = c.stream(ctx, c.body(ps.take(), o.chatText, long, true), after)
		})
	}
	hungUp.Wait()
	last := time.Now()
	h0, err := c.health(ctx)
	if err != nil {
		return nil, err
	}
	stay := o.disconnect - rep.Disconnected
	for {
		h, err := c.health(ctx)
		if err != nil {
			return nil, err
		}
		if h.Running <= stay {
			rep.FreedAfterMs = float64(time.Since(last).Microseconds()) / 1e3
			rep.FreedAfterSteps = h.Steps - h0.Steps
			break
		}
		if time.Since(last) > 30*time.Second {
			return nil, fmt.Errorf("%d generations still running 30 s after the hang-ups", h.Running)
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rep.OthersComplete = true
	for i, r := range results {
		if i%2 == 0 && r.tokens != long {
			rep.OthersComplete = false
		}
	}
	fmt.Fprintf(w, "%d streams, %d hung up after %d tokens: freed within %.1f ms (%d decode steps) of the last hang-up; the others completed all %d tokens: %v\n",
		rep.Streams, rep.Disconnected, o.disconnectAfter, rep.FreedAfterMs, rep.FreedAfterSteps, long, rep.OthersComplete)
	return rep, nil
}

// sequentialReport is the leak test's outcome.
type sequentialReport struct {
	Requests                 int
	Baseline, Final          health
	RSSRatio, GoroutineRatio float64
	WithinTenPercent         bool
	Statuses                 map[int]int
}

// sequential sends requests one after another — a mix of streamed, JSON, disconnected and bad
// ones — and compares the server's RSS and goroutines after the first 10 with after all.
func sequential(ctx context.Context, c *client, o *options, w io.Writer) (*sequentialReport, error) {
	ps := &prompts{n: o.promptLen, vocab: o.vocab}
	rep := &sequentialReport{Requests: o.sequential, Statuses: map[int]int{}}
	path := "/v1/completions"
	if o.chat {
		path = "/v1/chat/completions"
	}
	for i := range o.sequential {
		var status int
		var err error
		switch {
		case i%25 == 24: // a bad request
			status, err = c.once(ctx, path, []byte(`{"prompt": [1, 2], "max_tokens": "many"}`))
		case i%10 == 9: // a client that hangs up
			var r result
			r, err = c.stream(ctx, c.body(ps.take(), o.chatText, o.maxTokens, true), 2)
			status = r.status
		case i%2 == 0:
			var r result
			r, err = c.stream(ctx, c.body(ps.take(), o.chatText, o.maxTokens, true), 0)
			status = r.status
		default:
			status, err = c.once(ctx, path, c.body(ps.take(), o.chatText, o.maxTokens, false))
		}
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
		rep.Statuses[status]++
		if i == 9 {
			if rep.Baseline, err = settled(ctx, c); err != nil {
				return nil, err
			}
		}
	}
	var err error
	if rep.Final, err = settled(ctx, c); err != nil {
		return nil, err
	}
	rep.RSSRatio = float64(rep.Final.RSSBytes) / float64(rep.Baseline.RSSBytes)
	rep.GoroutineRatio = float64(rep.Final.Goroutines) / float64(rep.Baseline.Goroutines)
	rep.WithinTenPercent = rep.RSSRatio <= 1.1 && rep.GoroutineRatio <= 1.1
	fmt.Fprintf(w, "%d sequential requests (statuses %v):\n", rep.Requests, rep.Statuses)
	for _, s := range []struct {
		name string
		h    health
	}{{"after 10", rep.Baseline}, {"after all", rep.Final}} {
		fmt.Fprintf(w, "  %-9s RSS %.1f MiB (anonymous %.1f MiB), Go heap objects %.1f MiB, %d goroutines\n", s.name,
			mib(s.h.RSSBytes), mib(s.h.RSSAnonBytes), mib(s.h.HeapBytes), s.h.Goroutines)
	}
	fmt.Fprintf(w, "  ratios: RSS %.3f×, goroutines %.3f×; within 10%%: %v\n", rep.RSSRatio, rep.GoroutineRatio, rep.WithinTenPercent)
	if rep.Statuses[http.StatusOK]+rep.Statuses[http.StatusBadRequest] != rep.Requests {
		return rep, fmt.Errorf("unexpected statuses %v", rep.Statuses)
	}
	return rep, nil
}

// settled waits until the server runs nothing, lets idle helpers exit, and reads /health.
func settled(ctx context.Context, c *client) (health, error) {
	for {
		h, err := c.health(ctx)
		if err != nil || (h.Running == 0 && h.Waiting == 0) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // model/quant's helpers exit after 100 ms idle
	return c.health(ctx)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
