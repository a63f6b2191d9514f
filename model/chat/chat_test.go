package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const chatML = `{% for m in messages %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %}`

func TestRenderMessages(t *testing.T) {
	tpl, err := Parse(chatML)
	require.NoError(t, err)
	out, err := tpl.Render([]Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi {{ x }}"}},
		Options{AddGenerationPrompt: true})
	require.NoError(t, err)
	assert.Equal(t, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi {{ x }}<|im_end|>\n<|im_start|>assistant\n", out)
}

func TestMessageJSONOrder(t *testing.T) {
	// Templates print messages and tool calls with tojson; the key order is the one OpenAI clients send.
	tpl, err := Parse(`{{ messages | tojson }}`)
	require.NoError(t, err)
	msgs := []Message{
		{Role: "assistant", Content: nil, ReasoningContent: "r", ToolCalls: []ToolCall{{ID: "c1",
			Function: FunctionCall{Name: "f", Arguments: json.RawMessage(`{"z": 1, "a": 2.5}`)}}}},
		{Role: "tool", Content: "ok", Name: "f", ToolCallID: "c1", Extra: map[string]any{"b": true, "a": nil}},
	}
	out, err := tpl.Render(msgs, Options{})
	require.NoError(t, err)
	assert.Equal(t, `[{"role": "assistant", "content": null, "reasoning_content": "r", "tool_calls": [{"id": "c1", "type": "function", `+
		`"function": {"name": "f", "arguments": {"z": 1, "a": 2.5}}}]}, {"role": "tool", "content": "ok", "name": "f", `+
		`"tool_call_id": "c1", "a": null, "b": true}]`, out)
}

func TestOptions(t *testing.T) {
	tpl, err := Parse(`{{ bos_token }}|{{ eos_token }}|{{ enable_thinking }}|{{ strftime_now("%d %b %Y") }}|{{ tools | tojson }}`)
	require.NoError(t, err)
	tpl.BOSToken, tpl.EOSToken = "<s>", "</s>"
	now := func() time.Time { return time.Date(2024, 7, 26, 9, 0, 0, 0, time.UTC) }
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"template tokens", Options{Now: now}, "<s>|</s>||26 Jul 2024|null"},
		{"options override", Options{BOSToken: "B", EOSToken: "E", Now: now}, "B|E||26 Jul 2024|null"},
		{"vars", Options{Now: now, Vars: map[string]any{"enable_thinking": false,
			"tools": json.RawMessage(`[{"name": "f", "description": "d"}]`)}}, `<s>|</s>|false|26 Jul 2024|[{"name": "f", "description": "d"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tpl.Render(nil, tt.opts)
			require.NoError(t, err)
			assert.Equal(t, tt.want, out)
		})
	}
}

func TestNamespaceKeyOrder(t *testing.T) {
	// Keyword arguments keep their source order, as in the reference (Go maps would randomise it).
	tpl, err := Parse(`{% set ns = namespace({"z": 0}, b=1, a=2, c=3) %}{% set ns.d = 4 %}{{ ns | tojson }}`)
	require.NoError(t, err)
	for range 20 {
		out, err := tpl.Render(nil, Options{})
		require.NoError(t, err)
		assert.Equal(t, `{"z": 0, "b": 1, "a": 2, "c": 3, "d": 4}`, out)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, src string
		limits    Limits
		is        error  // errors.Is target
		contains  string // in the message
	}{
		{"parse", `{% if %}`, Limits{}, ErrTemplate, "chat template"},
		{"unclosed", `{% for m in messages %}`, Limits{}, ErrTemplate, "unclosed for"},
		{"raise", `{{ raise_exception("System role not supported") }}`, Limits{}, ErrTemplate, "System role not supported"},
		{"recursion", `{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}`, Limits{}, ErrLimit, "call depth"},
		{"huge range", `{% for i in range(10**12) %}{% endfor %}`, Limits{}, ErrLimit, "range"},
		{"steps", `{% for i in range(100000) %}{{ i }}{% endfor %}`, Limits{MaxSteps: 1000}, ErrLimit, "steps"},
		{"output", `{% for i in range(200) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}`, Limits{MaxOutput: 5000}, ErrLimit, "output"},
		{"string repeat", `{{ "ab" * 100000000 }}`, Limits{}, ErrLimit, "string"},
		{"doubling", `{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}`, Limits{}, ErrLimit, "string"},
		{"shared references", `{% set ns = namespace(x=[1]) %}{% for i in range(60) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}{{ ns.x }}`, Limits{}, ErrLimit, "printed value"},
		{"self reference", `{% set ns = namespace() %}{% set ns.me = ns %}{{ ns | tojson }}`, Limits{}, ErrLimit, "nested"},
		{"quadratic membership", `{% set big = range(1000000) %}{% for i in range(1000000) %}{% if -1 in big %}{% endif %}{% endfor %}`, Limits{Timeout: 200 * time.Millisecond}, ErrLimit, "time"},
		{"deep expression", strings.Repeat("{{ ", 1) + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }}", Limits{}, ErrTemplate, "nested"},
		{"timeout", `{% for i in range(1000000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}`, Limits{Timeout: 50 * time.Millisecond, MaxSteps: 1 << 40}, ErrLimit, "time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			tpl, err := Parse(tt.src)
			if err == nil {
				_, err = tpl.Render([]Message{{Role: "user", Content: "hi"}}, Options{Limits: tt.limits})
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.is)
			assert.ErrorIs(t, err, ErrTemplate)
			assert.Contains(t, err.Error(), tt.contains)
			assert.Less(t, time.Since(start), 5*time.Second)
		})
	}
	var raised *RaisedError
	tpl, err := Parse(`{{ raise_exception("bad role: " ~ messages[0].role) }}`)
	require.NoError(t, err)
	_, err = tpl.Render([]Message{{Role: "tool"}}, Options{})
	require.True(t, errors.As(err, &raised))
	assert.Equal(t, "bad role: tool", raised.Message)
}

func TestNoFileAccess(t *testing.T) {
	// Templates cannot reach the file system: include/import/extends are not statements of the engine.
	for _, src := range []string{`{% include "/etc/passwd" %}`, `{% import "x.jinja" as x %}`, `{% extends "base.jinja" %}`} {
		_, err := Parse(src)
		assert.ErrorIs(t, err, ErrTemplate, src)
	}
}

func TestFromTokenizerConfig(t *testing.T) {
	tests := []struct {
		name, config, variant string
		wantSrc, bos, eos     string
		err                   error
	}{
		{"string", `{"chat_template": "A", "bos_token": "<s>", "eos_token": {"content": "</s>", "lstrip": false}}`, "", "A", "<s>", "</s>", nil},
		{"null bos", `{"chat_template": "A", "bos_token": null, "eos_token": "<|im_end|>"}`, "", "A", "", "<|im_end|>", nil},
		{"default variant", `{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}`, "", "D", "", "", nil},
		{"named variant", `{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}`, "tool_use", "T", "", "", nil},
		{"missing variant", `{"chat_template": [{"name": "default", "template": "D"}]}`, "rag", "", "", "", ErrNoTemplate},
		{"no template", `{"bos_token": "<s>"}`, "", "", "", "", ErrNoTemplate},
		{"not json", `{`, "", "", "", "", ErrNoTemplate},
		{"bad template", `{"chat_template": "{% if %}"}`, "", "", "", "", ErrTemplate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := FromTokenizerConfig([]byte(tt.config), tt.variant)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantSrc, tpl.Source)
			assert.Equal(t, tt.bos, tpl.BOSToken)
			assert.Equal(t, tt.eos, tpl.EOSToken)
		})
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadDir(dir, "")
	assert.ErrorIs(t, err, ErrNoTemplate)
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	write("tokenizer_config.json", `{"chat_template": "from config", "bos_token": "<s>", "eos_token": "</s>"}`)
	tpl, err := LoadDir(dir, "")
	require.NoError(t, err)
	assert.Equal(t, "from config", tpl.Source)
	write("chat_template.json", `{"chat_template": [{"name": "default", "template": "from json"}, {"name": "tool_use", "template": "tools"}]}`)
	tpl, err = LoadDir(dir, "tool_use")
	require.NoError(t, err)
	assert.Equal(t, "tools", tpl.Source)
	write("chat_template.jinja", "from jinja")
	tpl, err = LoadDir(dir, "")
	require.NoError(t, err)
	assert.Equal(t, "from jinja", tpl.Source)
	assert.Equal(t, "<s>", tpl.BOSToken)
	assert.Equal(t, "</s>", tpl.EOSToken)
}

type fakeGGUF map[string]string

func (f fakeGGUF) String(key string) (string, bool) { v, ok := f[key]; return v, ok }

func TestFromGGUFMetadata(t *testing.T) {
	md := fakeGGUF{"tokenizer.chat_template": "D", "tokenizer.chat_template.tool_use": "T"}
	for variant, want := range map[string]string{"": "D", "default": "D", "tool_use": "T"} {
		tpl, err := FromGGUFMetadata(md, variant)
		require.NoError(t, err)
		assert.Equal(t, want, tpl.Source)
	}
	_, err := FromGGUFMetadata(md, "rag")
	assert.ErrorIs(t, err, ErrNoTemplate)
	_, err = FromGGUFMetadata(fakeGGUF{}, "")
	assert.ErrorIs(t, err, ErrNoTemplate)
}

func TestConcurrentRender(t *testing.T) {
	tpl, err := Parse(chatML)
	require.NoError(t, err)
	want, err := tpl.Render([]Message{{Role: "user", Content: "x"}}, Options{})
	require.NoError(t, err)
	done := make(chan string)
	for range 8 {
		go func() {
			out, _ := tpl.Render([]Message{{Role: "user", Content: "x"}}, Options{})
			done <- out
		}()
	}
	for range 8 {
		assert.Equal(t, want, <-done)
	}
}
