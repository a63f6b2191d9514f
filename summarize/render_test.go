package summarize

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRenderExact(t *testing.T) {
	tok := testTok()
	r, err := NewRenderer(tok, RenderOptions{Protocol: Protocol{AnswerMarker: "</think>"}, EndToken: "<|im_end|>"})
	if err != nil {
		t.Fatal(err)
	}
	rec := Record{Prompt: "Q: What is two plus three?", Thoughts: []RecordThought{
		{Text: "Two and three make five.", Summary: "Five."},
		{Text: "Check: five minus three is two.", Summary: "Checked."},
	}, Answer: "5"}
	out, err := r.Render(rec)
	if err != nil {
		t.Fatal(err)
	}
	// One row per piece: text, kind, thought.
	type piece struct {
		text    string
		kind    Kind
		thought int
	}
	want := []piece{
		{"Q: What is two plus three?", Prompt, -1},
		{"Two and three make five.", Thought, 0},
		{DefaultBeginSummary, Summary, 0}, {"Five.", Summary, 0}, {DefaultEndSummary, Summary, 0},
		{"\n\n", Thought, 1}, {"Check: five minus three is two.", Thought, 1},
		{DefaultBeginSummary, Summary, 1}, {"Checked.", Summary, 1}, {DefaultEndSummary, Summary, 1},
		{"</think>", Answer, -1}, {"\n\n", Answer, -1}, {"5", Answer, -1}, {"<|im_end|>", Answer, -1},
	}
	var ids, thoughts []int
	var kinds []Kind
	var loss []bool
	promptLen := 0
	for _, p := range want {
		pids, err := tok.Encode(p.text)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range pids {
			ids = append(ids, id)
			kinds = append(kinds, p.kind)
			thoughts = append(thoughts, p.thought)
			loss = append(loss, p.kind != Prompt)
		}
		if p.kind == Prompt {
			promptLen = len(ids)
		}
	}
	wantOut := Rendered{IDs: ids, Loss: loss, Kinds: kinds, Thought: thoughts, PromptLen: promptLen}
	if !reflect.DeepEqual(out, wantOut) {
		t.Errorf("got\n %+v\nwant\n %+v", out, wantOut)
	}
	wantText := "Q: What is two plus three?Two and three make five.<|begin_of_summary|>Five.<|end_of_summary|>" +
		"\n\nCheck: five minus three is two.<|begin_of_summary|>Checked.<|end_of_summary|></think>\n\n5<|im_end|>"
	if got := tok.decode(out.IDs); got != wantText {
		t.Errorf("text:\n%q\nwant\n%q", got, wantText)
	}
	if out.Len() != len(ids) || promptLen != 8 {
		t.Errorf("Len %d, PromptLen %d", out.Len(), promptLen)
	}
}

// TestRenderMatchesSegmenter: the segmenter, fed the generated tokens, sees the renderer's kinds and
// thought indices, and seals each thought at its end marker with the rendered lengths.
func TestRenderMatchesSegmenter(t *testing.T) {
	tok := testTok()
	layouts := []*Layout{nil, {Separator: "\n", BeforeAnswer: ""}, {}}
	for _, layout := range layouts {
		r, err := NewRenderer(tok, RenderOptions{Protocol: Protocol{AnswerMarker: "</think>"}, Layout: layout,
			MaxThoughtLen: 50, MaxSummaryLen: 20})
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range sampleRecordsForRender() {
			out, err := r.Render(rec)
			if err != nil {
				t.Fatal(err)
			}
			seg, _ := NewSummarySegmenter(r.Markers(), Config{MaxThoughtLen: 50, MaxSummaryLen: 20})
			bodies := map[int]int{}
			sums := map[int]int{}
			seals := 0
			for i := out.PromptLen; i < out.Len(); i++ {
				ev := seg.Observe(out.IDs[i])
				if ev.Kind != out.Kinds[i] || ev.Thought != out.Thought[i] || !out.Loss[i] {
					t.Fatalf("layout %+v token %d: event %+v, rendered %v/%d", layout, i, ev, out.Kinds[i], out.Thought[i])
				}
				switch out.Kinds[i] {
				case Thought:
					bodies[out.Thought[i]]++
				case Summary:
					sums[out.Thought[i]]++
				}
				if ev.Sealed() {
					s := ev.Seal
					if !ev.ThoughtSealed || s.Reason != SealEndMarker || s.BodyLen != bodies[s.Thought] || s.SummaryLen != sums[s.Thought] {
						t.Fatalf("seal %+v, rendered body %d summary %d", s, bodies[s.Thought], sums[s.Thought])
					}
					seals++
				}
			}
			if seals != len(rec.Thoughts) {
				t.Errorf("%d seals for %d thoughts", seals, len(rec.Thoughts))
			}
		}
	}
}

func sampleRecordsForRender() []Record {
	return []Record{
		{Prompt: "Q", Thoughts: []RecordThought{{Text: "Two", Summary: "Five"}}, Answer: "5"},
		{Prompt: "Q: What is two plus three?", Thoughts: []RecordThought{
			{Text: "Two and three make five.", Summary: "Five."},
			{Text: "Check: five minus three is two.\n", Summary: " Checked."},
			{Text: "\nFive", Summary: "5"},
		}, Answer: "Five."},
	}
}

func TestRenderErrors(t *testing.T) {
	tok := testTok()
	ok := func(o RenderOptions) *Renderer {
		r, err := NewRenderer(tok, o)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	base := Record{Prompt: "Q", Thoughts: []RecordThought{{Text: "Two", Summary: "Five"}}, Answer: "5"}
	with := func(f func(*Record)) Record {
		r := base
		r.Thoughts = append([]RecordThought(nil), base.Thoughts...)
		f(&r)
		return r
	}
	cases := []struct {
		name string
		r    *Renderer
		rec  Record
		want error
		msg  string
	}{
		{"invalid record", ok(RenderOptions{}), with(func(r *Record) { r.Answer = "" }), ErrRecord, "empty answer"},
		{"marker in text", ok(RenderOptions{}), with(func(r *Record) { r.Thoughts[0].Text = "Two" + DefaultEndSummary }), ErrMarkerInText, "thoughts[0].text"},
		{"marker in summary", ok(RenderOptions{}), with(func(r *Record) { r.Thoughts[0].Summary = DefaultBeginSummary + "s" }), ErrMarkerInText, "thoughts[0].summary"},
		{"answer marker in answer", ok(RenderOptions{Protocol: Protocol{AnswerMarker: "</think>"}}), with(func(r *Record) { r.Answer = "</think>5" }), ErrMarkerInText, "answer"},
		{"end token in answer", ok(RenderOptions{EndToken: "<|im_end|>"}), with(func(r *Record) { r.Answer = "5<|im_end|>" }), ErrMarkerInText, "answer"},
		{"unknown word", ok(RenderOptions{}), with(func(r *Record) { r.Thoughts[0].Text = "Zebra" }), nil, `thoughts[0].text: fakeTok: unknown piece "Zebra"`},
		{"unknown word in prompt", ok(RenderOptions{}), with(func(r *Record) { r.Prompt = "Zebra" }), nil, `encoding prompt`},
		{"body at the thought cap", ok(RenderOptions{MaxThoughtLen: 3}), with(func(r *Record) { r.Thoughts[0].Text = "Two and three" }), ErrTooLong, "thoughts[0] body has 3 tokens"},
		{"separator counts in the body", ok(RenderOptions{MaxThoughtLen: 2}), with(func(r *Record) {
			r.Thoughts = append(r.Thoughts, RecordThought{Text: "Two", Summary: "s"})
		}), ErrTooLong, "thoughts[1] body has 2 tokens"},
		{"summary over the cap", ok(RenderOptions{MaxSummaryLen: 3}), with(func(r *Record) { r.Thoughts[0].Summary = "Five." }), ErrTooLong, "summary has 4 tokens"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.r.Render(c.rec)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, c.want, c.msg)
			}
		})
	}
	// Within the caps exactly: a body of MaxThoughtLen-1 tokens and a summary of MaxSummaryLen.
	if _, err := ok(RenderOptions{MaxThoughtLen: 2, MaxSummaryLen: 3}).Render(base); err != nil {
		t.Errorf("at the caps: %v", err)
	}
	// A marker in the prompt is fine: the prompt is neither segmented nor trained on.
	if _, err := ok(RenderOptions{}).Render(with(func(r *Record) { r.Prompt = "Q" + DefaultBeginSummary })); err != nil {
		t.Errorf("marker in prompt: %v", err)
	}
}

func TestNewRendererErrors(t *testing.T) {
	if _, err := NewRenderer(newFakeTok(), RenderOptions{Protocol: Protocol{BeginSummary: "[S]"}}); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("unknown marker: %v", err)
	}
	if _, err := NewRenderer(testTok(), RenderOptions{EndToken: "<eos>"}); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("unknown end token: %v", err)
	}
	if _, err := NewRenderer(testTok(), RenderOptions{MaxSummaryLen: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("negative cap: %v", err)
	}
}
