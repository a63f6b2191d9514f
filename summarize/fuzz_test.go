package summarize

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// fuzzInput turns fuzz bytes into a configuration (first 4 bytes) and a token stream over a small
// alphabet where markers are frequent: byte%16 = 0-1 begin, 2-3 end, 4 answer, 5-6 sentence end,
// 7 paragraph break, else an ordinary token.
type fuzzInput struct {
	maxThought, maxSummary, tail, every int
	noBoundaries                        bool
	stream                              []int
}

func decodeFuzz(data []byte) (fuzzInput, bool) {
	if len(data) < 4 {
		return fuzzInput{}, false
	}
	in := fuzzInput{
		maxThought:   1 + int(data[0]%16),
		maxSummary:   2 + int(data[1]%8),
		tail:         int(data[2] % 4),
		every:        int(data[3] % 5),
		noBoundaries: data[3]&0x80 != 0,
	}
	for _, b := range data[4:] {
		switch b % 16 {
		case 0, 1:
			in.stream = append(in.stream, B)
		case 2, 3:
			in.stream = append(in.stream, E)
		case 4:
			in.stream = append(in.stream, A)
		case 5, 6:
			in.stream = append(in.stream, P)
		case 7:
			in.stream = append(in.stream, N)
		default:
			in.stream = append(in.stream, 200+int(b))
		}
	}
	return in, true
}

func (in fuzzInput) reselect() Reselect {
	return Reselect{SentenceEnds: []int{P}, Every: in.every, NotAtBoundaries: in.noBoundaries}
}

// streamChecker verifies the invariants every Segmenter's events must keep, whatever the stream.
type streamChecker struct {
	t         *testing.T
	in        fuzzInput
	answer    bool // the answer has begun
	inSummary bool
	seals     int
	body, sum int // tokens of the open thought
	since     int // tokens since the last re-selection point
}

func (c *streamChecker) fail(i, tok int, ev Event, format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("token %d (%d) event %+v: "+format, append([]any{i, tok, ev}, args...)...)
}

func (c *streamChecker) check(i, tok int, ev Event) {
	c.t.Helper()
	switch {
	case ev.Kind != Thought && ev.Kind != Summary && ev.Kind != Answer:
		c.fail(i, tok, ev, "bad kind")
	case (ev.Kind == Answer) != (ev.Thought == -1):
		c.fail(i, tok, ev, "answer tokens, and only they, have thought -1")
	case ev.ThoughtSealed && ev.SealedWithoutSummary:
		c.fail(i, tok, ev, "two kinds of seal")
	case !ev.Sealed() && ev.Seal != (Seal{}):
		c.fail(i, tok, ev, "seal details without a seal")
	case ev.AnswerBegan != (!c.answer && tok == A):
		c.fail(i, tok, ev, "AnswerBegan must mark the first answer marker")
	case c.answer && (ev.Kind != Answer || ev.Sealed() || ev.SummaryBegan):
		c.fail(i, tok, ev, "after the answer everything is a plain answer token")
	case ev.Seal.BeforeToken != (ev.Sealed() && ev.AnswerBegan):
		c.fail(i, tok, ev, "only the answer marker seals before itself, and always before")
	case ev.Kind != Answer && ev.Thought != c.seals:
		c.fail(i, tok, ev, "thought index %d, want %d", ev.Thought, c.seals)
	}
	if ev.Sealed() && ev.Seal.BeforeToken {
		c.seal(i, tok, ev)
	}
	switch ev.Kind {
	case Thought:
		if c.inSummary {
			c.fail(i, tok, ev, "body token inside a summary")
		}
		c.body++
	case Summary:
		if ev.SummaryBegan == c.inSummary || (ev.SummaryBegan && (tok != B || c.sum != 0)) {
			c.fail(i, tok, ev, "SummaryBegan must open each summary with the begin marker")
		}
		c.inSummary = true
		c.sum++
	case Answer:
		c.answer = true
	}
	if ev.Sealed() && !ev.Seal.BeforeToken {
		c.seal(i, tok, ev)
	}
	c.since++
	boundary := (ev.Sealed() || ev.AnswerBegan) && !c.in.noBoundaries
	sentence := tok == P && (ev.Kind == Thought || ev.Kind == Answer)
	if want := boundary || sentence || (c.in.every > 0 && c.since >= c.in.every); ev.Reselect != want {
		c.fail(i, tok, ev, "Reselect %v, want %v", ev.Reselect, want)
	}
	if ev.Reselect {
		c.since = 0
	}
}

// seal checks a seal against the counted tokens of the open thought and closes it.
func (c *streamChecker) seal(i, tok int, ev Event) {
	c.t.Helper()
	s := ev.Seal
	switch {
	case s.Thought != c.seals:
		c.fail(i, tok, ev, "sealed thought %d, want %d", s.Thought, c.seals)
	case s.BodyLen != c.body || s.SummaryLen != c.sum:
		c.fail(i, tok, ev, "lengths %d/%d, counted %d/%d", s.BodyLen, s.SummaryLen, c.body, c.sum)
	case ev.ThoughtSealed != c.inSummary:
		c.fail(i, tok, ev, "ThoughtSealed must close a summary")
	case s.BodyLen > c.in.maxThought || (ev.ThoughtSealed && s.BodyLen >= c.in.maxThought):
		c.fail(i, tok, ev, "body over the cap %d", c.in.maxThought)
	case s.SummaryLen > c.in.maxSummary:
		c.fail(i, tok, ev, "summary over the cap %d", c.in.maxSummary)
	case ev.SealedWithoutSummary && (s.BodyLen == 0 || s.Tail != min(c.in.tail, s.BodyLen)):
		c.fail(i, tok, ev, "seal without summary: empty body or wrong tail")
	case ev.ThoughtSealed && s.Tail != 0:
		c.fail(i, tok, ev, "tail on a summarized thought")
	}
	switch s.Reason {
	case SealEndMarker:
		if tok != E || !ev.ThoughtSealed {
			c.fail(i, tok, ev, "end-marker seal")
		}
	case SealStrayEnd:
		if tok != E || ev.Kind != Thought || s.BodyLen < 2 {
			c.fail(i, tok, ev, "stray-end seal (it never seals an otherwise empty body)")
		}
	case SealMaxSummary:
		if s.SummaryLen != c.in.maxSummary {
			c.fail(i, tok, ev, "max-summary seal below the cap")
		}
	case SealMaxThought:
		if s.BodyLen != c.in.maxThought {
			c.fail(i, tok, ev, "max-thought seal below the cap")
		}
	case SealParagraph:
		if tok != N || s.BodyLen < 2 {
			c.fail(i, tok, ev, "paragraph seal")
		}
	case SealAnswer:
		if tok != A {
			c.fail(i, tok, ev, "answer seal")
		}
	default:
		c.fail(i, tok, ev, "seal without a reason")
	}
	c.seals++
	c.body, c.sum, c.inSummary = 0, 0, false
}

// replay feeds the stream twice (with a Reset between) and checks invariants and determinism.
func replay(t *testing.T, seg Segmenter, in fuzzInput) {
	c := &streamChecker{t: t, in: in}
	first := make([]Event, len(in.stream))
	for i, tok := range in.stream {
		first[i] = seg.Observe(tok)
		c.check(i, tok, first[i])
	}
	seg.Reset()
	for i, tok := range in.stream {
		if ev := seg.Observe(tok); !reflect.DeepEqual(ev, first[i]) {
			t.Fatalf("token %d: not deterministic after Reset: %+v then %+v", i, first[i], ev)
		}
	}
}

func addSeeds(f *testing.F) {
	f.Add([]byte{15, 7, 0, 0, 9, 9, 0, 9, 2, 9, 0, 9, 2, 4, 9})   // clean: body, summary, body, summary, answer
	f.Add([]byte{2, 0, 3, 3, 9, 9, 9, 9, 9, 0, 9, 9, 9, 9, 2, 2}) // caps hit on both, stray ends after
	f.Add([]byte{7, 3, 1, 0x82, 2, 9, 2, 2, 0, 0, 9, 0, 4, 0, 2}) // stray ends, nested begins, no boundaries
	f.Add([]byte{9, 1, 2, 4, 9, 5, 7, 7, 9, 5, 9, 7, 0, 9, 4, 5}) // sentences, paragraph breaks, answer in a summary
}

func FuzzSummarySegmenter(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		in, ok := decodeFuzz(data)
		if !ok {
			return
		}
		seg, err := NewSummarySegmenter(testMarkers, Config{MaxThoughtLen: in.maxThought, MaxSummaryLen: in.maxSummary,
			Tail: in.tail, Reselect: in.reselect()})
		if err != nil {
			t.Fatal(err)
		}
		replay(t, seg, in)
	})
}

func FuzzParagraphSegmenter(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		in, ok := decodeFuzz(data)
		if !ok {
			return
		}
		seg, err := NewParagraphSegmenter(ParagraphConfig{Breaks: []int{N}, Answer: []int{A}, Tail: in.tail,
			MaxThoughtLen: in.maxThought, Reselect: in.reselect()})
		if err != nil {
			t.Fatal(err)
		}
		in.maxSummary = 0 // no summaries in paragraph mode: any summary token fails the checks
		replay(t, seg, in)
	})
}

// TestSegmentersRandom runs the fuzz invariants over pseudo-random streams in every plain test run.
func TestSegmentersRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		data := make([]byte, 4+r.IntN(120))
		for i := range data {
			data[i] = byte(r.IntN(256))
		}
		in, _ := decodeFuzz(data)
		seg, err := NewSummarySegmenter(testMarkers, Config{MaxThoughtLen: in.maxThought, MaxSummaryLen: in.maxSummary,
			Tail: in.tail, Reselect: in.reselect()})
		if err != nil {
			t.Fatal(err)
		}
		replay(t, seg, in)
		para, err := NewParagraphSegmenter(ParagraphConfig{Breaks: []int{N}, Answer: []int{A}, Tail: in.tail,
			MaxThoughtLen: in.maxThought, Reselect: in.reselect()})
		if err != nil {
			t.Fatal(err)
		}
		in.maxSummary = 0
		replay(t, para, in)
	}
}
