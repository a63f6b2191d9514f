package summarize

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Token ids of the test streams.
const (
	B = 100 // <|begin_of_summary|>
	E = 101 // <|end_of_summary|>
	A = 102 // </think>: answer marker
	P = 103 // "." sentence end
	N = 104 // "\n\n" paragraph break
)

var testMarkers = Markers{Begin: B, End: E, Answer: []int{A}}

// Event builders for readable tables.
func th(i int) Event    { return Event{Kind: Thought, Thought: i} }
func su(i int) Event    { return Event{Kind: Summary, Thought: i} }
func an() Event         { return Event{Kind: Answer, Thought: -1} }
func begin(i int) Event { return Event{Kind: Summary, Thought: i, SummaryBegan: true} }
func re(e Event) Event  { e.Reselect = true; return e }

// closed: this token (an end marker or the cap) sealed thought i with its summary.
func closed(i, body, sum int, r SealReason) Event {
	return Event{Kind: Summary, Thought: i, ThoughtSealed: true, Reselect: true,
		Seal: Seal{Thought: i, BodyLen: body, SummaryLen: sum, Reason: r}}
}

// split: this body token sealed thought i without summary.
func split(i, body, tail int, r SealReason) Event {
	return Event{Kind: Thought, Thought: i, SealedWithoutSummary: true, Reselect: true,
		Seal: Seal{Thought: i, BodyLen: body, Tail: tail, Reason: r}}
}

// answerAfter: the answer marker, sealing before itself thought i (sum > 0: its summary was open).
func answerAfter(i, body, sum, tail int) Event {
	e := Event{Kind: Answer, Thought: -1, AnswerBegan: true, Reselect: true,
		Seal: Seal{Thought: i, BodyLen: body, SummaryLen: sum, Tail: tail, Reason: SealAnswer, BeforeToken: true}}
	if sum > 0 {
		e.ThoughtSealed = true
	} else {
		e.SealedWithoutSummary = true
	}
	return e
}

type segCase struct {
	name   string
	cfg    Config
	stream []int
	want   []Event
}

func runSeg(t *testing.T, newSeg func(t *testing.T) Segmenter, stream []int, want []Event) {
	t.Helper()
	seg := newSeg(t)
	got := make([]Event, len(stream))
	for i, tok := range stream {
		got[i] = seg.Observe(tok)
	}
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) || !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("token %d (%d):\n got  %+v\n want %+v", i, at(stream, i), at(got, i), at(want, i))
		}
	}
	// Reset gives a fresh stream: the same events again.
	seg.Reset()
	for i, tok := range stream {
		if e := seg.Observe(tok); !reflect.DeepEqual(e, got[i]) {
			t.Fatalf("after Reset, token %d: %+v, first pass %+v", i, e, got[i])
		}
	}
}

func at[T any](s []T, i int) any {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

func TestSummarySegmenter(t *testing.T) {
	cases := []segCase{
		{name: "clean", stream: []int{1, 2, B, 3, E, 4, B, 5, E, A, 6, 7}, want: []Event{
			th(0), th(0), begin(0), su(0), closed(0, 2, 3, SealEndMarker),
			th(1), begin(1), su(1), closed(1, 1, 3, SealEndMarker),
			re(Event{Kind: Answer, Thought: -1, AnswerBegan: true}), an(), an(),
		}},
		{name: "begin inside a summary is an ordinary summary token", stream: []int{1, B, 2, B, 3, E}, want: []Event{
			th(0), begin(0), su(0), su(0), su(0), closed(0, 1, 5, SealEndMarker),
		}},
		{name: "end without begin closes the body", stream: []int{1, 2, E, 3}, want: []Event{
			th(0), th(0), split(0, 3, 0, SealStrayEnd), th(1),
		}},
		{name: "end without begin on an empty body is a body token", stream: []int{E, 1, B, 2, E}, want: []Event{
			th(0), th(0), begin(0), su(0), closed(0, 2, 3, SealEndMarker),
		}},
		{name: "double end: the second opens the next body", stream: []int{1, B, E, E, 2}, want: []Event{
			th(0), begin(0), closed(0, 1, 2, SealEndMarker), th(1), th(1),
		}},
		{name: "summary that never closes is capped", cfg: Config{MaxSummaryLen: 4},
			stream: []int{1, B, 2, 3, 4, 5, E}, want: []Event{
				th(0), begin(0), su(0), su(0), closed(0, 1, 4, SealMaxSummary),
				// The rest of the overlong summary becomes thought 1's body; its end marker closes it.
				th(1), split(1, 2, 0, SealStrayEnd),
			}},
		{name: "end marker exactly at the summary cap", cfg: Config{MaxSummaryLen: 3},
			stream: []int{1, B, 2, E}, want: []Event{th(0), begin(0), su(0), closed(0, 1, 3, SealEndMarker)}},
		{name: "thought that never ends is split", cfg: Config{MaxThoughtLen: 3, Tail: 2},
			stream: []int{1, 2, 3, 4, 5, 6, 7}, want: []Event{
				th(0), th(0), split(0, 3, 2, SealMaxThought), th(1), th(1), split(1, 3, 2, SealMaxThought), th(2),
			}},
		{name: "tail capped at body length", cfg: Config{Tail: 5}, stream: []int{1, 2, E}, want: []Event{
			th(0), th(0), split(0, 3, 3, SealStrayEnd),
		}},
		{name: "summary of an empty body", stream: []int{B, 1, E, 2, B, E}, want: []Event{
			begin(0), su(0), closed(0, 0, 3, SealEndMarker), th(1), begin(1), closed(1, 1, 2, SealEndMarker),
		}},
		{name: "answer closes an open summary", stream: []int{1, B, 2, A, 3}, want: []Event{
			th(0), begin(0), su(0), answerAfter(0, 1, 2, 0), an(),
		}},
		{name: "answer closes an open body", cfg: Config{Tail: 1}, stream: []int{1, 2, A}, want: []Event{
			th(0), th(0), answerAfter(0, 2, 0, 1),
		}},
		{name: "answer after a seal; markers in the answer are answer", stream: []int{1, B, E, A, B, E, A}, want: []Event{
			th(0), begin(0), closed(0, 1, 2, SealEndMarker),
			re(Event{Kind: Answer, Thought: -1, AnswerBegan: true}), an(), an(), an(),
		}},
		{name: "answer first", stream: []int{A, 1}, want: []Event{
			re(Event{Kind: Answer, Thought: -1, AnswerBegan: true}), an(),
		}},
		{name: "sentence ends in bodies and answer", cfg: Config{Reselect: Reselect{SentenceEnds: []int{P}}},
			stream: []int{1, P, B, P, E, 2, P, A, P}, want: []Event{
				th(0), re(th(0)), begin(0), su(0), closed(0, 2, 3, SealEndMarker),
				th(1), re(th(1)), answerAfter(1, 2, 0, 0), re(an()),
			}},
		{name: "every 3 tokens since the last point", cfg: Config{Reselect: Reselect{Every: 3}},
			stream: []int{1, 2, 3, 4, B, 5, E, 6, 7, 8}, want: []Event{
				th(0), th(0), re(th(0)), th(0), begin(0), re(su(0)), closed(0, 4, 3, SealEndMarker),
				th(1), th(1), re(th(1)),
			}},
		{name: "no re-selection at boundaries", cfg: Config{Reselect: Reselect{NotAtBoundaries: true}},
			stream: []int{1, B, E, A}, want: []Event{
				th(0), begin(0), noRe(closed(0, 1, 2, SealEndMarker)), {Kind: Answer, Thought: -1, AnswerBegan: true},
			}},
		{name: "max thought length 1", cfg: Config{MaxThoughtLen: 1}, stream: []int{1, B, E, 2}, want: []Event{
			split(0, 1, 0, SealMaxThought), begin(1), closed(1, 0, 2, SealEndMarker), split(2, 1, 0, SealMaxThought),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSeg(t, func(t *testing.T) Segmenter {
				s, err := NewSummarySegmenter(testMarkers, c.cfg)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}, c.stream, c.want)
		})
	}
}

func noRe(e Event) Event { e.Reselect = false; return e }

func TestSummarySegmenterResetMidStream(t *testing.T) {
	s, _ := NewSummarySegmenter(testMarkers, Config{})
	for _, tok := range []int{1, B, E, 2, B, 3} {
		s.Observe(tok)
	}
	if s.Sealed() != 1 {
		t.Fatalf("Sealed = %d", s.Sealed())
	}
	s.Reset()
	if s.Sealed() != 0 {
		t.Fatalf("Sealed after Reset = %d", s.Sealed())
	}
	// The open summary is forgotten: the end marker now ends a body as a stray end.
	if got, want := []Event{s.Observe(3), s.Observe(E)}, []Event{th(0), split(0, 2, 0, SealStrayEnd)}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParagraphSegmenter(t *testing.T) {
	base := ParagraphConfig{Breaks: []int{N}, Tail: 2, Answer: []int{A}}
	text := map[int]string{1: "a", 2: "b.", 10: "\n", 11: " \n", 12: "\n\n", 13: "x\n\ny", 14: "\r\n"}
	cases := []struct {
		name   string
		cfg    ParagraphConfig
		stream []int
		want   []Event
	}{
		{name: "breaks, lone break folded, answer", cfg: base, stream: []int{1, 2, N, 3, N, N, 4, A, 5}, want: []Event{
			th(0), th(0), split(0, 3, 2, SealParagraph), th(1), split(1, 2, 2, SealParagraph),
			th(2), th(2), answerAfter(2, 2, 0, 2), an(),
		}},
		{name: "min thought length", cfg: ParagraphConfig{Breaks: []int{N}, MinThoughtLen: 4},
			stream: []int{1, N, 2, 3, N}, want: []Event{th(0), th(0), th(0), th(0), split(0, 5, 0, SealParagraph)}},
		{name: "max thought length", cfg: ParagraphConfig{Breaks: []int{N}, MaxThoughtLen: 3},
			stream: []int{1, 2, 3, 4, N}, want: []Event{th(0), th(0), split(0, 3, 0, SealMaxThought), th(1), split(1, 2, 0, SealParagraph)}},
		{name: "answer with nothing open", cfg: base, stream: []int{1, N, A, N},
			want: []Event{th(0), split(0, 2, 2, SealParagraph), re(Event{Kind: Answer, Thought: -1, AnswerBegan: true}), an()}},
		{name: "blank lines in decoded text, across tokens",
			cfg:    ParagraphConfig{TokenText: func(id int) string { return text[id] }},
			stream: []int{1, 10, 10, 2, 10, 11, 1, 13, 1, 12, 1, 10, 14, 1}, want: []Event{
				th(0), th(0), split(0, 3, 0, SealParagraph),
				th(1), th(1), split(1, 3, 0, SealParagraph),
				th(2), split(2, 2, 0, SealParagraph),
				th(3), split(3, 2, 0, SealParagraph),
				th(4), th(4), split(4, 3, 0, SealParagraph), th(5),
			}},
		{name: "sentence re-selection", cfg: ParagraphConfig{Breaks: []int{N}, Reselect: Reselect{SentenceEnds: []int{P}}},
			stream: []int{1, P, 2, N}, want: []Event{th(0), re(th(0)), th(0), split(0, 4, 0, SealParagraph)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runSeg(t, func(t *testing.T) Segmenter {
				p, err := NewParagraphSegmenter(c.cfg)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}, c.stream, c.want)
		})
	}
}

func TestParagraphBreakIDs(t *testing.T) {
	texts := []string{"a", "\n", "\n\n", ".\n\n", " \n", "\n \n", "x\ny", "\r\n\r\n", ""}
	got := ParagraphBreakIDs(len(texts), func(id int) string { return texts[id] })
	if want := []int{2, 3, 5, 7}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		m    Markers
		cfg  Config
		want error
	}{
		{"same markers", Markers{Begin: 1, End: 1}, Config{}, ErrMarkers},
		{"negative marker", Markers{Begin: -1, End: 1}, Config{}, ErrMarkers},
		{"answer is a marker", Markers{Begin: 1, End: 2, Answer: []int{2}}, Config{}, ErrMarkers},
		{"negative answer", Markers{Begin: 1, End: 2, Answer: []int{-4}}, Config{}, ErrMarkers},
		{"summary cap 1", testMarkers, Config{MaxSummaryLen: 1}, ErrConfig},
		{"negative summary cap", testMarkers, Config{MaxSummaryLen: -1}, ErrConfig},
		{"negative thought cap", testMarkers, Config{MaxThoughtLen: -1}, ErrConfig},
		{"negative tail", testMarkers, Config{Tail: -1}, ErrConfig},
		{"negative every", testMarkers, Config{Reselect: Reselect{Every: -1}}, ErrConfig},
	} {
		if _, err := NewSummarySegmenter(c.m, c.cfg); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		cfg  ParagraphConfig
	}{
		{"no breaks", ParagraphConfig{}},
		{"negative tail", ParagraphConfig{Breaks: []int{N}, Tail: -1}},
		{"negative min", ParagraphConfig{Breaks: []int{N}, MinThoughtLen: -1}},
		{"negative max", ParagraphConfig{Breaks: []int{N}, MaxThoughtLen: -1}},
		{"negative answer", ParagraphConfig{Breaks: []int{N}, Answer: []int{-1}}},
		{"negative every", ParagraphConfig{Breaks: []int{N}, Reselect: Reselect{Every: -2}}},
	} {
		if _, err := NewParagraphSegmenter(c.cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", c.name, err)
		}
	}
}

type mapVocab map[string]int

func (v mapVocab) TokenID(s string) (int, bool) { id, ok := v[s]; return id, ok }

func TestProtocolResolve(t *testing.T) {
	v := mapVocab{DefaultBeginSummary: 7, DefaultEndSummary: 8, "</think>": 9, "[S]": 3, "[/S]": 4}
	m, err := Protocol{}.Resolve(v)
	if err != nil || !reflect.DeepEqual(m, Markers{Begin: 7, End: 8}) {
		t.Errorf("default: %+v %v", m, err)
	}
	m, err = Protocol{BeginSummary: "[S]", EndSummary: "[/S]", AnswerMarker: "</think>"}.Resolve(v)
	if err != nil || !reflect.DeepEqual(m, Markers{Begin: 3, End: 4, Answer: []int{9}}) {
		t.Errorf("custom: %+v %v", m, err)
	}
	for _, p := range []Protocol{{BeginSummary: "?"}, {EndSummary: "?"}, {AnswerMarker: "?"}} {
		if _, err := p.Resolve(v); !errors.Is(err, ErrUnknownToken) || !strings.Contains(err.Error(), `"?"`) {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if _, err := (Protocol{BeginSummary: "[S]", EndSummary: "[S]"}).Resolve(v); !errors.Is(err, ErrMarkers) {
		t.Errorf("same marker: %v", err)
	}
}

func TestStrings(t *testing.T) {
	got := fmt.Sprint(Prompt, Thought, Summary, Answer, Kind(9), SealNone, SealEndMarker, SealMaxSummary,
		SealMaxThought, SealStrayEnd, SealParagraph, SealAnswer, SealReason(42))
	want := "prompt thought summary answer Kind(9) none end-marker max-summary max-thought stray-end paragraph answer SealReason(42)"
	if got != want {
		t.Errorf("got %q", got)
	}
}

func TestObserveAllocs(t *testing.T) {
	s, _ := NewSummarySegmenter(Markers{Begin: B, End: E, Answer: []int{A, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007}},
		Config{Reselect: Reselect{SentenceEnds: []int{P}, Every: 7}})
	texts := []string{"a", "\n"}
	p, _ := NewParagraphSegmenter(ParagraphConfig{Breaks: []int{N}, TokenText: func(id int) string { return texts[id%2] }})
	stream := []int{1, 2, P, B, 3, E, N, 4, 5, E, B, 6}
	for _, seg := range []Segmenter{s, p} {
		if n := testing.AllocsPerRun(20, func() {
			seg.Reset()
			for _, tok := range stream {
				seg.Observe(tok)
			}
		}); n != 0 {
			t.Errorf("%T: %v allocs", seg, n)
		}
	}
}

func TestParagraphSealedCount(t *testing.T) {
	p, _ := NewParagraphSegmenter(ParagraphConfig{Breaks: []int{N}})
	for _, tok := range []int{1, N, 2, N, 3} {
		p.Observe(tok)
	}
	if p.Sealed() != 2 {
		t.Errorf("Sealed = %d", p.Sealed())
	}
	p.Reset()
	if p.Sealed() != 0 || p.Observe(N).Thought != 0 {
		t.Errorf("Reset did not restart at thought 0")
	}
}
