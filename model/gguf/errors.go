package gguf

import (
	"errors"
	"fmt"
)

// ErrInvalidFile is wrapped by every error about a malformed file, together with one of the more
// specific sentinels below. Test with errors.Is.
var ErrInvalidFile = errors.New("gguf: invalid file")

// Specific sentinels, each returned wrapped together with ErrInvalidFile and the numbers involved.
var (
	// ErrBadMagic: the file does not start with "GGUF".
	ErrBadMagic = errors.New("bad magic")
	// ErrUnsupportedVersion: a GGUF version other than 2 or 3 (v1 used 32-bit lengths; a
	// big-endian file shows up as a byte-swapped version).
	ErrUnsupportedVersion = errors.New("unsupported version")
	// ErrUnknownType: a metadata value type or a ggml tensor type this package does not know.
	ErrUnknownType = errors.New("unknown type")
	// ErrTruncated: a count or length asks for more bytes than the file has left.
	ErrTruncated = errors.New("truncated")
	// ErrBadMetadata: a duplicate key, arrays nested too deeply, or a bad general.alignment.
	ErrBadMetadata = errors.New("bad metadata")
	// ErrBadTensor: a tensor whose name, dimensions, offset or byte range is impossible (too many
	// dimensions, an element count that overflows, data past the end of the file, misaligned or
	// overlapping data, a duplicate name).
	ErrBadTensor = errors.New("bad tensor")
)

// invalid wraps ErrInvalidFile and kind with a formatted description.
func invalid(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalidFile, kind, fmt.Sprintf(format, args...))
}
