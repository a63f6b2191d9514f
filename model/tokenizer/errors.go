package tokenizer

import "errors"

// Sentinel errors. Functions wrap them with %w and the values involved; test with errors.Is.
var (
	// ErrUnknownToken: an id outside the vocabulary, a token text that is not in it, or a word that
	// a word-level vocabulary without an unknown token cannot encode.
	ErrUnknownToken = errors.New("tokenizer: unknown token")
	// ErrInvalidUTF8: text to encode is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("tokenizer: invalid UTF-8")
	// ErrUnsupportedModel: the file describes a tokenizer kind, pre-tokenizer or option this package
	// does not implement (it never guesses: a wrong tokenizer silently ruins a model).
	ErrUnsupportedModel = errors.New("tokenizer: unsupported tokenizer")
	// ErrInvalidFile: a tokenizer.json / tokenizer_config.json that is malformed or inconsistent.
	ErrInvalidFile = errors.New("tokenizer: invalid tokenizer file")
	// ErrInvalidGGUF: a GGUF file whose header or tokenizer metadata is malformed.
	ErrInvalidGGUF = errors.New("tokenizer: invalid GGUF file")
	// ErrInvalidArgument: a bad argument to a function (for example an empty token text).
	ErrInvalidArgument = errors.New("tokenizer: invalid argument")
)
