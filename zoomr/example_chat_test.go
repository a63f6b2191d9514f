package zoomr_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/zoomr"
)

// Load reads the bundled model with the settings of its zoomr.json (the budgets, the answer marker
// and the re-selection points it was evaluated with). The model has no chat template of its own (it
// was trained on bare problems), so this one passes the user's message through. It reasons until its
// answer marker, and Text returns the reasoning and the answer apart.
func ExampleDecoder_Chat() {
	ctx := context.Background()
	tpl, err := chat.Parse("{% for m in messages %}{{ m.content }}{% endfor %}")
	if err != nil {
		panic(err)
	}
	dec, err := zoomr.Load(ctx, "../testdata/zoomr-tiny", zoomr.Config{ChatTemplate: tpl})
	if err != nil {
		panic(err)
	}
	defer dec.Close()
	// A held-out problem of the model's task: 20 steps, then the question about step 4's value.
	problem := "W w24 = v3 P #19 k6 #18 k1 #17 k3 #16 k9 #15 k9 #14 k8 #13 k8 #12 k6 #11 k6 #10 k6 #9 k2 " +
		"#8 k4 #7 k7 #6 k1 #5 k4 #4 k3 #3 k2 #2 k7 #1 k3 #0 k2 QV S4"
	g := dec.Chat(ctx, []chat.Message{{Role: "user", Content: problem}})
	thoughts := 0
	for t, err := range g.Tokens() {
		if err != nil {
			panic(err)
		}
		if t.Sealed >= 0 {
			thoughts++
		}
	}
	reasoning, answer := g.Text()
	fmt.Println("thoughts:", thoughts, "reasoning starts:", strings.Join(strings.Fields(reasoning)[:2], " "))
	fmt.Println("answer:", answer)
	fmt.Printf("peak resident KV: %.1f KiB\n", float64(g.Stats().PeakResidentBytes)/1024)
	// Output:
	// thoughts: 20 reasoning starts: #19 k6
	// answer: QV S4 v3
	// peak resident KV: 265.4 KiB
}
