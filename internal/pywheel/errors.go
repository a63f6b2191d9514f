package pywheel

import "errors"

// Sentinel errors: every error Install returns wraps one of them or the context's error.
var (
	// ErrNetwork: the index or the wheel could not be fetched (connection failure, HTTP status not 200,
	// a response cut short).
	ErrNetwork = errors.New("pywheel: network failure")
	// ErrNotInIndex: the index has no file with the pinned wheel's name for its project.
	ErrNotInIndex = errors.New("pywheel: wheel not in the package index")
	// ErrChecksum: the downloaded wheel's sha256 (or the one the index lists for it) is not the pinned one.
	ErrChecksum = errors.New("pywheel: checksum mismatch")
	// ErrMemberMissing: the wheel holds no member with a requested name.
	ErrMemberMissing = errors.New("pywheel: member missing from wheel")
	// ErrInvalidWheel: the download is not a readable zip archive, or a member fails its CRC check.
	ErrInvalidWheel = errors.New("pywheel: invalid wheel")
)

// ErrInvalidPin: the Wheel value itself is unusable (an empty field, a sha256 that is not 64 hex digits,
// a member file name that is a path or hidden).
var ErrInvalidPin = errors.New("pywheel: invalid wheel pin")
