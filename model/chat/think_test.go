package chat

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpensThink(t *testing.T) {
	tests := []struct {
		prompt string
		want   bool
	}{
		{"<｜User｜>Hi<｜Assistant｜><think>\n", true},
		{"<|im_start|>assistant\n<think>\n\n</think>\n\n", false},
		{"<|im_start|>assistant\n", false},
		{"user wrote <think> earlier<|im_start|>assistant\n", false},
		{"<think>", true},
		{"", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, DefaultThink.OpensThink(tt.prompt), "%q", tt.prompt)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name      string
		generated string
		inThink   bool
		want      Reply
	}{
		{"opened in prompt", "Let me see.\n</think>\n\nParis.", true, Reply{"Let me see.", "Paris.", true}},
		{"still thinking", "Let me see", true, Reply{Reasoning: "Let me see"}},
		{"opened by the model", "<think>\nhmm\n</think>\n\nYes.", false, Reply{"hmm", "Yes.", true}},
		{"empty span", "<think>\n\n</think>\n\nYes.", false, Reply{"", "Yes.", true}},
		{"close only (R1 prompt opened it)", "hmm</think>Yes.", false, Reply{"hmm", "Yes.", true}},
		{"no markers", "Just an answer.", false, Reply{Content: "Just an answer."}},
		{"marker mentioned in the answer", "Use <think> and </think> tags.", false, Reply{Content: "Use <think> and </think> tags."}},
		{"second close stays in content", "a</think>b</think>c", true, Reply{"a", "b</think>c", true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, DefaultThink.Split(tt.generated, tt.inThink))
		})
	}
}

// TestOpensThinkRealTemplates checks the helper on the prompts real reasoning templates render.
func TestOpensThinkRealTemplates(t *testing.T) {
	dir := templatesDir(t)
	msgs := []Message{{Role: "user", Content: "Is 97 prime?"}}
	tests := []struct {
		template string
		vars     map[string]any
		want     bool
	}{
		// llama.cpp's copies of these templates close the span unless enable_thinking is set.
		{"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", map[string]any{"enable_thinking": true}, true},
		{"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", nil, false},
		{"Qwen-QwQ-32B", map[string]any{"enable_thinking": true}, true},
		{"Qwen-QwQ-32B", nil, false},
		{"Qwen-Qwen3-0.6B", nil, false},
		{"Qwen-Qwen3-0.6B", map[string]any{"enable_thinking": false}, false},
		{"Qwen-Qwen2.5-7B-Instruct", nil, false},
	}
	for _, tt := range tests {
		src, err := os.ReadFile(filepath.Join(dir, tt.template+".jinja"))
		require.NoError(t, err)
		tpl, err := Parse(string(src))
		require.NoError(t, err)
		prompt, err := tpl.Render(msgs, Options{AddGenerationPrompt: true, Vars: tt.vars})
		require.NoError(t, err)
		assert.Equal(t, tt.want, DefaultThink.OpensThink(prompt), "%s %v: %q", tt.template, tt.vars, prompt)
	}
}
