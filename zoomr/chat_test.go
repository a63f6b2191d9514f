package zoomr

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/internal/oracle"
	"github.com/zoomr-go/zoomr/internal/testmodels"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/model/tokenizer"
	"github.com/zoomr-go/zoomr/summarize"
)

// qwen3Model is a random qwen3 model with Qwen3's real tokenizer and chat template (from the shared
// folder beside the repository; the test skips without it), written once per test binary.
type qwen3Model struct {
	dir string
	m   *model.Model
	tok *tokenizer.Tokenizer
	tpl *chat.Template
}

var (
	qwen3Once sync.Once
	qwen3     qwen3Model
	qwen3Err  error
)

func loadQwen3(t *testing.T) qwen3Model {
	t.Helper()
	src := os.Getenv("ZOOMR_SHARED")
	if src == "" {
		d, err := oracle.Dir()
		if err != nil {
			t.Skipf("shared folder not found (set ZOOMR_SHARED): %v", err)
		}
		src = filepath.Dir(d)
	}
	src = filepath.Join(src, "tokenizers", "qwen3")
	if _, err := os.Stat(filepath.Join(src, "tokenizer.json")); err != nil {
		t.Skipf("Qwen3 tokenizer not available at %s (set ZOOMR_SHARED): %v", src, err)
	}
	qwen3Once.Do(func() { qwen3, qwen3Err = writeQwen3(src) })
	require.NoError(t, qwen3Err)
	return qwen3
}

func writeQwen3(src string) (qwen3Model, error) {
	dir, err := os.MkdirTemp("", "zoomr-qwen3-")
	if err != nil {
		return qwen3Model{}, err
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, f), b, 0o644)
		}
		if err != nil {
			return qwen3Model{}, err
		}
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return qwen3Model{}, err
	}
	// Small everywhere but the vocabulary, which must hold the tokenizer's.
	spec := model.RandomSpec{Arch: "qwen3", VocabSize: tok.VocabSize(), Hidden: 32, Layers: 2, Heads: 2, KVHeads: 1,
		HeadDim: 16, Tie: true, Seed: 3}
	if _, err := model.WriteRandom(dir, spec); err != nil {
		return qwen3Model{}, err
	}
	m, err := model.Load(context.Background(), dir)
	if err != nil {
		return qwen3Model{}, err
	}
	tpl, err := LoadChatTemplate(dir, "")
	if err != nil {
		return qwen3Model{}, err
	}
	// The model files are loaded; the directory is not needed any more.
	return qwen3Model{dir: dir, m: m, tok: tok, tpl: tpl}, os.RemoveAll(dir)
}

// forceText is a logits processor that makes a random model write text (then EOS, then anything).
func forceText(t *testing.T, tok *tokenizer.Tokenizer, text string) func() LogitsProcessor {
	t.Helper()
	ids, err := tok.EncodeWith(text, tokenizer.Options{ParseSpecial: true})
	require.NoError(t, err)
	return func() LogitsProcessor {
		return LogitsProcessorFunc(func(generated []int, logits []float32) error {
			if len(generated) < len(ids) {
				AllowOnly(logits, ids[len(generated)])
			}
			return nil
		})
	}
}

var question = []chat.Message{{Role: "system", Content: "Think step by step."}, {Role: "user", Content: "What is 2+2?"}}

const (
	thinking = "First idea: two and two, a sum of small numbers.\n\nSecond idea: count on the fingers, one two three four.\n\n" +
		"Third idea: check it by subtracting two from four again.\n\nSo it is four, no doubt."
	answerText = "The answer is 4."
)

// chatTokens runs a chat generation and returns its tokens.
func chatTokens(t *testing.T, g *Generation) []Token {
	t.Helper()
	var out []Token
	for tk, err := range g.Tokens() {
		require.NoError(t, err)
		out = append(out, tk)
	}
	return out
}

// TestChatQwen3Thinking: Qwen3's template leaves "<think>" to the model; a reply that opens the span is
// reasoning (thoughts split at blank lines, sealed, zoomed) until "</think>", then answer; the texts come
// back split as reasoning_content and content, equal to chat.ThinkMarkers.Split of the whole text.
func TestChatQwen3Thinking(t *testing.T) {
	q := loadQwen3(t)
	reply := "<think>\n" + thinking + "\n</think>\n\n" + answerText + "<|im_end|>"
	for _, policy := range []string{PolicyZoomR, PolicyFull} {
		t.Run(policy, func(t *testing.T) {
			d, err := New(q.m, q.tok, Config{Policy: policy, ChatTemplate: q.tpl, Window: 8, ZoomSlotLen: 8, SummaryCap: 16,
				MaxTokens: 200, NewLogitsProcessor: forceText(t, q.tok, reply)})
			require.NoError(t, err)
			require.Equal(t, SegmentParagraph, d.Segmenter(), "Qwen3 has no summary markers")
			prompt, err := d.ChatPrompt(question)
			require.NoError(t, err)
			require.Equal(t, "<|im_start|>system\nThink step by step.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", prompt)

			g := d.Chat(t.Context(), question)
			wantIDs, err := q.tok.EncodeWith(prompt, tokenizer.Options{ParseSpecial: true})
			require.NoError(t, err)
			require.Equal(t, wantIDs, g.PromptIDs(), "no BOS: Qwen3 has none")
			toks := chatTokens(t, g)
			require.Equal(t, StopToken, g.Stats().StopReason)

			var full strings.Builder
			open, closing := -1, -1
			for i, tk := range toks {
				full.WriteString(tk.Text)
				switch tk.Text {
				case "<think>":
					open = i
				case "</think>":
					closing = i
				}
			}
			require.Equal(t, 0, open)
			require.Greater(t, closing, open)
			for i, tk := range toks {
				switch {
				case i <= open || i == closing || i == len(toks)-1: // the markers and <|im_end|>
					require.True(t, tk.Hidden, "token %d %q", i, tk.Text)
				default:
					require.False(t, tk.Hidden, "token %d %q", i, tk.Text)
				}
				if i < closing {
					require.Equal(t, summarize.Thought, tk.Kind, "token %d %q", i, tk.Text)
				} else {
					require.Equal(t, summarize.Answer, tk.Kind, "token %d %q", i, tk.Text)
					require.Equal(t, -1, tk.Thought)
				}
			}
			reasoning, answer := g.Text()
			require.Equal(t, thinking, reasoning)
			require.Equal(t, answerText, answer)
			split := chat.DefaultThink.Split(strings.TrimSuffix(full.String(), "<|im_end|>"), false)
			require.Equal(t, chat.Reply{Reasoning: reasoning, Content: answer, Closed: true}, split)

			// Thoughts lie inside the span, and with a window of 8 the answer zooms them back in.
			sealed, zooms := 0, 0
			for i, tk := range toks {
				if tk.Sealed >= 0 {
					require.Less(t, i, closing+1, "thought sealed outside the thinking span")
					sealed++
				}
				if tk.Reselected && len(tk.Zoomed) > 0 {
					zooms++
				}
			}
			t.Logf("%s: %d tokens (%d thinking), %d thoughts sealed inside the span, %d re-selections zoomed in; reasoning %d bytes, answer %q",
				policy, len(toks), closing, sealed, zooms, len(reasoning), answer)
			require.Equal(t, 4, sealed, "four paragraphs (the last sealed by </think>)")
			if policy == PolicyZoomR {
				require.Greater(t, zooms, 0)
				require.Equal(t, 4, toks[closing].Stats.Thoughts)
				require.True(t, toks[closing].Reselected, "the answer starts with a re-selection")
			} else {
				require.Zero(t, zooms, "the full cache has nothing to zoom")
			}
		})
	}
}

// TestChatQwen3NoThinking: with enable_thinking false the template closes an empty span; the reply is
// all answer: nothing is sealed or zoomed, the reasoning is empty.
func TestChatQwen3NoThinking(t *testing.T) {
	q := loadQwen3(t)
	d, err := New(q.m, q.tok, Config{ChatTemplate: q.tpl, MaxTokens: 100,
		NewLogitsProcessor: forceText(t, q.tok, answerText+"\n\nMore text in a second paragraph.<|im_end|>")})
	require.NoError(t, err)
	noThink := WithChatVars(map[string]any{"enable_thinking": false})
	prompt, err := d.ChatPrompt(question, noThink)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(prompt, "<|im_start|>assistant\n<think>\n\n</think>\n\n"), prompt)
	g := d.Chat(t.Context(), question, noThink)
	for _, tk := range chatTokens(t, g) {
		require.Equal(t, summarize.Answer, tk.Kind)
		require.Equal(t, -1, tk.Sealed)
		require.False(t, tk.Reselected)
	}
	reasoning, answer := g.Text()
	require.Empty(t, reasoning)
	require.Equal(t, answerText+"\n\nMore text in a second paragraph.", answer)

	// Without the generation prompt the prompt ends with the last message.
	prompt, err = d.ChatPrompt(question, WithGenerationPrompt(false))
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(prompt, "What is 2+2?<|im_end|>\n"), prompt)
}

// TestChatOpenedSpan: a template whose generation prompt opens the span (as DeepSeek-R1 distills') is
// continued inside it: the reply's first token is a thought.
func TestChatOpenedSpan(t *testing.T) {
	q := loadQwen3(t)
	tpl, err := chat.Parse("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}" +
		"{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}")
	require.NoError(t, err)
	d, err := New(q.m, q.tok, Config{ChatTemplate: tpl, MaxTokens: 200,
		NewLogitsProcessor: forceText(t, q.tok, thinking+"\n</think>\n\n"+answerText+"<|im_end|>")})
	require.NoError(t, err)
	g := d.Chat(t.Context(), question)
	toks := chatTokens(t, g)
	require.Equal(t, summarize.Thought, toks[0].Kind)
	require.False(t, toks[0].Hidden)
	reasoning, answer := g.Text()
	require.Equal(t, thinking, reasoning)
	require.Equal(t, answerText, answer)

	// The batcher gives the same generation.
	b, err := d.NewBatcher(BatcherOptions{})
	require.NoError(t, err)
	defer b.Close()
	bg := b.Chat(t.Context(), question)
	btoks := chatTokens(t, bg)
	require.Equal(t, ids(toks), ids(btoks))
	br, ba := bg.Text()
	require.Equal(t, reasoning, br)
	require.Equal(t, answer, ba)

	// Messages as JSON (an OpenAI-compatible request's) render the same prompt, alone or batched.
	raw := json.RawMessage(`[{"role": "system", "content": "Think step by step."}, {"role": "user", "content": "What is 2+2?"}]`)
	jg := d.ChatJSON(t.Context(), raw)
	require.Equal(t, g.PromptIDs(), jg.PromptIDs())
	require.Equal(t, ids(toks), ids(chatTokens(t, jg)))
	require.Equal(t, ids(toks), ids(chatTokens(t, b.ChatJSON(t.Context(), raw))))
	for _, err := range d.ChatJSON(t.Context(), json.RawMessage(`{"role": "user"}`)).Tokens() {
		require.ErrorIs(t, err, ErrPrompt)
	}

	// A stop string ends the text without being part of it (Token.Text keeps it).
	sg := d.Chat(t.Context(), question, WithStop([]string{"answer is"}, nil))
	stoks := chatTokens(t, sg)
	require.Equal(t, StopString, sg.Stats().StopReason)
	sr, sa := sg.Text()
	require.Equal(t, thinking, sr)
	require.Equal(t, "The ", sa)
	require.True(t, strings.HasSuffix(stoks[len(stoks)-1].Text, "is"))
	// Stopped inside the reasoning: the reasoning loses it.
	sg = d.Chat(t.Context(), question, WithStop([]string{"Second idea"}, nil))
	chatTokens(t, sg)
	sr, sa = sg.Text()
	require.Equal(t, "First idea: two and two, a sum of small numbers.", sr)
	require.Empty(t, sa)
}

// TestStartEndsReasoningAtThinkClose: Start reasons from the first token (its prompt is the caller's),
// and the close marker of the span starts the answer when the vocabulary has it.
func TestStartEndsReasoningAtThinkClose(t *testing.T) {
	q := loadQwen3(t)
	d, err := New(q.m, q.tok, Config{MaxTokens: 200, NewLogitsProcessor: forceText(t, q.tok, "a b\n\nc d\n</think>\nfour<|im_end|>")})
	require.NoError(t, err)
	g := d.Start(t.Context(), "Question: 2+2?")
	var kinds []summarize.Kind
	for _, tk := range chatTokens(t, g) {
		kinds = append(kinds, tk.Kind)
	}
	require.Equal(t, summarize.Thought, kinds[0])
	require.Equal(t, summarize.Answer, kinds[len(kinds)-1])
	reasoning, answer := g.Text()
	require.Equal(t, "a b\n\nc d", reasoning)
	require.Equal(t, "four", answer)
}

func TestChatErrors(t *testing.T) {
	q := loadQwen3(t)
	d, err := New(q.m, q.tok, Config{MaxTokens: 4})
	require.NoError(t, err)
	_, err = d.ChatPrompt(question)
	require.ErrorIs(t, err, ErrConfig)
	require.ErrorIs(t, err, chat.ErrNoTemplate)
	for _, err := range d.Chat(t.Context(), question).Tokens() {
		require.ErrorIs(t, err, chat.ErrNoTemplate)
	}
	// A template that raises is a prompt error.
	tpl, err := chat.Parse("{{ raise_exception('no system role') }}")
	require.NoError(t, err)
	d, err = New(q.m, q.tok, Config{ChatTemplate: tpl, MaxTokens: 4})
	require.NoError(t, err)
	_, err = d.ChatPrompt(question)
	require.ErrorIs(t, err, ErrPrompt)
	require.ErrorIs(t, err, chat.ErrTemplate)
	// Without a tokenizer the prompt cannot be tokenized.
	d, err = New(q.m, nil, Config{ChatTemplate: q.tpl, MaxTokens: 4})
	require.NoError(t, err)
	for _, err := range d.Chat(t.Context(), question).Tokens() {
		require.ErrorIs(t, err, ErrPrompt)
	}
}

func ids(toks []Token) []int {
	out := make([]int, len(toks))
	for i, t := range toks {
		out[i] = t.ID
	}
	return out
}

// TestChatGGUFTemplate: the real SmolLM2 GGUF's template and vocabulary (skips unless fetched) over a
// random model of its vocabulary size: the ChatML prompt as Hugging Face renders it, no BOS (the
// vocabulary adds none), and, as the model has no thinking span or answer marker, a reply that is all
// answer.
func TestChatGGUFTemplate(t *testing.T) {
	path := testmodels.Require(t, "smollm2")
	tpl, err := LoadChatTemplate(path, "")
	require.NoError(t, err)
	tok, err := LoadTokenizer(path)
	require.NoError(t, err)
	dir := t.TempDir()
	_, err = model.WriteRandom(dir, model.RandomSpec{VocabSize: tok.VocabSize(), Hidden: 32, Heads: 2, KVHeads: 1, Tie: true, Seed: 4})
	require.NoError(t, err)
	m, err := model.Load(t.Context(), dir)
	require.NoError(t, err)
	d, err := New(m, tok, Config{ChatTemplate: tpl, MaxTokens: 12, IgnoreEOS: true})
	require.NoError(t, err)
	msgs := []chat.Message{{Role: "user", Content: "Hi!"}}
	prompt, err := d.ChatPrompt(msgs)
	require.NoError(t, err)
	want := "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
		"<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
	require.Equal(t, want, prompt)
	g := d.Chat(t.Context(), msgs)
	wantIDs, err := tok.EncodeWith(want, tokenizer.Options{ParseSpecial: true})
	require.NoError(t, err)
	require.Equal(t, wantIDs, g.PromptIDs())
	for _, tk := range chatTokens(t, g) {
		require.Equal(t, summarize.Answer, tk.Kind)
	}
	reasoning, _ := g.Text()
	require.Empty(t, reasoning)
}
