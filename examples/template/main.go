// Command template renders chat templates with model/chat, with the interface of Hugging Face's JS
// reference (../shared/oracle/template.mjs), so the two can be compared case by case.
//
//	go run ./examples/template -template Qwen-Qwen3-0.6B.jinja -messages msgs.json -add-generation-prompt -vars '{"enable_thinking":false}'
//	go run ./examples/template -template MODEL_DIR_OR_tokenizer_config.json -messages msgs.json [-variant tool_use]
//	go run ./examples/template -cases CASES.json -out RESULTS.json
//
// CASES.json is a list of {"template": PATH or "source": TEXT, "messages": [...], "add_generation_prompt":
// bool, "bos_token": str, "eos_token": str, "vars": {...}}; RESULTS.json gets one {"rendered": str} or
// {"error": str} per case, in order. A template PATH is resolved against the cases file's folder (the
// current folder for -template), then against ../shared/oracle/templates, with or without ".jinja". A
// -template that is a folder or a .json file is loaded as a model's tokenizer config (with its bos/eos).
// strftime_now reads the clock, as in the reference.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/zoomr-go/zoomr/internal/oracle"
	"github.com/zoomr-go/zoomr/model/chat"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "template:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("template", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tplPath := fs.String("template", "", "template file (.jinja), tokenizer_config.json or model folder")
	variant := fs.String("variant", "", "named template of a tokenizer config (default: \"default\")")
	msgsPath := fs.String("messages", "", "JSON file with the list of messages")
	addGen := fs.Bool("add-generation-prompt", false, "end with the assistant's generation prompt")
	varsJSON := fs.String("vars", "", `further variables as a JSON object, e.g. '{"enable_thinking":false}'`)
	bos := fs.String("bos", "", "bos_token (default: the tokenizer config's, else empty)")
	eos := fs.String("eos", "", "eos_token (default: the tokenizer config's, else empty)")
	asJSON := fs.Bool("json", false, `print {"rendered": ...} instead of the text`)
	casesPath := fs.String("cases", "", "render a batch of cases (template.mjs's format) ...")
	outPath := fs.String("out", "", "... into this results file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *casesPath != "" {
		if *outPath == "" {
			return errors.New("-cases needs -out")
		}
		return runCases(*casesPath, *outPath, stderr)
	}
	if *tplPath == "" || *msgsPath == "" {
		fs.Usage()
		return errors.New("give -template and -messages, or -cases and -out")
	}
	tpl, err := loadTemplate(*tplPath, *variant, ".")
	if err != nil {
		return err
	}
	msgs, err := os.ReadFile(*msgsPath)
	if err != nil {
		return err
	}
	vars, err := parseVars([]byte(*varsJSON))
	if err != nil {
		return fmt.Errorf("-vars: %w", err)
	}
	out, err := tpl.RenderJSON(msgs, chat.Options{AddGenerationPrompt: *addGen, BOSToken: *bos, EOSToken: *eos, Vars: vars})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, map[string]string{"rendered": out}, "")
	}
	_, err = io.WriteString(stdout, out)
	return err
}

// testCase is one entry of a cases file (template.mjs's format).
type testCase struct {
	Template            string          `json:"template"`
	Source              *string         `json:"source"`
	Messages            json.RawMessage `json:"messages"`
	AddGenerationPrompt bool            `json:"add_generation_prompt"`
	BOSToken            string          `json:"bos_token"`
	EOSToken            string          `json:"eos_token"`
	Vars                json.RawMessage `json:"vars"`
}

type result struct {
	Rendered *string `json:"rendered,omitempty"`
	Error    *string `json:"error,omitempty"`
}

func runCases(casesPath, outPath string, stderr io.Writer) error {
	raw, err := os.ReadFile(casesPath)
	if err != nil {
		return err
	}
	var cases []testCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		return fmt.Errorf("%s: %w", casesPath, err)
	}
	base := filepath.Dir(casesPath)
	results := make([]result, len(cases))
	errs := 0
	for i, c := range cases {
		out, err := renderCase(c, base)
		if err != nil {
			msg := err.Error()
			results[i].Error = &msg
			errs++
		} else {
			results[i].Rendered = &out
		}
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, results, " "); err != nil {
		return err
	}
	if err := os.WriteFile(outPath, bytes.TrimSuffix(buf.Bytes(), []byte("\n")), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rendered %d of %d cases (%d errors)\n", len(cases)-errs, len(cases), errs)
	return nil
}

func renderCase(c testCase, base string) (string, error) {
	var tpl *chat.Template
	var err error
	if c.Source != nil {
		tpl, err = chat.Parse(*c.Source)
	} else {
		tpl, err = loadTemplate(c.Template, "", base)
	}
	if err != nil {
		return "", err
	}
	vars, err := parseVars(c.Vars)
	if err != nil {
		return "", err
	}
	msgs := c.Messages
	if len(msgs) == 0 || string(msgs) == "null" {
		msgs = json.RawMessage("[]")
	}
	return tpl.RenderJSON(msgs, chat.Options{AddGenerationPrompt: c.AddGenerationPrompt,
		BOSToken: c.BOSToken, EOSToken: c.EOSToken, Vars: vars})
}

// loadTemplate resolves a template path as template.mjs does, and loads folders and .json files as
// tokenizer configs.
func loadTemplate(path, variant, base string) (*chat.Template, error) {
	candidates := []string{filepath.Join(base, path)}
	if filepath.IsAbs(path) {
		candidates = []string{path}
	}
	if dir, err := oracle.Dir(); err == nil {
		candidates = append(candidates, filepath.Join(dir, "templates", path), filepath.Join(dir, "templates", path+".jinja"))
	}
	for _, p := range candidates {
		st, err := os.Stat(p)
		switch {
		case err != nil:
			continue
		case st.IsDir():
			return chat.LoadDir(p, variant)
		case strings.HasSuffix(p, ".json"):
			raw, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			return chat.FromTokenizerConfig(raw, variant)
		default:
			src, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			return chat.Parse(string(src))
		}
	}
	return nil, fmt.Errorf("template not found: %s", path)
}

// parseVars reads a JSON object of variables; each value stays raw JSON so its key order is kept.
func parseVars(raw []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("vars must be a JSON object: %w", err)
	}
	vars := make(map[string]any, len(fields))
	for k, v := range fields {
		vars[k] = v
	}
	return vars, nil
}

// writeJSON writes v as JSON.stringify would: no HTML escaping.
func writeJSON(w io.Writer, v any, indent string) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc.Encode(v)
}
