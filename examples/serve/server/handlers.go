package server

import (
	"crypto/rand"
	"errors"
	"net/http"

	"github.com/zoomr-go/zoomr/examples/serve/api"
	"github.com/zoomr-go/zoomr/model/chat"
	"github.com/zoomr-go/zoomr/model/tokenizer"
)

func randRead(b []byte) { rand.Read(b) } // crypto/rand.Read never fails (Go ≥ 1.24)

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	body, aerr := s.readBody(w, r)
	if aerr != nil {
		fail(w, r, aerr)
		return
	}
	req, aerr := api.DecodeChat(body, s.opts.Limits)
	if aerr == nil {
		aerr = s.checkModel(req.Model)
	}
	if aerr != nil {
		fail(w, r, aerr)
		return
	}
	ids, inThink, aerr := s.renderChat(req)
	if aerr != nil {
		fail(w, r, aerr)
		return
	}
	g := generation{id: genID("chatcmpl"), chat: true, ids: ids, req: req.Common}
	if s.opts.Think.Close != "" {
		g.think = newThinkSplitter(s.opts.Think, inThink)
	}
	s.generate(w, r, &g)
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	body, aerr := s.readBody(w, r)
	if aerr != nil {
		fail(w, r, aerr)
		return
	}
	req, aerr := api.DecodeCompletion(body, s.opts.Limits)
	if aerr == nil {
		aerr = s.checkModel(req.Model)
	}
	if aerr != nil {
		fail(w, r, aerr)
		return
	}
	ids := req.PromptIDs
	if ids == nil {
		if ids, aerr = s.encode(req.Prompt); aerr != nil {
			fail(w, r, aerr)
			return
		}
	}
	if len(ids) > s.opts.MaxPromptTokens {
		fail(w, r, api.ContextLengthExceeded("prompt", len(ids), s.opts.MaxPromptTokens))
		return
	}
	s.generate(w, r, &generation{id: genID("cmpl"), ids: ids, req: req.Common})
}

// encode tokenizes a completion prompt as the Decoder does (the tokenizer's BOS convention, as
// vLLM's completions add special tokens).
func (s *Server) encode(prompt string) ([]int, *api.Error) {
	if s.dec.Tokenizer() == nil {
		return nil, api.BadPrompt("prompt", errors.New("this model has no tokenizer: give the prompt as token ids"))
	}
	ids, err := s.dec.Encode(prompt)
	if err != nil {
		return nil, api.BadPrompt("prompt", err)
	}
	return ids, nil
}

// renderChat renders the messages with the model's chat template (the generation prompt added,
// chat_template_kwargs as variables) and tokenizes the result as transformers' apply_chat_template
// does: special tokens parsed, no BOS added (the template writes it). It reports whether the prompt
// leaves a think span open. When the decoder gets its own Chat (the chatdec branch), this is the
// one function to swap.
func (s *Server) renderChat(req *api.ChatRequest) (ids []int, inThink bool, aerr *api.Error) {
	tpl := s.opts.Template
	if tpl == nil {
		return nil, false, api.Errorf(http.StatusBadRequest, api.TypeInvalidRequest, "no_chat_template", "messages",
			"Model %s has no chat template; use /v1/completions.", s.opts.Name)
	}
	prompt, err := tpl.Render(req.Messages, chat.Options{AddGenerationPrompt: true, Vars: req.TemplateVars})
	if err != nil {
		return nil, false, api.BadPrompt("messages", err)
	}
	ids, err = s.dec.Tokenizer().EncodeWith(prompt, tokenizer.Options{ParseSpecial: true})
	if err != nil {
		return nil, false, api.BadPrompt("messages", err)
	}
	if len(ids) > s.opts.MaxPromptTokens {
		return nil, false, api.ContextLengthExceeded("messages", len(ids), s.opts.MaxPromptTokens)
	}
	return ids, s.opts.Think.OpensThink(prompt), nil
}
