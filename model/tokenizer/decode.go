package tokenizer

import (
	"unicode/utf8"
)

// sanitizeUTF8 turns b into valid UTF-8: each byte that does not start a valid sequence becomes
// U+FFFD (Go's convention). With final=false an incomplete but possibly valid sequence at the end is
// left out; the caller keeps it for later (see StreamDecoder).
func sanitizeUTF8(b []byte, final bool) string {
	s, _ := splitValidUTF8(b, final)
	return s
}

// splitValidUTF8 returns the printable text of b and, when !final, the number of trailing bytes
// held back because more bytes could still complete them.
func splitValidUTF8(b []byte, final bool) (string, int) {
	if utf8.Valid(b) {
		return string(b), 0
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		if !final && !utf8.FullRune(b[i:]) {
			return string(out), len(b) - i
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return string(out), 0
}

// StreamDecoder turns ids into text one at a time, for streaming generation. Each call returns
// only complete UTF-8: bytes of a character split across tokens are held until it is complete.
// Pieces are rendered as llama.cpp's token_to_piece(special=true): verbatim, so a SentencePiece
// space prefix is kept (a stream usually continues a prompt). A StreamDecoder is not safe for
// concurrent use.
type StreamDecoder struct {
	t       *Tokenizer
	opts    DecodeOptions
	pending []byte // incomplete UTF-8 at the end of what was decoded
	started bool   // word-level: a word was written (the next one needs a space)
}

// NewStreamDecoder returns a decoder that renders special tokens as text.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// NewStreamDecoderWith returns a decoder with options (e.g. SkipSpecial).
func (t *Tokenizer) NewStreamDecoderWith(opts DecodeOptions) *StreamDecoder {
	return &StreamDecoder{t: t, opts: opts}
}

// Next adds one token and returns the text that became complete (possibly ""). An unknown id is
// an error and leaves the decoder as it was.
func (d *StreamDecoder) Next(id int) (string, error) {
	d.t.mu.RLock()
	p, err := d.t.piece(id, d.opts.SkipSpecial)
	wordLevel := d.t.kind == KindWordLevel
	d.t.mu.RUnlock()
	if err != nil {
		return "", err
	}
	if wordLevel && p != "" {
		if d.started {
			p = " " + p
		}
		d.started = true
	}
	if len(d.pending) == 0 && utf8.ValidString(p) {
		return p, nil
	}
	d.pending = append(d.pending, p...)
	s, keep := splitValidUTF8(d.pending, false)
	d.pending = append(d.pending[:0], d.pending[len(d.pending)-keep:]...)
	return s, nil
}

// Flush returns what is held back (as U+FFFD per byte: the sequence never completed) and resets
// the decoder.
func (d *StreamDecoder) Flush() string {
	s := sanitizeUTF8(d.pending, true)
	d.pending = d.pending[:0]
	d.started = false
	return s
}
