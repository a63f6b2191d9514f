package server

import (
	"crypto/rand"
	"errors"
	"net/http"

	"github.com/zoomr-go/zoomr/examples/serve/api"
	"github.com/zoomr-go/zoomr/zoomr"
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
	if aerr == nil && (s.dec.Config().ChatTemplate == nil || s.dec.Tokenizer() == nil) {
		aerr = api.Errorf(http.StatusBadRequest, api.TypeInvalidRequest, "no_chat_template", "messages",
			"Model %s has no chat template; use /v1/completions.", s.opts.Name)
	}
	if aerr != nil {
		fail(w, r, aerr)
		return
	}
	opts := s.genOptions(req.Common)
	if len(req.TemplateVars) > 0 {
		opts = append(opts, zoomr.WithChatVars(req.TemplateVars))
	}
	// The Decoder renders the messages as the client wrote them (the model's template, the
	// generation prompt added) and tokenizes the prompt; its tokens say what is reasoning.
	run := s.batcher.ChatJSON(r.Context(), req.RawMessages, opts...)
	if n := len(run.PromptIDs()); n > s.opts.MaxPromptTokens {
		fail(w, r, api.ContextLengthExceeded("messages", n, s.opts.MaxPromptTokens))
		return
	}
	s.generate(w, r, &generation{id: genID("chatcmpl"), chat: true, req: req.Common, param: "messages"}, run)
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
	run := s.batcher.Start(r.Context(), ids, s.genOptions(req.Common)...)
	s.generate(w, r, &generation{id: genID("cmpl"), req: req.Common, param: "prompt"}, run)
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
