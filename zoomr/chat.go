package zoomr

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/model/gguf"
	"github.com/zoomr-go/zoomr/model/tokenizer"
)

// WithChatVars sets chat template variables for Chat (enable_thinking, tools, documents,
// reasoning_effort…; chat.Options.Vars). Later calls add to earlier ones.
func WithChatVars(vars map[string]any) GenOption {
	return func(s *genSettings) {
		merged := maps.Clone(s.chatVars)
		if merged == nil {
			merged = map[string]any{}
		}
		maps.Copy(merged, vars)
		s.chatVars = merged
	}
}

// WithGenerationPrompt sets the template's add_generation_prompt for Chat (default true: the prompt
// ends where the assistant's reply begins; false continues the last message).
func WithGenerationPrompt(add bool) GenOption {
	return func(s *genSettings) { s.noGenPrompt = !add }
}

// Chat renders messages with the decoder's chat template (Config.ChatTemplate) and starts a
// generation from the prompt, as Start does. The template decides where the reasoning starts: a
// prompt that opens the thinking span (DeepSeek-R1 distills end it with "<think>\n") is continued
// inside it; otherwise, when the vocabulary has the span's markers (Config.Think), the reply is answer
// unless the model opens the span with its first token that is not whitespace (Qwen3); a vocabulary
// with an answer marker (Config.Protocol) but no span reasons until the marker; any other reply is
// all answer. Thoughts, and so ZoomR's zoom, lie inside the reasoning only. The prompt is tokenized
// with special tokens parsed, and BOS is prepended only when the tokenizer asks for it and the
// template did not write it.
func (d *Decoder) Chat(ctx context.Context, msgs []chat.Message, opts ...GenOption) *Generation {
	prompt, err := d.ChatPrompt(msgs, opts...)
	return d.startChat(ctx, prompt, err, opts)
}

// ChatJSON is Chat for messages given as a JSON array of message objects, as an OpenAI-compatible
// request carries them: every field reaches the template in its own key order (chat.Template.RenderJSON).
func (d *Decoder) ChatJSON(ctx context.Context, messages json.RawMessage, opts ...GenOption) *Generation {
	prompt, err := d.render(func(tpl *chat.Template, co chat.Options) (string, error) { return tpl.RenderJSON(messages, co) }, opts)
	return d.startChat(ctx, prompt, err, opts)
}

// startChat tokenizes a rendered prompt (or carries the render's error) and starts its generation.
func (d *Decoder) startChat(ctx context.Context, prompt string, err error, opts []GenOption) *Generation {
	var ids []int
	if err == nil {
		ids, err = d.encodeChat(prompt)
	}
	g := d.StartIDs(ctx, ids, opts...)
	if err != nil && g.err == nil {
		g.err = err
	}
	g.set.think = d.thinkStartOf(prompt)
	return g
}

// ChatPrompt renders messages as Chat does (add_generation_prompt true unless WithGenerationPrompt
// says otherwise; template variables from WithChatVars; bos_token and eos_token from the template's
// tokenizer config or, for a GGUF's template, the tokenizer's BOS and EOS). Other options are ignored.
func (d *Decoder) ChatPrompt(msgs []chat.Message, opts ...GenOption) (string, error) {
	return d.render(func(tpl *chat.Template, co chat.Options) (string, error) { return tpl.Render(msgs, co) }, opts)
}

// render renders with the decoder's template and the options' chat settings.
func (d *Decoder) render(with func(*chat.Template, chat.Options) (string, error), opts []GenOption) (string, error) {
	tpl := d.cfg.ChatTemplate
	if tpl == nil {
		return "", fmt.Errorf("%w: the decoder has no chat template (Config.ChatTemplate; LoadChatTemplate reads a model's): %w",
			ErrConfig, chat.ErrNoTemplate)
	}
	var s genSettings
	for _, o := range opts {
		o(&s)
	}
	co := chat.Options{AddGenerationPrompt: !s.noGenPrompt, Vars: s.chatVars}
	if tpl.BOSToken == "" {
		co.BOSToken = d.tokenText(d.tokBOS())
	}
	if tpl.EOSToken == "" {
		co.EOSToken = d.tokenText(d.tokEOS())
	}
	prompt, err := with(tpl, co)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrPrompt, err)
	}
	return prompt, nil
}

// encodeChat tokenizes a rendered chat prompt: special tokens parsed, as transformers'
// apply_chat_template does (the template writes BOS itself where the model wants it), with BOS
// prepended when the tokenizer asks for one and the prompt does not start with it.
func (d *Decoder) encodeChat(prompt string) ([]int, error) {
	if d.tok == nil {
		return nil, fmt.Errorf("%w: Chat needs a tokenizer", ErrPrompt)
	}
	bos := d.tokenText(d.tok.BOS())
	addBOS := d.tok.AddBOS() && (bos == "" || !strings.HasPrefix(prompt, bos))
	ids, err := d.tok.EncodeWith(prompt, tokenizer.Options{AddBOS: addBOS, ParseSpecial: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPrompt, err)
	}
	return ids, nil
}

// thinkStartOf decides where a chat prompt's reply starts reasoning (see Chat).
func (d *Decoder) thinkStartOf(prompt string) thinkStart {
	switch {
	case d.think.ok && d.cfg.Think.OpensThink(prompt):
		return thinkOpen
	case d.think.ok:
		return thinkAwait
	case len(d.answer) > 0:
		return thinkOpen
	}
	return thinkNone
}

func (d *Decoder) tokBOS() int {
	if d.tok == nil {
		return -1
	}
	return d.tok.BOS()
}

func (d *Decoder) tokEOS() int {
	if d.tok == nil {
		return -1
	}
	return d.tok.EOS()
}

// tokenText is a token's stored text ("" for -1 or without a tokenizer).
func (d *Decoder) tokenText(id int) string {
	if d.tok == nil || id < 0 {
		return ""
	}
	s, err := d.tok.TokenText(id)
	if err != nil {
		return ""
	}
	return s
}

// Chat is Decoder.Chat for a generation that runs in the batcher.
func (b *Batcher) Chat(ctx context.Context, msgs []chat.Message, opts ...GenOption) *Generation {
	g := b.d.Chat(ctx, msgs, opts...)
	g.batcher = b
	return g
}

// ChatJSON is Decoder.ChatJSON for a generation that runs in the batcher.
func (b *Batcher) ChatJSON(ctx context.Context, messages json.RawMessage, opts ...GenOption) *Generation {
	g := b.d.ChatJSON(ctx, messages, opts...)
	g.batcher = b
	return g
}

// LoadChatTemplate reads a model's chat template: from a Hugging Face directory as transformers does
// (chat_template.jinja, chat_template.json or tokenizer_config.json's chat_template, with its
// bos_token and eos_token; chat.LoadDir), or from a GGUF file's tokenizer.chat_template (or a
// directory whose only model file is one GGUF; the Decoder then takes bos_token and eos_token from
// the tokenizer). name picks a named variant ("" is the default one, "tool_use" the usual other).
// A model without a template gives an error wrapping chat.ErrNoTemplate.
func LoadChatTemplate(path, name string) (*chat.Template, error) {
	ggufPath, err := findGGUF(path)
	if err != nil {
		return nil, err
	}
	if ggufPath != "" {
		return ggufChatTemplate(ggufPath, name)
	}
	return chat.LoadDir(path, name)
}

func ggufChatTemplate(path, name string) (*chat.Template, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("chat template of %s: %w", path, err)
	}
	defer f.Close()
	tpl, err := chat.FromGGUFMetadata(f, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tpl, nil
}
