package summarize_test

import (
	"fmt"
	"strings"

	"github.com/zoomr-go/zoomr/summarize"
)

// vocab is a toy vocabulary: token text -> id.
type vocab map[string]int

func (v vocab) TokenID(s string) (int, bool) { id, ok := v[s]; return id, ok }

// words encodes space-separated words (a toy tokenizer: one token per word).
func (v vocab) Encode(text string) ([]int, error) {
	var ids []int
	for _, w := range strings.Fields(text) {
		id, ok := v[w]
		if !ok {
			return nil, fmt.Errorf("unknown word %q", w)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

var toy = vocab{"<|begin_of_summary|>": 1, "<|end_of_summary|>": 2, "</think>": 3,
	"add": 10, "two": 11, "and": 12, "three": 13, "five": 14, "check": 15, "ok": 16, "\n\n": 17}

// A tuned model's stream: each thought's body, then its summary between the markers.
func ExampleSummarySegmenter() {
	m, err := summarize.Protocol{AnswerMarker: "</think>"}.Resolve(toy)
	if err != nil {
		fmt.Println(err)
		return
	}
	seg, _ := summarize.NewSummarySegmenter(m, summarize.Config{})
	stream := []string{"add", "two", "<|begin_of_summary|>", "five", "<|end_of_summary|>",
		"check", "<|begin_of_summary|>", "ok", "<|end_of_summary|>", "</think>", "five"}
	for _, w := range stream {
		ev := seg.Observe(toy[w])
		line := fmt.Sprintf("%-22s %-8v thought %2d", w, ev.Kind, ev.Thought)
		if ev.SummaryBegan {
			line += "  summary began"
		}
		if ev.ThoughtSealed {
			line += fmt.Sprintf("  sealed thought %d (body %d, summary %d)", ev.Seal.Thought, ev.Seal.BodyLen, ev.Seal.SummaryLen)
		}
		if ev.AnswerBegan {
			line += "  answer began"
		}
		if ev.Reselect {
			line += "  re-select"
		}
		fmt.Println(strings.TrimRight(line, " "))
	}
	// Output:
	// add                    thought  thought  0
	// two                    thought  thought  0
	// <|begin_of_summary|>   summary  thought  0  summary began
	// five                   summary  thought  0
	// <|end_of_summary|>     summary  thought  0  sealed thought 0 (body 2, summary 3)  re-select
	// check                  thought  thought  1
	// <|begin_of_summary|>   summary  thought  1  summary began
	// ok                     summary  thought  1
	// <|end_of_summary|>     summary  thought  1  sealed thought 1 (body 1, summary 3)  re-select
	// </think>               answer   thought -1  answer began  re-select
	// five                   answer   thought -1
}

// Any reasoning model: thoughts end at blank lines; the last 2 tokens of each stand in for a summary.
func ExampleParagraphSegmenter() {
	texts := map[int]string{10: "add", 11: " two", 17: "\n\n", 15: "check", 16: " ok"}
	breaks := summarize.ParagraphBreakIDs(20, func(id int) string { return texts[id] })
	seg, _ := summarize.NewParagraphSegmenter(summarize.ParagraphConfig{Breaks: breaks, Tail: 2})
	for _, id := range []int{10, 11, 11, 17, 15, 16, 17} {
		if ev := seg.Observe(id); ev.SealedWithoutSummary {
			fmt.Printf("thought %d sealed: %d tokens, summary region = last %d\n", ev.Seal.Thought, ev.Seal.BodyLen, ev.Seal.Tail)
		}
	}
	// Output:
	// thought 0 sealed: 4 tokens, summary region = last 2
	// thought 1 sealed: 3 tokens, summary region = last 2
}

// A training record becomes token ids with markers, a loss mask and per-token kinds.
func ExampleRenderer() {
	r, err := summarize.NewRenderer(toy, summarize.RenderOptions{
		Protocol: summarize.Protocol{AnswerMarker: "</think>"},
		Layout:   &summarize.Layout{}, // the toy tokenizer drops whitespace anyway
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := summarize.Record{
		Prompt:   "add two and three",
		Thoughts: []summarize.RecordThought{{Text: "two and three", Summary: "five"}},
		Answer:   "five",
	}
	out, err := r.Render(rec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ids:    ", out.IDs)
	fmt.Println("loss:   ", out.Loss)
	fmt.Println("kinds:  ", out.Kinds)
	fmt.Println("thought:", out.Thought)
	// Output:
	// ids:     [10 11 12 13 11 12 13 1 14 2 3 14]
	// loss:    [false false false false true true true true true true true true]
	// kinds:   [prompt prompt prompt prompt thought thought thought summary summary summary answer answer]
	// thought: [-1 -1 -1 -1 0 0 0 0 0 0 -1 -1]
}

// Records stream from JSONL; errors carry the line number.
func ExampleReader() {
	in := `{"prompt": "2+3?", "thoughts": [{"text": "2 and 3 make 5.", "summary": "5"}], "answer": "5"}

{"prompt": "2+3?", "thoughts": [], "answer": "5"}
`
	for rec, err := range summarize.NewReader(strings.NewReader(in)).All() {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		fmt.Printf("%d thought(s), answer %q\n", len(rec.Thoughts), rec.Answer)
	}
	// Output:
	// 1 thought(s), answer "5"
	// error: line 3: summarize: invalid record: no thoughts
}
