package zoomr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/kvcache"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var modelCache sync.Map // spec name -> *model.Model

// testModel writes and loads a small random model once per spec.
func testModel(t testing.TB, arch string) *model.Model {
	t.Helper()
	if m, ok := modelCache.Load(arch); ok {
		return m.(*model.Model)
	}
	spec := model.RandomSpec{Arch: arch, VocabSize: 256, Hidden: 64, Layers: 2, Heads: 4, KVHeads: 2, Seed: 77}
	if arch == "qwen3" {
		spec.HeadDim = 32
	}
	if arch == "qwen2" {
		spec.Tie = true
	}
	dir := t.TempDir()
	_, err := model.WriteRandom(dir, spec)
	require.NoError(t, err)
	m, err := model.Load(context.Background(), dir)
	require.NoError(t, err)
	modelCache.Store(arch, m)
	return m
}

// scriptedSegmenter cuts the stream into thoughts of `every` tokens whose last `summary` tokens are a
// summary, whatever the tokens are: random models never write markers, and the cache still has to be
// driven through summaries, seals and re-selections.
type scriptedSegmenter struct {
	every, summary, n int
}

func (s *scriptedSegmenter) Reset() { s.n = 0 }

func (s *scriptedSegmenter) Observe(int) summarize.Event {
	i := s.n % s.every
	th := s.n / s.every
	s.n++
	ev := summarize.Event{Kind: summarize.Thought, Thought: th}
	if i >= s.every-s.summary {
		ev.Kind = summarize.Summary
	}
	if i == s.every-s.summary {
		ev.SummaryBegan = true
	}
	if i == s.every-1 {
		ev.ThoughtSealed, ev.Reselect = true, true
		ev.Seal = summarize.Seal{Thought: th, BodyLen: s.every - s.summary, SummaryLen: s.summary}
	}
	return ev
}

func scripted() func() (summarize.Segmenter, error) {
	return func() (summarize.Segmenter, error) { return &scriptedSegmenter{every: 24, summary: 5}, nil }
}

func generate(t testing.TB, d *Decoder, prompt []int) ([]int, Stats) {
	t.Helper()
	toks, stats, err := d.Run(context.Background(), prompt)
	require.NoError(t, err)
	ids := make([]int, len(toks))
	for i, tk := range toks {
		ids[i] = tk.ID
	}
	return ids, stats
}

var testPrompt = []int{1, 17, 33, 201, 5, 9, 99, 100, 150, 3}

// TestCoveringZoomREqualsFull is the oracle test: with budgets that cover everything, the ZoomR policy
// produces exactly the full cache's 256 greedy tokens (random llama, qwen2, qwen3 models), through summaries,
// seals, votes and zooms; and with a tight budget it does not (so the test can fail).
func TestCoveringZoomREqualsFull(t *testing.T) {
	for _, arch := range []string{"llama", "qwen2", "qwen3"} {
		t.Run(arch, func(t *testing.T) {
			m := testModel(t, arch)
			base := Config{MaxTokens: 256, IgnoreEOS: true, NewSegmenter: scripted()}
			full := base
			full.Policy = PolicyFull
			fd, err := New(m, nil, full)
			require.NoError(t, err)
			want, _ := generate(t, fd, testPrompt)

			covering := base
			covering.Window, covering.SummaryCap, covering.ZoomSlotLen = 512, 512, 64
			zd, err := New(m, nil, covering)
			require.NoError(t, err)
			got, stats := generate(t, zd, testPrompt)
			require.Equal(t, want, got)
			require.Greater(t, stats.Reselections, 5)

			tight := base
			tight.Window, tight.SummaryCap, tight.ZoomSlotLen, tight.Zoom = 8, 8, 8, 1
			td, err := New(m, nil, tight)
			require.NoError(t, err)
			other, _ := generate(t, td, testPrompt)
			require.NotEqual(t, want, other, "a tight budget should change a random model's output")
		})
	}
}

// TestCoveringParagraphEqualsFull: the training-free segmenter (forced splits, mean-key summaries) with
// a covering budget also equals the full cache, in bfloat16 storage on both sides.
func TestCoveringParagraphEqualsFull(t *testing.T) {
	m := testModel(t, "llama")
	base := Config{MaxTokens: 200, IgnoreEOS: true, Segmenter: SegmentParagraph, MaxThoughtLen: 16, BFloat16: true}
	full := base
	full.Policy = PolicyFull
	fd, err := New(m, nil, full)
	require.NoError(t, err)
	want, _ := generate(t, fd, testPrompt)
	cov := base
	cov.Window = 512
	zd, err := New(m, nil, cov)
	require.NoError(t, err)
	got, stats := generate(t, zd, testPrompt)
	require.Equal(t, want, got)
	require.Greater(t, stats.Reselections, 5)
}

// TestGraphBuildsStable: the ZoomR decode graph is built once; 2,000 tokens later the count is the same.
func TestGraphBuildsStable(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 2,000 tokens")
	}
	m := testModel(t, "llama")
	d, err := New(m, nil, Config{MaxTokens: 2000, IgnoreEOS: true, NewSegmenter: scripted(), Window: 64, SummaryCap: 64, ZoomSlotLen: 32})
	require.NoError(t, err)
	var at10, at2000 int64
	n := 0
	var resident []int64
	for tok, err := range d.GenerateIDs(context.Background(), testPrompt) {
		require.NoError(t, err)
		n++
		if n == 10 {
			at10 = tok.Stats.GraphBuilds
		}
		at2000 = tok.Stats.GraphBuilds
		resident = append(resident, tok.Stats.ResidentBytes)
	}
	require.Equal(t, 2000, n)
	require.Equal(t, at10, at2000, "graph builds after 10 and 2,000 tokens")
	for _, r := range resident {
		require.Equal(t, resident[0], r, "ZoomR resident bytes are fixed")
	}
}

func TestCancellation(t *testing.T) {
	m := testModel(t, "llama")
	d, err := New(m, nil, Config{MaxTokens: 1000, IgnoreEOS: true, NewSegmenter: scripted()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var last error
	for _, err := range d.GenerateIDs(ctx, testPrompt) {
		if err != nil {
			last = err
			break
		}
		n++
		if n == 5 {
			cancel()
		}
	}
	require.ErrorIs(t, last, context.Canceled)
	require.Equal(t, 5, n, "cancellation is honoured at the next step")
	goleak.VerifyNone(t)
}

func wordTokenizer(t testing.TB, specials ...string) *tokenizer.Tokenizer {
	words := []string{}
	for i := range 200 {
		words = append(words, fmt.Sprintf("w%d", i))
	}
	tok, err := tokenizer.NewWordLevel(tokenizer.WordLevelSpec{Specials: append([]string{"<eos>"}, specials...), Words: words, EOS: "<eos>"})
	require.NoError(t, err)
	return tok
}

func TestBadInput(t *testing.T) {
	m := testModel(t, "llama")
	ctx := context.Background()
	d, err := New(m, nil, Config{NewSegmenter: scripted(), MaxPromptTokens: 8, MaxTokens: 4})
	require.NoError(t, err)
	runErr := func(prompt []int) error {
		_, _, err := d.Run(ctx, prompt)
		return err
	}
	require.ErrorIs(t, runErr(nil), ErrPrompt)
	require.ErrorIs(t, runErr([]int{1, 2, 3, 4, 5, 6, 7, 8, 9}), ErrPrompt)
	err = runErr([]int{1, 256})
	require.ErrorIs(t, err, ErrPrompt)
	require.Contains(t, err.Error(), "256")
	require.ErrorIs(t, runErr([]int{-1}), ErrPrompt)

	for name, cfg := range map[string]Config{
		"policy":      {Policy: "lru"},
		"segmenter":   {Segmenter: "sentences"},
		"window":      {Window: -1},
		"temperature": {Temperature: -0.5},
		"top-p":       {TopP: 1.5},
		"stop string": {StopStrings: []string{""}},
		"summary len": {MaxSummaryLen: 1},
		"vote layers": {VoteLayers: []int{}},
		"vote layer":  {VoteLayers: []int{-1}},
		"vote twice":  {VoteLayers: []int{0, 0}},
		"vote beyond": {VoteLayers: []int{m.Config.Layers}, NewSegmenter: scripted()},
	} {
		_, err := New(m, nil, cfg)
		require.ErrorIs(t, err, ErrConfig, name)
	}
	_, err = New(m, nil, Config{StopTokens: []int{999}, NewSegmenter: scripted()})
	require.ErrorIs(t, err, ErrConfig)

	// A vocabulary without the summary markers cannot follow the summary protocol when it is asked for.
	_, err = New(m, wordTokenizer(t), Config{Segmenter: SegmentSummary})
	require.ErrorIs(t, err, ErrProtocol)
	require.Contains(t, err.Error(), "<|begin_of_summary|>")
	// ... nor without a tokenizer; by default (auto) it falls back to paragraphs.
	_, err = New(m, nil, Config{Segmenter: SegmentSummary})
	require.ErrorIs(t, err, ErrProtocol)
	d0, err := New(m, wordTokenizer(t), Config{})
	require.NoError(t, err)
	require.Equal(t, SegmentParagraph, d0.Segmenter())
	d1, err := New(m, wordTokenizer(t, summarize.DefaultBeginSummary, summarize.DefaultEndSummary), Config{})
	require.NoError(t, err)
	require.Equal(t, SegmentSummary, d1.Segmenter())
	d2, err := New(m, nil, Config{})
	require.NoError(t, err)
	require.Equal(t, SegmentParagraph, d2.Segmenter())
	// Unknown words in a text prompt.
	td, err := New(m, wordTokenizer(t), Config{Segmenter: SegmentParagraph, MaxTokens: 2})
	require.NoError(t, err)
	for _, err := range td.Generate(ctx, "w1 nonsense") {
		require.ErrorIs(t, err, ErrPrompt)
	}
}

// TestTextGeneration: text in, text pieces out, with kinds and a stop string.
func TestTextGeneration(t *testing.T) {
	m := testModel(t, "llama")
	tok := wordTokenizer(t, summarize.DefaultBeginSummary, summarize.DefaultEndSummary)
	d, err := New(m, tok, Config{MaxTokens: 20, IgnoreEOS: true})
	require.NoError(t, err)
	g := d.Start(context.Background(), "w1 w2 w3")
	var text string
	n := 0
	for tk, err := range g.Tokens() {
		require.NoError(t, err)
		text += tk.Text
		n++
	}
	require.Equal(t, 20, n)
	require.NotEmpty(t, text)
	st := g.Stats()
	require.Equal(t, 20, st.Tokens)
	require.Equal(t, 3, st.PromptTokens)
	require.Greater(t, st.TokensPerSecond, 0.0)
	require.Greater(t, st.PeakResidentBytes, int64(0))
	require.Equal(t, StopMaxTokens, st.StopReason)
}

// TestStopString: generation ends at the first token after which the text ends with a stop string,
// also when the string spans several tokens (the decoder keeps only the text's tail).
func TestStopString(t *testing.T) {
	m := testModel(t, "llama")
	tok := wordTokenizer(t, summarize.DefaultBeginSummary, summarize.DefaultEndSummary)
	free, err := New(m, tok, Config{MaxTokens: 20, IgnoreEOS: true})
	require.NoError(t, err)
	var texts []string
	for tk, err := range free.Start(context.Background(), "w1 w2 w3").Tokens() {
		require.NoError(t, err)
		texts = append(texts, tk.Text)
	}
	require.Len(t, texts, 20)
	// Stop on the text of tokens 6..8 (0-based): the first time the text ends with it.
	stop := strings.Join(texts[6:9], "")
	want := 9
	for i := range 9 {
		if strings.HasSuffix(strings.Join(texts[:i+1], ""), stop) {
			want = i + 1
			break
		}
	}
	d, err := New(m, tok, Config{MaxTokens: 20, IgnoreEOS: true, StopStrings: []string{"never seen", stop}})
	require.NoError(t, err)
	g := d.Start(context.Background(), "w1 w2 w3")
	n := 0
	for _, err := range g.Tokens() {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, want, n)
	require.Equal(t, StopString, g.Stats().StopReason)
}

// TestConcurrentSessions runs generations in parallel on one Decoder; each equals its sequential run
// (run under -race in CI).
func TestConcurrentSessions(t *testing.T) {
	m := testModel(t, "llama")
	d, err := New(m, nil, Config{MaxTokens: 40, IgnoreEOS: true, NewSegmenter: scripted(), Window: 16, SummaryCap: 16, ZoomSlotLen: 16})
	require.NoError(t, err)
	prompts := [][]int{{1, 2, 3}, {4, 5, 6, 7}, {8, 9}, {10, 11, 12, 13, 14}}
	want := make([][]int, len(prompts))
	for i, p := range prompts {
		want[i], _ = generate(t, d, p)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(prompts))
	for i, p := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks, _, err := d.Run(context.Background(), p)
			if err != nil {
				errs <- err
				return
			}
			for j, tk := range toks {
				if tk.ID != want[i][j] {
					errs <- errors.New("concurrent run differs from sequential run")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSampling: temperature sampling is reproducible with a seed and differs across seeds.
func TestSampling(t *testing.T) {
	m := testModel(t, "llama")
	run := func(seed uint64) []int {
		d, err := New(m, nil, Config{MaxTokens: 30, IgnoreEOS: true, NewSegmenter: scripted(), Temperature: 1.0, TopK: 50, TopP: 0.95, Seed: seed})
		require.NoError(t, err)
		ids, _ := generate(t, d, testPrompt)
		return ids
	}
	require.Equal(t, run(1), run(1))
	require.NotEqual(t, run(1), run(2))
}

// TestEveryPolicyRuns drives each registered policy through the model for a generation long enough
// to fill every bounded one at matched budgets: each reaches ZoomR's resident budget and none exceeds
// it, and the full cache holds more.
func TestEveryPolicyRuns(t *testing.T) {
	m := testModel(t, "llama")
	cfg := Config{MaxTokens: 120, IgnoreEOS: true, NewSegmenter: scripted(), Window: 16, SummaryCap: 16, ZoomSlotLen: 16}
	d, err := New(m, nil, cfg)
	require.NoError(t, err)
	budget, err := cfg.ResidentBudget(d.layout, len(testPrompt))
	require.NoError(t, err)
	for _, p := range kvcache.PolicyNames() {
		c := cfg
		c.Policy = p
		d, err := New(m, nil, c)
		require.NoError(t, err)
		ids, stats := generate(t, d, testPrompt)
		require.Len(t, ids, 120, p)
		if p == PolicyFull {
			require.Greater(t, stats.PeakResidentBytes, budget.Bytes)
			continue
		}
		require.Equal(t, budget.Bytes, stats.PeakResidentBytes, "policy %s fills ZoomR's resident budget", p)
	}
}

// TestGenerationRangedTwice: ranging one Generation from two goroutines runs it once; the other gets
// ErrRanged (race-free under -race), and Stats reads after both are done.
func TestGenerationRangedTwice(t *testing.T) {
	m := testModel(t, "llama")
	d, err := New(m, nil, Config{MaxTokens: 12, IgnoreEOS: true, NewSegmenter: scripted()})
	require.NoError(t, err)
	g := d.StartIDs(context.Background(), testPrompt)
	counts := make([]int, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			for _, err := range g.Tokens() {
				if err != nil {
					errs[i] = err
					return
				}
				counts[i]++
			}
		})
	}
	wg.Wait()
	require.Equal(t, 12, counts[0]+counts[1])
	require.True(t, (counts[0] == 12) != (counts[1] == 12))
	ranged := errs[0]
	if counts[0] == 12 {
		ranged = errs[1]
	}
	require.ErrorIs(t, ranged, ErrRanged)
	require.NotErrorIs(t, ranged, ErrConfig)
	require.Equal(t, 12, g.Stats().Tokens)
	require.Equal(t, StopMaxTokens, g.Stats().StopReason)
}

// TestParagraphTextsAreDecoded: the paragraph segmenter sees decoded token text, so a SentencePiece
// newline byte token (<0x0A>) reads as "\n" and two of them end a thought.
func TestParagraphTextsAreDecoded(t *testing.T) {
	tok, err := tokenizer.Load("../testdata/tokenizer/ggml-vocab-llama-spm.gguf")
	require.NoError(t, err)
	texts := tokenTexts(tok)
	nl, ok := tok.TokenID("<0x0A>")
	require.True(t, ok)
	require.Equal(t, "\n", texts[nl])
	seg, err := summarize.NewParagraphSegmenter(summarize.ParagraphConfig{TokenText: func(id int) string { return texts[id] }})
	require.NoError(t, err)
	hello, _ := tok.TokenID("▁Hello")
	seg.Observe(hello)
	seg.Observe(nl)
	require.True(t, seg.Observe(nl).SealedWithoutSummary)
}
