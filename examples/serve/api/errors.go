package api

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is an OpenAI-style error: the HTTP status and the body's error object.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Type    string `json:"type"`
	// Param names the request field at fault ("" is written as null).
	Param string `json:"-"`
	Code  string `json:"code"`
}

// Error types.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeRateLimit      = "rate_limit_error"
	TypeServer         = "server_error"
)

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%d %s (%s): %s", e.Status, e.Code, e.Param, e.Message)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// MarshalJSON writes the error object with param null when no field is at fault, as OpenAI does.
func (e *Error) MarshalJSON() ([]byte, error) {
	var param *string
	if e.Param != "" {
		param = &e.Param
	}
	type plain Error
	return json.Marshal(struct {
		*plain
		Param *string `json:"param"`
	}{(*plain)(e), param})
}

// ErrorBody is the JSON body of an error response (and of an error event in a stream).
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Errorf builds an error.
func Errorf(status int, typ, code, param, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// invalid is a 400 invalid_request_error.
func invalid(code, param, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, TypeInvalidRequest, code, param, format, args...)
}

// The errors the server raises outside request decoding.

// ModelNotFound: the request names a model this server does not serve.
func ModelNotFound(name string) *Error {
	return Errorf(http.StatusNotFound, TypeInvalidRequest, "model_not_found", "model",
		"The model `%s` does not exist.", name)
}

// ContextLengthExceeded: the prompt has more tokens than the server takes.
func ContextLengthExceeded(param string, tokens, limit int) *Error {
	return invalid("context_length_exceeded", param,
		"The prompt has %d tokens; this server takes at most %d.", tokens, limit)
}

// BadPrompt: the prompt cannot be turned into tokens (a template error, ids outside the vocabulary).
func BadPrompt(param string, err error) *Error {
	return invalid("invalid_value", param, "Invalid prompt: %v", err)
}

// QueueFull: the admission queue is full; retry later.
func QueueFull() *Error {
	return Errorf(http.StatusTooManyRequests, TypeRateLimit, "queue_full",
		"", "The server is busy: too many requests are waiting. Retry after the time in Retry-After.")
}

// ShuttingDown: the server no longer admits generations.
func ShuttingDown() *Error {
	return Errorf(http.StatusServiceUnavailable, TypeServer, "shutting_down", "", "The server is shutting down.")
}

// Internal: a generation failed on the server's side.
func Internal(err error) *Error {
	return Errorf(http.StatusInternalServerError, TypeServer, "internal_error", "", "The generation failed: %v", err)
}

// NotFound: no such endpoint.
func NotFound(path string) *Error {
	return Errorf(http.StatusNotFound, TypeInvalidRequest, "not_found", "", "No endpoint %s.", path)
}

// MethodNotAllowed: the endpoint exists for another method.
func MethodNotAllowed(method, path, allowed string) *Error {
	return Errorf(http.StatusMethodNotAllowed, TypeInvalidRequest, "method_not_allowed", "",
		"%s %s is not allowed (use %s).", method, path, allowed)
}

// TooLarge: the body exceeds the server's limit.
func TooLarge(limit int64) *Error {
	return Errorf(http.StatusRequestEntityTooLarge, TypeInvalidRequest, "request_too_large", "",
		"The request body is larger than %d bytes.", limit)
}

// WriteError writes err as the response (status, JSON body).
func WriteError(w http.ResponseWriter, err *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(err.Status)
	json.NewEncoder(w).Encode(ErrorBody{Error: err}) // the client may be gone: nothing to do on error
}
