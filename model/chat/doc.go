// Package chat renders Hugging Face chat templates (Jinja2, from tokenizer_config.json, chat_template.jinja
// or GGUF metadata) into prompts, byte-identically to Hugging Face's own JavaScript implementation
// (@huggingface/jinja, which ../shared/oracle/template.mjs runs), and splits a reasoning model's
// generation into its thinking span and its answer.
//
//	tpl, err := chat.LoadDir(modelDir, "")            // or FromTokenizerConfig, FromGGUFMetadata, Parse
//	prompt, err := tpl.Render(msgs, chat.Options{AddGenerationPrompt: true,
//		Vars: map[string]any{"enable_thinking": false, "tools": tools}})
//	inThink := chat.DefaultThink.OpensThink(prompt)   // DeepSeek-R1 style prompts end inside <think>
//	reply := chat.DefaultThink.Split(generated, inThink) // reply.Reasoning, reply.Content
//
// # Conformance
//
// conformance_test.go renders each of the 68 templates of ../shared/oracle/templates with the 30
// conversations of testdata/conversations.json (system prompts, multi-turn, assistant last with and without
// generation prompt, CJK/emoji/RTL, Jinja-looking and JS-only-whitespace content, enable_thinking,
// reasoning_content, empty and long content, tool calls with object and string arguments, multimodal
// parts) and compares with the oracle: all 1710 cases the oracle renders are byte-identical (it errors on
// the other 330, by design of those templates: missing tools, roles they reject, filters it lacks).
// docs/chat-templates.md has the numbers and the table of mismatches (none at present).
//
// # Engine
//
// Measured on the same 1710 cases: github.com/nikolalohinski/gonja/v2 v2.9.1 renders 61.1% identically
// (15 of the 68 templates fail to parse, e.g. on the {% generation %} tag or expressions it calls
// unbalanced, and its tojson, whitespace and printing differ; it also loads templates from disk by default); github.com/ardanlabs/jinja v1.8.0, a pure-Go engine built
// for chat templates (no dependencies, Apache-2.0, regular releases), renders 85.5% identically, 94.2%
// when inputs keep their JSON key order. ardanlabs/jinja is the base; it is forked into internal/jinja
// rather than used as a module because
//   - templates are untrusted input and the engine has no bounds: a recursive macro ends in a fatal Go
//     stack overflow (not a recoverable panic), range(10**9) and string doubling run until memory is
//     gone, and a render cannot be stopped from outside. The bounds (steps, call depth, output and
//     string/list size, parser nesting, wall time) need hooks inside the evaluator;
//   - byte-identity needs the oracle's value semantics where they differ from Python's Jinja, which
//     upstream follows (how values print, tojson's layout, JavaScript whitespace and UTF-16 lengths,
//     strip() ignoring its argument, == and in), and per-render globals (strftime_now on Options.Now).
//
// internal/jinja/doc.go lists what changed. The engine has no include, import or extends, so a template
// cannot reach files or the network.
//
// # Semantics worth knowing
//
// The reference is Hugging Face's JS implementation, not Python transformers. Where they differ we follow
// the reference: str.strip/lstrip/rstrip ignore their chars argument; booleans print as true/false; ==
// compares lists and dicts by identity; None == undefined. Object keys render in the order given: a
// json.RawMessage (RenderJSON, Vars) keeps it, a Go map is sorted, a Message follows role, content,
// reasoning_content, tool_calls, name, tool_call_id, then Extra.
package chat
