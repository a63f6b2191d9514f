// Package jinja is a fork of github.com/ardanlabs/jinja v1.8.0 (Apache-2.0, see LICENSE), a pure-Go Jinja
// engine built for LLM chat templates. model/chat says why it is forked rather than imported; in short,
// templates from model files are untrusted and need bounds inside the evaluator, and byte-identity with
// Hugging Face's JavaScript implementation (@huggingface/jinja, the project's reference) needs its value
// semantics where they differ from Python's Jinja.
//
// Changes from upstream (files not from upstream say so at their top):
//   - limits.go: a per-render budget: steps (statements, loop iterations, calls), call depth, bytes of
//     output and length of any string or list built (range, "~", "+", "*", replace), wall time; a parser
//     nesting bound and a source size bound. A render past a bound returns an error wrapping ErrLimit.
//   - raise_exception returns a *RaisedError; strftime_now formats Config.Now as the reference does (only
//     %Y %m %d %b %B %H %M %%); range is bounded. These live in a per-render scope.
//   - hfcompat.go: the reference's semantics for printing (true/false, 2.0, lists and dicts as JSON),
//     tojson (insertion order, ", "/": " or indent layout, ensure_ascii, sort_keys, JSON.stringify
//     escaping, JavaScript numbers), JavaScript whitespace (strip/lstrip/rstrip ignore their argument, as
//     the reference does; trim), UTF-16 lengths and indexing, split, replace, title, capitalize, full
//     Unicode upper/lower, == (JavaScript loose equality: lists and dicts by identity, none == undefined),
//     "in" (strict equality), is iterable/sequence, slicing, join, indent's blank argument.
//   - json.go: an order-keeping JSON decoder (FromJSON) for inputs and fromjson; integral numbers are ints.
//   - A for loop's "if" filter sees "k, v" unpacked as the body does.
//   - Upstream's tests that read its own template files are dropped (model/chat's conformance suite renders
//     real templates); tests that expected Python's True now expect the reference's true.
package jinja
