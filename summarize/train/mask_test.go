package train

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/summarize"
)

// gridExample is a tiny example: 2 prompt tokens, thought 0 (body 3, summary 2), thought 1 (body 2,
// summary 2), answer 3 tokens whose second one routes to thought 0.
//
//	pos  0 1 | 2 3 4 | 5 6 | 7 8 | 9 10 | 11 12 13
//	     P P | B B B | S S | B B | S S  | A  A  A
//	thought   0       0     1     1
func gridExample() *Example {
	P, B, S, A := summarize.Prompt, summarize.Thought, summarize.Summary, summarize.Answer
	kinds := []summarize.Kind{P, P, B, B, B, S, S, B, B, S, S, A, A, A}
	thought := []int{-1, -1, 0, 0, 0, 0, 0, 1, 1, 1, 1, -1, -1, -1}
	n := len(kinds)
	e := &Example{IDs: make([]int, n), Weight: make([]float32, n), Kinds: kinds, Thought: thought, PromptLen: 2,
		Route: 12, RouteThought: 0}
	for i := range e.IDs {
		e.IDs[i] = i + 1
	}
	return e
}

// render draws a mask as rows of '1' and '.'.
func render(mask []float32, T int) string {
	var b strings.Builder
	for p := range T {
		for q := range T {
			if mask[p*T+q] == 1 {
				b.WriteByte('1')
			} else {
				b.WriteByte('.')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestCausalMaskPadding(t *testing.T) {
	dst := make([]float32, 16)
	CausalMask(3, 4, dst)
	require.Equal(t, "1...\n11..\n111.\n...1\n", render(dst, 4))
}

// TestZoomMaskGrid: window 2 (the 2 tokens before each one, as a decoder's cache has it), the routed
// thought zoomed after the routing position, a random set (forced empty here) before. A summary is
// visible through the summary region once its thought is sealed (after its last token).
func TestZoomMaskGrid(t *testing.T) {
	e := gridExample()
	T := 15
	dst := make([]float32, T*T)
	RouteView(e, 2, []int{e.RouteThought}).Fill(e, T, dst)
	want := strings.Join([]string{
		"1..............", // 0  prompt
		"11.............", // 1
		"111............", // 2  body 0: prompt + window
		"1111...........", // 3
		"11111..........", // 4  window of 2: 2 3
		"11.111.........", // 5  summary 0 opens; window 3 4
		"11..111........", // 6
		"11...111.......", // 7  body 1: thought 0 sealed, its summary stays
		"11...1111......", // 8
		"11...11111.....", // 9
		"11...11.111....", // 10
		"11...11..111...", // 11 answer: thought 1 sealed
		"11...11..1111..", // 12 routing position: computed before the zoom
		"1111111..11111.", // 13 thought 0's body zoomed in (and window 11 12)
		"..............1", // 14 padding
	}, "\n") + "\n"
	require.Equal(t, want, render(dst, T))
}

func TestZoomMaskSlotLenKeepsTheEnd(t *testing.T) {
	e := gridExample()
	T := 14
	dst := make([]float32, T*T)
	v := RouteView(e, 1, []int{0})
	v.SlotLen = 2
	v.Fill(e, T, dst)
	require.Equal(t, "11.1111..11.11", render(dst, T)[13*(T+1):14*(T+1)-1], "last 2 body tokens of thought 0")
}

// TestRandomSelectionsAlwaysZoomTheRoutedThought: drawn masks zoom only sealed thoughts, at most
// Zoom of them, and the routed one after the routing position.
func TestRandomSelectionsAlwaysZoomTheRoutedThought(t *testing.T) {
	e := gridExample()
	vc := ViewConfig{WindowMin: 2, WindowMax: 3, Zoom: 1}
	l := layoutOf(e)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		v := vc.Draw(e, rng)
		require.True(t, v.Window == 2 || v.Window == 3)
		for _, s := range v.Zoom {
			require.LessOrEqual(t, len(s.IDs), 1)
			for _, id := range s.IDs {
				require.Less(t, l.sealedAt[id], s.From, "zoomed thought %d sealed before token %d", id, s.From)
			}
			if s.From == e.Route+1 {
				require.Equal(t, []int{0}, s.IDs)
			}
		}
	}
}

func TestExampleValidate(t *testing.T) {
	e := gridExample()
	require.NoError(t, e.Validate())
	bad := *e
	bad.Weight = bad.Weight[:3]
	require.ErrorIs(t, bad.Validate(), ErrExample)
	bad = *e
	bad.RouteThought = 5
	require.ErrorIs(t, bad.Validate(), ErrExample)
	bad = *e
	bad.Route = 99
	require.ErrorIs(t, bad.Validate(), ErrExample)
}
