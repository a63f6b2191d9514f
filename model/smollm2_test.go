package model

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zoomr-go/zoomr/internal/oracle"
	"github.com/zoomr-go/zoomr/internal/testmodels"
	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/model/gguf"
	"github.com/zoomr-go/zoomr/model/tokenizer"
)

// SmolLM2-135M-Instruct (the real Q4_1 GGUF) against llama.cpp on chat prompts: each conversation
// is rendered with the chat template from the file's metadata (model/chat), tokenized with the
// file's tokenizer, and continued greedily for smolLM2Gen tokens. testdata/golden/smollm2/chat.json
// is llama.cpp's view of the same rendered texts (tokenized by llama.cpp with parse_special, F32 KV
// cache, no flash attention, top-5 log-probs from the last prompt position on); regenerate it with
// `go test ./model -run TestSmolLM2ChatGoldensOracle -update`.

const (
	smolLM2Gen       = 48
	smolLM2GoldenDir = "../testdata/golden/smollm2"
)

// smolLM2Conversations are the chat prompts; the first four are single user messages (what
// examples/generate -chat renders).
var smolLM2Conversations = []struct {
	Name     string
	Messages []chat.Message
}{
	{"capital", []chat.Message{{Role: "user", Content: "What is the capital of France?"}}},
	{"go-hello", []chat.Message{{Role: "user", Content: "Write a hello world program in Go."}}},
	{"haiku", []chat.Message{{Role: "user", Content: "Write a haiku about the sea."}}},
	{"explain", []chat.Message{{Role: "user", Content: "Explain in two sentences why the sky is blue."}}},
	{"system", []chat.Message{{Role: "system", Content: "You are a terse assistant. Answer in one line."},
		{Role: "user", Content: "How many legs does a spider have?"}}},
	{"multi-turn", []chat.Message{{Role: "user", Content: "My name is Ada."},
		{Role: "assistant", Content: "Nice to meet you, Ada! How can I help you today?"},
		{Role: "user", Content: "What is my name, and what is 12 times 12?"}}},
	{"list", []chat.Message{{Role: "user", Content: "List three fruits that are red."}}},
	{"translate", []chat.Message{{Role: "system", Content: "You translate English to French."},
		{Role: "user", Content: "Good morning, how are you?"}}},
}

// smolLM2GGUF returns the fetched GGUF or skips.
func smolLM2GGUF(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ZOOMR_SMOLLM2_GGUF"); p != "" {
		return p
	}
	p, err := testmodels.Path("smollm2")
	if err != nil {
		t.Skipf("SmolLM2 GGUF not available: %v", err)
	}
	return p
}

// renderSmolLM2Prompts renders every conversation with the GGUF's own chat template.
func renderSmolLM2Prompts(t testing.TB, path string) []string {
	t.Helper()
	f, err := gguf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	tpl, err := chat.FromGGUFMetadata(f, "")
	require.NoError(t, err)
	out := make([]string, len(smolLM2Conversations))
	for i, c := range smolLM2Conversations {
		out[i], err = tpl.Render(c.Messages, chat.Options{AddGenerationPrompt: true})
		require.NoError(t, err)
	}
	return out
}

// smolLM2Golden is the part of the chat golden the test reads.
type smolLM2Golden struct {
	Prompts []struct {
		Name      string           `json:"name"`
		Text      string           `json:"text"`
		IDs       []int            `json:"ids"`
		Greedy    []int            `json:"greedy"`
		Positions []goldenPosition `json:"positions"`
	} `json:"prompts"`
}

// TestSmolLM2ChatGoldens: our template rendering and tokenizer (exact) and our forward pass (host
// engine, the Q4_1 blocks as stored) against llama.cpp's on 8 chat prompts × 48 tokens.
//
// The forward pass cannot be held to "the same 48 greedy tokens": this model with 8-bit activation
// rounding is chaotic at float32 precision. Two builds of this same engine that differ only in the
// order of float32 additions (the AVX2 kernels and the portable ones, -tags purego) disagree with
// each other by 0.075 on average and 0.75 at most in teacher-forced top-5 log-probs, and their free
// greedy continuations part after 0–33 tokens — as far apart as either is from llama.cpp (whose
// build, on another CPU, would differ from itself too): a value within float32 rounding of an 8-bit
// rounding boundary goes the other way, and over 30 layers such flips compound to the size of the
// activation-rounding noise itself. So the test holds what that noise allows:
//   - teacher-forced on llama.cpp's tokens, our top-1 equals llama.cpp's at every position where
//     llama.cpp's top-2 margin is at least smolLM2ClearMargin (measured 291/291 on both builds;
//     362/374 at margins ≥ 0.05);
//   - the mean |Δ log-prob| over llama.cpp's top 5 under smolLM2MeanTolerance (measured 0.105;
//     0.099 for the portable build);
//   - the free greedy continuation equal to llama.cpp's at least up to the first step whose
//     margin is under smolLM2TieMargin (measured prefixes 48, 9, 1, 11, 29, 0, 26, 14).
func TestSmolLM2ChatGoldens(t *testing.T) {
	path := smolLM2GGUF(t)
	data, err := os.ReadFile(filepath.Join(smolLM2GoldenDir, "chat.json"))
	require.NoError(t, err)
	var g smolLM2Golden
	require.NoError(t, json.Unmarshal(data, &g))
	require.Len(t, g.Prompts, len(smolLM2Conversations))

	texts := renderSmolLM2Prompts(t, path)
	tok, err := tokenizer.Load(path)
	require.NoError(t, err)
	m, err := Load(context.Background(), path, WithEngine(EngineHost))
	require.NoError(t, err)
	defer m.Close()
	var sumDiff float64
	var nDiff, clear, clearAgree int
	for i, p := range g.Prompts {
		t.Run(p.Name, func(t *testing.T) {
			require.Equal(t, p.Text, texts[i], "chat template rendering")
			ids, err := tok.EncodeWith(texts[i], tokenizer.Options{ParseSpecial: true})
			require.NoError(t, err)
			require.Equal(t, p.IDs, ids, "tokenization")

			gen, err := m.GenerateGreedy(context.Background(), ids, smolLM2Gen)
			require.NoError(t, err)
			equal := 0
			for equal < len(gen) && gen[equal] == p.Greedy[equal] {
				equal++
			}
			beforeTie := 0
			for beforeTie < len(p.Greedy) && margin(p.Positions[beforeTie]) >= smolLM2TieMargin {
				beforeTie++
			}
			s := smolLM2TeacherForced(t, m, ids, p.Greedy, p.Positions)
			sumDiff, nDiff = sumDiff+s.sumDiff, nDiff+s.nDiff
			clear, clearAgree = clear+s.clear, clearAgree+s.clearAgree
			t.Logf("greedy equal for %d/%d tokens (first margin < %.1f at %d); teacher-forced: top-1 equal %d/%d where clear, mean |Δ log-prob| %.3f, max %.3f",
				equal, smolLM2Gen, smolLM2TieMargin, beforeTie, s.clearAgree, s.clear, s.sumDiff/float64(s.nDiff), s.maxDiff)
			assert.GreaterOrEqual(t, equal, beforeTie, "greedy continuation")
			assert.Equal(t, s.clear, s.clearAgree, "top-1 where llama.cpp's margin is at least %.1f", smolLM2ClearMargin)
		})
	}
	t.Logf("all prompts: top-1 equal %d/%d where clear, mean |Δ log-prob| %.3f over %d top-5 entries",
		clearAgree, clear, sumDiff/float64(nDiff), nDiff)
	require.Less(t, sumDiff/float64(nDiff), smolLM2MeanTolerance)
}

const (
	smolLM2ClearMargin   = 0.5
	smolLM2TieMargin     = 0.3
	smolLM2MeanTolerance = 0.15
)

func margin(p goldenPosition) float64 { return *p.TopLogprobs[0] - *p.TopLogprobs[1] }

// smolLM2Stats is one prompt's teacher-forced comparison.
type smolLM2Stats struct {
	sumDiff, maxDiff  float64
	nDiff             int
	clear, clearAgree int // positions with llama.cpp's margin ≥ smolLM2ClearMargin, and where our top-1 is its
}

// smolLM2TeacherForced runs the prompt as llama.cpp did (one prefill chunk, then one step per
// token), feeding llama.cpp's greedy tokens.
func smolLM2TeacherForced(t *testing.T, m *Model, ids, greedy []int, positions []goldenPosition) smolLM2Stats {
	t.Helper()
	var s smolLM2Stats
	teacherForced(t, m, ids, greedy, len(positions), func(k int, logits []float32) {
		pos := positions[k]
		lp := logSoftmax(logits)
		for j, id := range pos.TopIDs {
			d := math.Abs(lp[id] - *pos.TopLogprobs[j])
			s.sumDiff, s.maxDiff, s.nDiff = s.sumDiff+d, math.Max(s.maxDiff, d), s.nDiff+1
		}
		if margin(pos) >= smolLM2ClearMargin {
			s.clear++
			if Argmax(logits) == greedy[k] {
				s.clearAgree++
			}
		}
	})
	return s
}

// TestSmolLM2ChatGoldensOracle asks llama.cpp again (with -update it rewrites the golden).
func TestSmolLM2ChatGoldensOracle(t *testing.T) {
	if *updateGoldens {
		oracle.SkipUnlessAvailable(t)
	} else {
		oracle.SkipUnlessLive(t)
	}
	path := smolLM2GGUF(t)
	texts := renderSmolLM2Prompts(t, path)
	type prompt struct {
		Name         string `json:"name"`
		Text         string `json:"text"`
		ParseSpecial bool   `json:"parse_special"`
		NGen         int    `json:"n_gen"`
	}
	var prompts []prompt
	for i, c := range smolLM2Conversations {
		prompts = append(prompts, prompt{Name: c.Name, Text: texts[i], ParseSpecial: true, NGen: smolLM2Gen})
	}
	dir := t.TempDir()
	promptPath := filepath.Join(dir, "prompts.json")
	b, err := json.Marshal(prompts)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(promptPath, b, 0o644))
	out := filepath.Join(dir, "chat.json")
	_, err = oracle.Run(context.Background(), "reference.mjs", "logits", "--model", path, "--prompts", promptPath,
		"--out", out, "--top-k", "5", "--positions", "last", "--kv-type", "f32", "--flash-attn", "off", "--decimals", "4")
	require.NoError(t, err)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	goldenPath := filepath.Join(smolLM2GoldenDir, "chat.json")
	if *updateGoldens {
		require.NoError(t, os.MkdirAll(smolLM2GoldenDir, 0o755))
		require.NoError(t, os.WriteFile(goldenPath, data, 0o644))
		return
	}
	committed, err := os.ReadFile(goldenPath)
	require.NoError(t, err)
	var want, got smolLM2Golden
	require.NoError(t, json.Unmarshal(committed, &want))
	require.NoError(t, json.Unmarshal(data, &got))
	for i := range want.Prompts {
		require.Equal(t, want.Prompts[i].IDs, got.Prompts[i].IDs)
		require.True(t, slices.Equal(want.Prompts[i].Greedy, got.Prompts[i].Greedy), "llama.cpp's greedy changed: %s", want.Prompts[i].Name)
	}
}
