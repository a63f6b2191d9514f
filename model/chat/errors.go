package chat

import (
	"errors"

	"github.com/zoomr-go/zoomr/model/chat/internal/jinja"
)

var (
	// ErrTemplate is wrapped by every parse or render error; the message is the engine's.
	ErrTemplate = errors.New("chat template")
	// ErrLimit is wrapped (with ErrTemplate) when a render exceeds one of its Limits.
	ErrLimit = jinja.ErrLimit
	// ErrNoTemplate is returned by the loaders when the source has no chat template (or not the named one).
	ErrNoTemplate = errors.New("chat: no chat template")
)

// RaisedError is the error of a template's raise_exception(message), e.g. Gemma 2's "System role not
// supported". errors.Is(err, ErrTemplate) holds for it too.
type RaisedError struct{ Message string }

func (e *RaisedError) Error() string { return "chat template: raise_exception: " + e.Message }

// Is makes a RaisedError match ErrTemplate.
func (e *RaisedError) Is(target error) bool { return target == ErrTemplate }
