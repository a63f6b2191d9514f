// Package api is the OpenAI-compatible wire format of examples/serve: the request and response
// types of /v1/chat/completions, /v1/completions and /v1/models, the strict decoding of requests
// (every accepted field type-checked and range-checked, with the field named in the error), and the
// OpenAI-style error body {"error": {"message", "type", "param", "code"}}. It knows nothing of the
// model: the server turns a decoded request into a generation.
//
// # Why our own types
//
// Both well-kept Go modules served here were tried on a server's side of the wire and neither fits:
//
//   - github.com/sashabaranov/go-openai v1.43.0 is a client: its ChatCompletionRequest declares
//     stop as []string, so the API's string form ("stop": "\n") fails to decode; temperature and
//     top_p are float32 with omitempty, so an explicit 0 (greedy) cannot be told from an absent
//     field (which means 1); it has no top_k, ignore_eos or seed-as-uint64, and its Usage has no
//     room for an extension object. Its response and stream types would fit, and the tests use it
//     as an independent client to check that what we send decodes (serve's compat_test.go).
//   - github.com/openai/openai-go/v3 v3.102.0 is generated for clients too: its params decode
//     leniently (measured: "max_tokens": "ten" and a message content of 5 decode without error and
//     are silently dropped, as are top_k and ignore_eos), which is the opposite of what a server
//     owes its callers, and its response types carry client-side metadata and no reasoning_content.
//
// The types here are the fields we honour, nothing more.
//
// # Decoding rules
//
// A body must be one JSON object. A field set to null counts as absent. Fields that change the
// output and are not implemented are refused rather than ignored (400, code "unsupported_parameter"):
// n > 1, tools, logprobs, logit_bias, penalties, echo, best_of, suffix, a response_format other than
// text. Names the API does not know at all are refused as OpenAI does ("Unrecognized request
// argument supplied"), because a misspelt max_tokens silently ignored would change the output.
// Extensions accepted as vLLM spells them: top_k (-1 or 0: off), ignore_eos, return_token_ids,
// skip_special_tokens (default true; false writes control tokens such as ZoomR's summary markers),
// chat_template_kwargs (chat only; passed to the template, e.g. {"enable_thinking": false}).
//
// # Errors
//
//	status  type                   code                      when
//	400     invalid_request_error  invalid_json              the body is not one JSON object
//	400     invalid_request_error  invalid_type              a field has the wrong JSON type
//	400     invalid_request_error  invalid_value             a value out of range (max_tokens, temperature…)
//	400     invalid_request_error  missing_required_parameter  no messages / no prompt
//	400     invalid_request_error  unsupported_parameter     a known field we cannot honour
//	400     invalid_request_error  unknown_parameter         a field the API does not have
//	400     invalid_request_error  context_length_exceeded   the prompt is longer than the limit
//	400     invalid_request_error  no_chat_template          chat with a model that has no template
//	404     invalid_request_error  model_not_found           model names another model
//	404     invalid_request_error  not_found                 no such endpoint
//	405     invalid_request_error  method_not_allowed        wrong HTTP method
//	413     invalid_request_error  request_too_large         body over the limit
//	429     rate_limit_error       queue_full                the admission queue is full (Retry-After set)
//	500     server_error           internal_error            a generation failed
//	503     server_error           shutting_down             the server is draining
package api
