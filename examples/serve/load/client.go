package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// result is one request's timing as the client saw it.
type result struct {
	tokens int
	ttft   time.Duration   // request sent → first token event
	gaps   []time.Duration // between consecutive token events
	total  time.Duration
	status int
}

// client sends the load generator's requests.
type client struct {
	base string
	http *http.Client
	chat bool
}

func newClient(base string, conns int, chat bool) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	return &client{base: strings.TrimRight(base, "/"), http: &http.Client{Transport: tr}, chat: chat}
}

// body is a request for maxTokens greedy tokens after prompt (token ids, or the text of a chat
// message), streamed or not.
func (c *client) body(prompt []int, text string, maxTokens int, stream bool) []byte {
	b := map[string]any{"max_tokens": maxTokens, "temperature": 0, "ignore_eos": true, "stream": stream,
		"return_token_ids": true}
	if c.chat {
		b["messages"] = []map[string]string{{"role": "user", "content": text}}
	} else {
		b["prompt"] = prompt
	}
	out, _ := json.Marshal(b)
	return out
}

func (c *client) url() string {
	if c.chat {
		return c.base + "/v1/chat/completions"
	}
	return c.base + "/v1/completions"
}

// stream sends a streaming request and times its token events. stopAfter > 0 disconnects after
// that many tokens.
func (c *client) stream(ctx context.Context, body []byte, stopAfter int) (result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(), bytes.NewReader(body))
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	r := result{status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return r, fmt.Errorf("status %d: %s", resp.StatusCode, msg)
	}
	last := start
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			r.total = time.Since(start)
			return r, nil
		}
		n, err := tokensIn(data)
		if err != nil {
			return r, err
		}
		if n == 0 {
			continue
		}
		now := time.Now()
		if r.tokens == 0 {
			r.ttft = now.Sub(start)
		} else {
			r.gaps = append(r.gaps, now.Sub(last))
		}
		last = now
		r.tokens += n
		if stopAfter > 0 && r.tokens >= stopAfter {
			r.total = time.Since(start)
			return r, nil // the deferred cancel and Close disconnect
		}
	}
	if err := sc.Err(); err != nil {
		return r, err
	}
	return r, errors.New("the stream ended without [DONE]")
}

// tokensIn counts the token ids of one event (an error event is an error).
func tokensIn(data string) (int, error) {
	var ev struct {
		Choices []struct {
			TokenIDs []int `json:"token_ids"`
		} `json:"choices"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		return 0, fmt.Errorf("event %q: %w", data, err)
	}
	if ev.Error != nil {
		return 0, fmt.Errorf("error event: %s", ev.Error.Message)
	}
	n := 0
	for _, c := range ev.Choices {
		n += len(c.TokenIDs)
	}
	return n, nil
}

// once sends a non-streaming request (or any body) to path and returns the status.
func (c *client) once(ctx context.Context, path string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// health is the server's /health.
type health struct {
	Status       string  `json:"status"`
	Running      int     `json:"running"`
	Waiting      int     `json:"waiting"`
	Steps        int64   `json:"steps"`
	Rows         int64   `json:"rows"`
	Goroutines   int     `json:"goroutines"`
	RSSBytes     int64   `json:"rss_bytes"`
	RSSAnonBytes int64   `json:"rss_anon_bytes"`
	HeapBytes    int64   `json:"heap_bytes"`
	CPUSeconds   float64 `json:"cpu_seconds"`
}

func (c *client) health(ctx context.Context) (health, error) {
	var h health
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/health", nil)
	if err != nil {
		return h, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	return h, json.NewDecoder(resp.Body).Decode(&h)
}
