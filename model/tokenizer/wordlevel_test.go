package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var tinySpec = WordLevelSpec{
	Specials: []string{"<|endoftext|>", "<unk>", "<|begin_of_summary|>", "<|end_of_summary|>"},
	Words:    []string{"the", "cat", "sat", "on", "mat", ".", "it", "was", "happy"},
	Unknown:  "<unk>",
	EOS:      "<|endoftext|>",
}

func TestWordLevel(t *testing.T) {
	dir := t.TempDir()
	if err := WriteWordLevel(dir, tinySpec); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Kind() != KindWordLevel || tok.VocabSize() != 13 || tok.EOS() != 0 || tok.BOS() != -1 || tok.AddBOS() {
		t.Fatalf("kind %v size %d eos %d bos %d", tok.Kind(), tok.VocabSize(), tok.EOS(), tok.BOS())
	}
	cases := []struct {
		text string
		opts Options
		want []int
	}{
		{"the cat sat on the mat .", Options{}, []int{4, 5, 6, 7, 4, 8, 9}},
		{"  the\tcat\n\ndog ", Options{}, []int{4, 5, 1}}, // unknown word -> <unk>
		{"the cat<|begin_of_summary|>it was happy<|end_of_summary|>", Options{ParseSpecial: true}, []int{4, 5, 2, 10, 11, 12, 3}},
		{"the<|endoftext|>", Options{}, []int{1}}, // without ParseSpecial the marker is an unknown word
		{"", Options{}, []int{}},
	}
	for _, c := range cases {
		got, err := tok.EncodeWith(c.text, c.opts)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("EncodeWith(%q, %+v) = %v, %v; want %v", c.text, c.opts, got, err, c.want)
		}
	}
	ids := []int{4, 5, 2, 10, 11, 12, 3, 0}
	want := "the cat <|begin_of_summary|> it was happy <|end_of_summary|> <|endoftext|>"
	if s, err := tok.Decode(ids); err != nil || s != want {
		t.Errorf("Decode = %q, %v", s, err)
	}
	d := tok.NewStreamDecoder()
	var b strings.Builder
	for _, id := range ids {
		s, _ := d.Next(id)
		b.WriteString(s)
	}
	if b.String() != want {
		t.Errorf("stream = %q", b.String())
	}
	if s, _ := tok.DecodeWith(ids, DecodeOptions{SkipSpecial: true}); s != "the cat it was happy" {
		t.Errorf("SkipSpecial = %q", s)
	}
}

func TestWordLevelWithoutUnknown(t *testing.T) {
	spec := tinySpec
	spec.Unknown = ""
	spec.SplitPunctuation = true
	spec.BOS, spec.AddBOS = "<|endoftext|>", true
	tok, err := NewWordLevel(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tok.Encode("the cat."); err != nil || !slices.Equal(got, []int{0, 4, 5, 9}) {
		t.Errorf("Encode = %v, %v", got, err) // BOS, and "." split from "cat"
	}
	if _, err := tok.Encode("the dog"); !errors.Is(err, ErrUnknownToken) || !strings.Contains(err.Error(), `"dog"`) {
		t.Errorf("unknown word: %v", err)
	}
	if ids := tok.AddSpecialTokens("<|new|>"); !slices.Equal(ids, []int{13}) {
		t.Errorf("AddSpecialTokens = %v", ids)
	}
	if got, _ := tok.EncodeWith("cat<|new|>", Options{ParseSpecial: true}); !slices.Equal(got, []int{5, 13}) {
		t.Errorf("added token: %v", got)
	}
}

func TestWordLevelFileFormat(t *testing.T) {
	tj, cj, err := MarshalWordLevel(tinySpec)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
		PreTokenizer struct{ Type string } `json:"pre_tokenizer"`
		Model        struct {
			Type     string         `json:"type"`
			Vocab    map[string]int `json:"vocab"`
			UnkToken string         `json:"unk_token"`
		} `json:"model"`
	}
	if err := json.Unmarshal(tj, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Model.Type != "WordLevel" || doc.PreTokenizer.Type != "WhitespaceSplit" || doc.Model.UnkToken != "<unk>" ||
		len(doc.Model.Vocab) != 13 || doc.Model.Vocab["mat"] != 8 || len(doc.AddedTokens) != 4 || !doc.AddedTokens[2].Special {
		t.Errorf("tokenizer.json: %s", tj)
	}
	last := -1
	for i, w := range append(append([]string(nil), tinySpec.Specials...), tinySpec.Words...) {
		k, _ := json.Marshal(w)
		at := strings.Index(string(tj), fmt.Sprintf("%s: %d", k, i))
		if at <= last {
			t.Fatalf("vocabulary should be written in id order (%s at %d): %s", k, at, tj)
		}
		last = at
	}
	var cfg map[string]any
	if err := json.Unmarshal(cj, &cfg); err != nil || cfg["eos_token"] != "<|endoftext|>" || cfg["bos_token"] != nil {
		t.Errorf("tokenizer_config.json: %s %v", cj, err)
	}
}

func TestWordLevelSpecErrors(t *testing.T) {
	bad := []WordLevelSpec{
		{Words: []string{"a", "a"}},
		{Words: []string{"a b"}},
		{Words: []string{""}},
		{Words: []string{"a"}, Unknown: "a"},
		{Specials: []string{"<s>"}, Words: []string{"a"}, BOS: "<x>"},
		{Words: []string{"a"}, AddBOS: true},
	}
	for _, s := range bad {
		if _, err := NewWordLevel(s); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: %v", s, err)
		}
		if err := WriteWordLevel(filepath.Join(t.TempDir(), "x"), s); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("write %+v: %v", s, err)
		}
	}
	if _, err := os.Stat(filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("nothing should be written for a bad spec")
	}
}
