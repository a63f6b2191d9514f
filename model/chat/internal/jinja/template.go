package jinja

import (
	"fmt"
	"strings"
)

// Template is a compiled Jinja template ready for rendering.
type Template struct {
	nodes []node
	src   string
}

// Compile parses a Jinja template source string and returns a compiled
// template that can be rendered multiple times with different data.
func Compile(source string) (*Template, error) {
	if len(source) > maxSourceBytes {
		return nil, fmt.Errorf("jinja: template of %d bytes is above the %d-byte limit", len(source), maxSourceBytes)
	}
	// One trailing newline is dropped, as the reference (and Jinja's keep_trailing_newline=False) does.
	source = strings.TrimSuffix(source, "\n")
	segs, err := scan(source)
	if err != nil {
		return nil, fmt.Errorf("jinja scan: %w", err)
	}

	nodes, err := parseTemplate(segs)
	if err != nil {
		return nil, fmt.Errorf("jinja parse: %w", err)
	}

	return &Template{nodes: nodes, src: source}, nil
}

// Render executes the template with the provided data and default limits and returns the
// rendered string. Each call creates an isolated scope so templates are
// safe to render concurrently after compilation.
func (t *Template) Render(data map[string]any) (string, error) {
	// Convert Go data to Value types.
	vals := make(map[string]Value, len(data))
	for k, v := range data {
		vals[k] = FromGoValue(v)
	}

	return render(t.nodes, vals, Config{})
}

// RenderValues is like Render but accepts pre-converted Value data and the render's bounds and clock.
func (t *Template) RenderValues(data map[string]Value, cfg Config) (string, error) {
	return render(t.nodes, data, cfg)
}

// =============================================================================

// render executes the AST with the given data and returns the result.
func render(nodes []node, data map[string]Value, cfg Config) (string, error) {
	lim := newBudget(cfg)
	e := evaluator{output: outBuf{b: lim}, lim: lim}

	// The cached builtins scope is shared and read-only; the globals that depend on this render (its clock,
	// its limits) sit in a scope of their own above it, and user data above that.
	e.builtins = cachedBuiltins
	perRender := newScope(cachedBuiltins)
	registerRenderGlobals(perRender, lim)
	e.scope = newScope(perRender)
	for k, v := range data {
		e.scope.set(k, v)
	}

	if err := e.execNodes(nodes); err != nil {
		return "", err
	}
	if lim.err != nil {
		return "", lim.err
	}
	return e.output.String(), nil
}
