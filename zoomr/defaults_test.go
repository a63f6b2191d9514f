package zoomr

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/model/gguf"
	"github.com/zoomr-go/zoomr/summarize"
)

func TestConfigOr(t *testing.T) {
	def := Config{Window: 128, Zoom: 3, Temperature: 0.6, TopK: 20, EOSTokens: []int{7}, ReselectAt: []string{"."},
		Protocol: summarize.Protocol{AnswerMarker: "<|answer|>"}}
	got := Config{Window: 64, Policy: PolicyFull}.Or(def)
	require.Equal(t, Config{Window: 64, Policy: PolicyFull, Zoom: 3, Temperature: 0.6, TopK: 20, EOSTokens: []int{7},
		ReselectAt: []string{"."}, Protocol: summarize.Protocol{AnswerMarker: "<|answer|>"}}, got)
	// A struct field counts as set when any of its fields is.
	got = Config{Protocol: summarize.Protocol{BeginSummary: "<b>"}}.Or(def)
	require.Equal(t, summarize.Protocol{BeginSummary: "<b>"}, got.Protocol)
	require.Equal(t, def, Config{}.Or(def))
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

// TestModelDefaults: generation_config.json gives the EOS ids and the sampling as transformers reads it
// (do_sample false: greedy; missing temperature and top_k: 1.0 and 50), zoomr.json wins over it, and bad
// files are ErrConfig with the file's name.
func TestModelDefaults(t *testing.T) {
	cases := []struct {
		name, gen, own string
		want           Config
		err            string
	}{
		{name: "none", want: Config{}},
		{name: "qwen3", gen: `{"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "pad_token_id": 151643,
			"temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"}`,
			want: Config{EOSTokens: []int{151645, 151643}, Temperature: 0.6, TopK: 20, TopP: 0.95}},
		{name: "r1 distill", gen: `{"do_sample": true, "temperature": 0.6, "top_p": 0.95, "eos_token_id": 151643}`,
			want: Config{EOSTokens: []int{151643}, Temperature: 0.6, TopK: 50, TopP: 0.95}},
		{name: "do_sample absent", gen: `{"eos_token_id": 2, "temperature": 0.7}`, want: Config{EOSTokens: []int{2}}},
		{name: "do_sample only", gen: `{"do_sample": true}`, want: Config{Temperature: 1, TopK: 50}},
		{name: "own wins", gen: `{"do_sample": true, "temperature": 0.6}`, own: `{"temperature": 0, "window": 128, "top_k": 5,
			"protocol": {"answer_marker": "<|answer|>"}, "think": {"open": "<t>", "close": "</t>"}, "vote_layers": [2]}`,
			want: Config{Temperature: 0.6, TopK: 5, Window: 128, Protocol: summarize.Protocol{AnswerMarker: "<|answer|>"},
				Think: chat.ThinkMarkers{Open: "<t>", Close: "</t>"}, VoteLayers: []int{2}}},
		{name: "bad eos", gen: `{"eos_token_id": "x"}`, err: "generation_config.json: eos_token_id"},
		{name: "bad sampling", gen: `{"do_sample": true, "top_p": 2}`, err: "TopP"},
		{name: "not json", gen: `{`, err: "generation_config.json"},
		{name: "unknown field", own: `{"windw": 3}`, err: `zoomr.json: json: unknown field "windw"`},
		{name: "bad value", own: `{"window": -1}`, err: "Window = -1"},
		{name: "two objects", own: `{} {}`, err: "data after"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "config.json", `{}`)
			if c.gen != "" {
				writeFile(t, dir, "generation_config.json", c.gen)
			}
			if c.own != "" {
				writeFile(t, dir, SettingsFile, c.own)
			}
			got, err := ModelDefaults(dir)
			if c.err != "" {
				require.ErrorIs(t, err, ErrConfig)
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
	_, err := ModelDefaults(filepath.Join(t.TempDir(), "absent"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestWriteSettingsRoundTrip: what WriteSettings writes, ModelDefaults reads back.
func TestWriteSettingsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Window: 128, Zoom: 2, ZoomSlotLen: 32, SummaryCap: 96, VoteLayers: []int{2}, MaxTokens: 1600,
		Protocol: summarize.Protocol{AnswerMarker: "<|answer|>"}, ReselectAt: []string{"S0", "S1"},
		NewLogitsProcessor: func() LogitsProcessor { return nil }} // not a setting: left out
	require.NoError(t, WriteSettings(dir, cfg))
	b, err := os.ReadFile(filepath.Join(dir, SettingsFile))
	require.NoError(t, err)
	require.Contains(t, string(b), `"answer_marker": "<|answer|>"`)
	got, err := ModelDefaults(dir)
	require.NoError(t, err)
	cfg.NewLogitsProcessor = nil
	require.Equal(t, cfg, got)
	require.ErrorIs(t, WriteSettings(dir, Config{Window: -1}), ErrConfig)
}

// writeGGUF writes a GGUF holding only metadata.
func writeGGUF(t *testing.T, path string, kvs ...gguf.KV) {
	t.Helper()
	require.NoError(t, gguf.WriteFile(path, append([]gguf.KV{{Key: "general.architecture", Value: gguf.String("llama")}}, kvs...), nil))
}

// TestGGUFDefaultsAndTemplate: a GGUF's sampling keys and chat template, from the file or from a
// directory holding it.
func TestGGUFDefaultsAndTemplate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	writeGGUF(t, path, gguf.KV{Key: "general.sampling.temp", Value: gguf.Float32(0.5)},
		gguf.KV{Key: "general.sampling.top_k", Value: gguf.Int32(40)},
		gguf.KV{Key: "general.sampling.top_p", Value: gguf.Float32(0.75)},
		gguf.KV{Key: "tokenizer.chat_template", Value: gguf.String("{% for m in messages %}[{{ m.content }}]{% endfor %}")},
		gguf.KV{Key: "tokenizer.chat_template.tool_use", Value: gguf.String("tools")})
	writeFile(t, dir, SettingsFile, `{"window": 64, "top_k": 8}`)
	want := Config{Temperature: 0.5, TopK: 40, TopP: 0.75}
	for _, p := range []string{path, dir} {
		got, err := ModelDefaults(p)
		require.NoError(t, err)
		if p == dir { // the directory's zoomr.json
			want.Window, want.TopK = 64, 8
		}
		require.Equal(t, want, got, p)
		tpl, err := LoadChatTemplate(p, "")
		require.NoError(t, err)
		out, err := tpl.Render([]chat.Message{{Role: "user", Content: "hi"}}, chat.Options{})
		require.NoError(t, err)
		require.Equal(t, "[hi]", out)
		tpl, err = LoadChatTemplate(p, "tool_use")
		require.NoError(t, err)
		require.Equal(t, "tools", tpl.Source)
		_, err = LoadChatTemplate(p, "other")
		require.ErrorIs(t, err, chat.ErrNoTemplate)
	}
	bare := filepath.Join(t.TempDir(), "bare.gguf")
	writeGGUF(t, bare)
	_, err := LoadChatTemplate(bare, "")
	require.ErrorIs(t, err, chat.ErrNoTemplate)
	notGGUF := filepath.Join(t.TempDir(), "x.bin")
	require.NoError(t, os.WriteFile(notGGUF, []byte("not a gguf"), 0o644))
	_, err = ModelDefaults(notGGUF)
	require.ErrorIs(t, err, ErrConfig)
	_, err = LoadChatTemplate(notGGUF, "")
	require.Error(t, err)
	_, err = LoadChatTemplate(t.TempDir(), "") // neither
	require.ErrorIs(t, err, chat.ErrNoTemplate)
}

// TestLoadBundledModel: Load applies the bundled model's zoomr.json under the caller's fields and
// finds its tokenizer; the model has no chat template.
func TestLoadBundledModel(t *testing.T) {
	dir := filepath.Join("..", "testdata", "zoomr-tiny")
	d, err := Load(t.Context(), dir, Config{Window: 100})
	require.NoError(t, err)
	defer func() { require.NoError(t, d.Close()) }()
	c := d.Config()
	require.Equal(t, 100, c.Window, "the caller's field wins")
	require.Equal(t, 32, c.ZoomSlotLen)
	require.Equal(t, 96, c.SummaryCap)
	require.Equal(t, "<|answer|>", c.Protocol.AnswerMarker)
	require.Equal(t, SegmentSummary, d.Segmenter())
	require.NotNil(t, d.Tokenizer())
	require.Nil(t, c.ChatTemplate)
	_, err = d.ChatPrompt(question)
	require.ErrorIs(t, err, chat.ErrNoTemplate)
}

// TestLoadGenerationConfigEOS: generation_config.json's EOS ids stop a generation (unless IgnoreEOS); a
// directory without tokenizer.json decodes ids.
func TestLoadGenerationConfigEOS(t *testing.T) {
	dir := t.TempDir()
	_, err := model.WriteRandom(dir, model.RandomSpec{Seed: 5})
	require.NoError(t, err)
	writeFile(t, dir, "generation_config.json", `{"eos_token_id": [9, 11]}`)
	force := func() LogitsProcessor {
		return LogitsProcessorFunc(func(generated []int, logits []float32) error {
			AllowOnly(logits, []int{3, 4, 11}[min(len(generated), 2)])
			return nil
		})
	}
	for _, ignore := range []bool{false, true} {
		d, err := Load(t.Context(), dir, Config{Segmenter: SegmentParagraph, MaxTokens: 6, IgnoreEOS: ignore, NewLogitsProcessor: force})
		require.NoError(t, err)
		require.Nil(t, d.Tokenizer())
		require.Equal(t, []int{9, 11}, d.Config().EOSTokens)
		toks, st, err := d.Run(t.Context(), []int{1, 2})
		require.NoError(t, err)
		if ignore {
			require.Equal(t, StopMaxTokens, st.StopReason)
			require.Len(t, toks, 6)
		} else {
			require.Equal(t, StopToken, st.StopReason)
			require.Equal(t, []int{3, 4, 11}, ids(toks))
		}
		require.NoError(t, d.Close())
	}
	// An EOS id outside the vocabulary is a configuration error.
	writeFile(t, dir, "generation_config.json", `{"eos_token_id": 100000}`)
	_, err = Load(t.Context(), dir, Config{})
	require.ErrorIs(t, err, ErrConfig)
	// A model that fails to load is an error, not a panic.
	writeFile(t, dir, "config.json", `{`)
	_, err = Load(t.Context(), dir, Config{})
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrConfig) && strings.Contains(err.Error(), "EOS"))
}
