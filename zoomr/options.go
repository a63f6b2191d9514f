package zoomr

import (
	"fmt"
	"math"
	"slices"
)

// A GenOption overrides one of the Decoder's settings for a single generation (Start, StartIDs, a
// Batcher's Start): what a server takes from each request. Invalid values make the generation
// yield ErrConfig.
type GenOption func(*genSettings)

// genSettings are one generation's sampling and stopping settings: the Decoder's, overridden.
type genSettings struct {
	temperature, topP float64
	topK              int
	seed              uint64
	maxTokens         int
	stopStrings       []string
	stopTokens        []int
	ignoreEOS         bool
	// Chat's: the template's variables and add_generation_prompt (negated, so the zero value is
	// true), and where the reasoning starts (decided from the rendered prompt).
	chatVars    map[string]any
	noGenPrompt bool
	think       thinkStart
}

// WithMaxTokens bounds the generated tokens (> 0).
func WithMaxTokens(n int) GenOption { return func(s *genSettings) { s.maxTokens = n } }

// WithSampling sets the sampling: temperature 0 is greedy, otherwise a draw from the tokens within
// topK (0: all) and the topP nucleus (0 or 1: all), reproducible by seed.
func WithSampling(temperature float64, topK int, topP float64, seed uint64) GenOption {
	return func(s *genSettings) { s.temperature, s.topK, s.topP, s.seed = temperature, topK, topP, seed }
}

// WithStop adds stop strings and stop tokens to the Decoder's.
func WithStop(strings []string, tokens []int) GenOption {
	return func(s *genSettings) {
		s.stopStrings = append(slices.Clip(s.stopStrings), strings...)
		s.stopTokens = append(slices.Clip(s.stopTokens), tokens...)
	}
}

// WithIgnoreEOS keeps generating past end-of-sequence tokens (until MaxTokens or a stop).
func WithIgnoreEOS(ignore bool) GenOption { return func(s *genSettings) { s.ignoreEOS = ignore } }

// settings are the Decoder's settings with the options applied, validated.
func (d *Decoder) settings(opts []GenOption) (genSettings, error) {
	c := d.cfg
	s := genSettings{temperature: c.Temperature, topP: c.TopP, topK: c.TopK, seed: c.Seed, maxTokens: c.MaxTokens,
		stopStrings: c.StopStrings, stopTokens: c.StopTokens, ignoreEOS: c.IgnoreEOS}
	for _, o := range opts {
		o(&s)
	}
	switch {
	case s.maxTokens <= 0:
		return s, fmt.Errorf("%w: MaxTokens %d must be > 0", ErrConfig, s.maxTokens)
	case s.temperature < 0 || math.IsNaN(s.temperature) || math.IsInf(s.temperature, 0):
		return s, fmt.Errorf("%w: temperature %v must be a finite number >= 0", ErrConfig, s.temperature)
	case s.topP < 0 || s.topP > 1 || math.IsNaN(s.topP):
		return s, fmt.Errorf("%w: top-p %v must be in [0, 1]", ErrConfig, s.topP)
	case s.topK < 0:
		return s, fmt.Errorf("%w: top-k %d must be >= 0", ErrConfig, s.topK)
	}
	for _, str := range s.stopStrings {
		if str == "" {
			return s, fmt.Errorf("%w: empty stop string", ErrConfig)
		}
	}
	for _, t := range s.stopTokens {
		if t < 0 || t >= d.model.Config.VocabSize {
			return s, fmt.Errorf("%w: stop token %d outside the vocabulary [0, %d)", ErrConfig, t, d.model.Config.VocabSize)
		}
	}
	return s, nil
}

// stopRules decide when a generation ends: a stop token (the explicit ones and, unless EOS is
// ignored, the model's and tokenizer's end tokens), a stop string at the end of the text (only the
// text's last bytes are kept, as many as the longest stop string), or the token budget.
type stopRules struct {
	tokens    map[int]bool
	eog       bool // the tokenizer's end-of-generation tokens stop too
	strings   []string
	longest   int
	maxTokens int
}

// stopRules are the generation's rules for these settings.
func (d *Decoder) stopRules(s genSettings) stopRules {
	r := stopRules{tokens: map[int]bool{}, eog: !s.ignoreEOS && d.tok != nil, strings: s.stopStrings, maxTokens: s.maxTokens}
	for _, t := range s.stopTokens {
		r.tokens[t] = true
	}
	if !s.ignoreEOS {
		for _, t := range append(slices.Clip(d.model.Config.EOSTokenIDs), d.cfg.EOSTokens...) {
			r.tokens[t] = true
		}
		if d.tok != nil && d.tok.EOS() >= 0 {
			r.tokens[d.tok.EOS()] = true
		}
	}
	for _, str := range s.stopStrings {
		r.longest = max(r.longest, len(str))
	}
	return r
}

// stopToken reports whether token id ends the generation.
func (r *stopRules) stopToken(d *Decoder, id int) bool {
	return r.tokens[id] || (r.eog && id < d.tok.VocabSize() && d.tok.IsEOG(id))
}

// stopString appends a token's text to tail, the generated text's last bytes, and reports whether
// it now ends with a stop string. tail keeps only as many bytes as the longest stop string: all the
// check needs, so a long generation does not keep its whole text.
func (r *stopRules) stopString(tail *[]byte, text string) bool {
	if r.longest == 0 {
		return false
	}
	t := append(*tail, text...)
	if len(t) > r.longest {
		t = append(t[:0], t[len(t)-r.longest:]...)
	}
	*tail = t
	return r.matched(t) != ""
}

// matched returns the stop string that the text's last bytes (tail) end with, or "".
func (r *stopRules) matched(tail []byte) string {
	for _, stop := range r.strings {
		if len(tail) >= len(stop) && string(tail[len(tail)-len(stop):]) == stop {
			return stop
		}
	}
	return ""
}
