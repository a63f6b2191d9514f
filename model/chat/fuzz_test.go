package chat

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzRender feeds arbitrary templates and message content to the engine: it must return (an error is
// fine) within its limits and never panic (recoverAs would turn a panic into an "internal error").
func FuzzRender(f *testing.F) {
	for _, seed := range []struct{ src, content string }{
		{chatML, "hello"},
		{`{% for m in messages %}{{ m.content | tojson(indent=2) }}{% endfor %}`, "a\u2028b"},
		{`{% set ns = namespace(x=[]) %}{% for i in range(3) %}{% set ns.x = ns.x + [i] %}{% endfor %}{{ ns.x[::-1] }}`, ""},
		{`{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{{ n }}{% endmacro %}{{ f(5) }}`, ""},
		{`{{ messages[0].content.split()[1:] | join("-") | upper }}{{ "x".strip("x") }}`, " a b  c "},
		{`{{ messages[0].content[-1] }}{{ messages[0].content | length }}{{ (messages | first).role.title() }}`, "🚀é"},
		{`{% if messages[0].content is string and "x" in messages[0].content %}{{ raise_exception("x") }}{% endif %}`, "x"},
	} {
		f.Add(seed.src, seed.content)
	}
	f.Fuzz(func(t *testing.T, src, content string) {
		start := time.Now()
		tpl, err := Parse(src)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("Parse panicked: %v", err)
			}
			return
		}
		msgs, _ := json.Marshal([]map[string]any{{"role": "user", "content": content}, {"role": "assistant", "content": content}})
		_, err = tpl.RenderJSON(msgs, Options{AddGenerationPrompt: true,
			Limits: Limits{MaxSteps: 100_000, MaxOutput: 1 << 20, Timeout: time.Second}})
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("Render panicked: %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("render took %v (parse + render) despite a 1 s render limit", d)
		}
	})
}
