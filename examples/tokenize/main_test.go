package main

import (
	"bytes"
	"strings"
	"testing"
)

const spmVocab = "../../testdata/tokenizer/ggml-vocab-llama-spm.gguf"

func TestRun(t *testing.T) {
	cases := []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"-tokenizer", spmVocab, "-json"}, "Hello world", `{"ids":[1,15043,3186]}` + "\n"},
		{[]string{"-tokenizer", spmVocab, "-add-bos=false"}, "Hello world", "15043 3186\n"},
		{[]string{"-tokenizer", spmVocab, "-add-bos=false", "-parse-special=false", "-json"}, "</s>", `{"ids":[1533,29879,29958]}` + "\n"},
		{[]string{"-tokenizer", spmVocab, "-add-bos=false", "-json"}, "</s>", `{"ids":[2]}` + "\n"},
		{[]string{"-tokenizer", spmVocab, "-decode"}, `{"ids":[15043,3186]}`, "Hello world"},
		{[]string{"-tokenizer", spmVocab, "-decode"}, "[15043, 3186]", "Hello world"},
		{[]string{"-tokenizer", spmVocab, "-decode"}, "15043 3186\n", "Hello world"},
		{[]string{"-tokenizer", spmVocab, "-decode", "-json"}, "1,15043", `{"text":"\u003cs\u003e Hello"}` + "\n"},
		{[]string{"-tokenizer", spmVocab, "-decode", "-skip-special"}, "1 15043", " Hello"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		if err := run(c.args, strings.NewReader(c.stdin), &out, &errOut); err != nil {
			t.Errorf("%v: %v (%s)", c.args, err, errOut.String())
			continue
		}
		if out.String() != c.want {
			t.Errorf("%v < %q:\n got %q\nwant %q", c.args, c.stdin, out.String(), c.want)
		}
	}
}

func TestRunErrors(t *testing.T) {
	for _, c := range []struct {
		args  []string
		stdin string
	}{
		{nil, ""},
		{[]string{"-tokenizer", "/nonexistent"}, ""},
		{[]string{"-tokenizer", spmVocab, "-decode"}, "12 x"},
		{[]string{"-tokenizer", spmVocab, "-decode"}, "99999999"},
		{[]string{"-tokenizer", spmVocab}, "\xff"},
		{[]string{"-tokenizer", spmVocab, "-add-bos=maybe"}, "x"},
	} {
		var out, errOut bytes.Buffer
		if err := run(c.args, strings.NewReader(c.stdin), &out, &errOut); err == nil {
			t.Errorf("%v < %q: no error", c.args, c.stdin)
		}
	}
}
