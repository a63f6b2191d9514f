package tokenizer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zoomr-go/zoomr/internal/oracle"
)

// SmolLM2-135M-Instruct's GGUF (byte-level BPE, pre-tokenizer "smollm", ChatML) against
// llama.cpp: testdata/tokenizer/smollm2/texts.json holds the differential corpus, SmolLM2's chat
// template rendered for 8 conversations and two pages of the Go specification; llama.cpp.json
// holds the oracle's ids (node reference.mjs tokenize --vocab GGUF --texts texts.json
// --parse-special; items may turn parse_special off).

const smolLM2File = "SmolLM2-135M-Instruct.Q4_1.gguf"

// smolLM2Path finds the real GGUF: $ZOOMR_SMOLLM2_GGUF, or where `go run ./examples/fetch-model
// smollm2` puts it (the user cache's zoomr/models folder, directly or in a subfolder).
func smolLM2Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ZOOMR_SMOLLM2_GGUF"); p != "" {
		return p
	}
	if cache, err := os.UserCacheDir(); err == nil {
		models := filepath.Join(cache, "zoomr", "models")
		for _, pattern := range []string{smolLM2File, "*/" + smolLM2File} {
			if m, _ := filepath.Glob(filepath.Join(models, pattern)); len(m) > 0 {
				return m[0]
			}
		}
	}
	t.Skipf("%s not found: run `go run ./examples/fetch-model smollm2` or set ZOOMR_SMOLLM2_GGUF", smolLM2File)
	return ""
}

const smolLM2Dir = testdataDir + "/smollm2"

func TestSmolLM2MatchesLlamaCpp(t *testing.T) {
	path := smolLM2Path(t)
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	g := readDiffGolden(t, filepath.Join(smolLM2Dir, "llama.cpp.json"))
	pass := 0
	for i, it := range g.Items {
		ps := it.ParseSpecial == nil || *it.ParseSpecial // the corpus was tokenized with --parse-special
		got, err := tok.EncodeWith(it.Text, Options{ParseSpecial: ps})
		if err != nil {
			t.Errorf("item %d: %v", i, err)
			continue
		}
		if !slices.Equal(got, it.IDs) {
			t.Errorf("item %d (parse_special=%v) %.60q:\n got %v\nwant %v", i, ps, it.Text, got, it.IDs)
			continue
		}
		pass++
	}
	t.Logf("%d/%d texts match llama.cpp", pass, len(g.Items))
	if tok.BOS() != 1 || tok.EOS() != 2 || tok.AddBOS() {
		t.Errorf("BOS %d EOS %d add-BOS %v, llama.cpp says 1, 2, false", tok.BOS(), tok.EOS(), tok.AddBOS())
	}
}

// TestSmolLM2Oracle asks llama.cpp again and requires the committed ids to be identical.
func TestSmolLM2Oracle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs llama.cpp")
	}
	path := smolLM2Path(t)
	oracle.SkipUnlessAvailable(t)
	texts, err := filepath.Abs(filepath.Join(smolLM2Dir, "texts.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "ids.json")
	if _, err := oracle.Run(context.Background(), "reference.mjs", "tokenize", "--vocab", path,
		"--texts", texts, "--parse-special", "--out", out); err != nil {
		t.Fatal(err)
	}
	want := readDiffGolden(t, filepath.Join(smolLM2Dir, "llama.cpp.json"))
	got := readDiffGolden(t, out)
	if len(got.Items) != len(want.Items) {
		t.Fatalf("%d items, committed %d", len(got.Items), len(want.Items))
	}
	for i := range got.Items {
		if !slices.Equal(got.Items[i].IDs, want.Items[i].IDs) {
			t.Errorf("item %d: llama.cpp now gives %v, committed %v", i, got.Items[i].IDs, want.Items[i].IDs)
		}
	}
}
