package tokenizer

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zoomr-go/zoomr/internal/oracle"
)

// Differential test against llama.cpp's tokenizer on texts of our making
// (testdata/tokenizer/difftest/texts.json: code, numbers, CJK, emoji, whitespace runs, special
// tokens with parse_special on and off). The goldens are the oracle's output, committed; one test
// checks them always, another regenerates them with node and fails on any difference.

var updateGoldens = flag.Bool("update", false, "rewrite the tokenizer goldens from the llama.cpp oracle")

const difftestDir = testdataDir + "/difftest"

// diffVocabs pairs each oracle vocabulary with the files of ours that must reproduce it.
var diffVocabs = []struct {
	name string
	srcs []vocabSource
}{
	{"qwen3", []vocabSource{srcQwen3JSON}},
	{"llama-bpe", []vocabSource{srcLlama3JSON, srcBPEGGUF}},
	{"llama-spm", []vocabSource{srcSPMGGUF}},
}

type diffItem struct {
	Text         string `json:"text"`
	ParseSpecial *bool  `json:"parse_special,omitempty"`
	IDs          []int  `json:"ids"`
}

type diffGolden struct {
	Format string     `json:"format"`
	Items  []diffItem `json:"items"`
}

func readDiffGolden(t testing.TB, path string) diffGolden {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate: go test ./model/tokenizer -run TestDifferentialOracle -update)", err)
	}
	var g diffGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if g.Format != "zoomr-oracle-tokens/1" || len(g.Items) == 0 {
		t.Fatalf("%s: format %q with %d items", path, g.Format, len(g.Items))
	}
	return g
}

func TestDifferentialGoldens(t *testing.T) {
	for _, v := range diffVocabs {
		g := readDiffGolden(t, filepath.Join(difftestDir, v.name+".json"))
		for _, src := range v.srcs {
			t.Run(v.name+"/"+filepath.Base(src.path), func(t *testing.T) {
				tok := loadVocab(t, src)
				pass := 0
				for i, it := range g.Items {
					ps := it.ParseSpecial != nil && *it.ParseSpecial
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
			})
		}
	}
}

// TestDifferentialOracle asks llama.cpp again and requires the committed goldens to be identical
// (with -update it rewrites them instead).
func TestDifferentialOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: llama.cpp loads 150k-token vocabularies (~15 s each)")
	}
	oracle.SkipUnlessAvailable(t)
	texts, err := filepath.Abs(filepath.Join(difftestDir, "texts.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range diffVocabs {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), v.name+".json")
			if _, err := oracle.Run(context.Background(), "reference.mjs", "tokenize", "--vocab", v.name,
				"--texts", texts, "--out", out); err != nil {
				t.Fatal(err)
			}
			goldenPath := filepath.Join(difftestDir, v.name+".json")
			if *updateGoldens {
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(goldenPath, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			fresh, committed := readDiffGolden(t, out), readDiffGolden(t, goldenPath)
			if len(fresh.Items) != len(committed.Items) {
				t.Fatalf("oracle gave %d items, golden has %d (texts.json changed? run with -update)", len(fresh.Items), len(committed.Items))
			}
			for i := range fresh.Items {
				f, c := fresh.Items[i], committed.Items[i]
				if f.Text != c.Text || !slices.Equal(f.IDs, c.IDs) {
					t.Errorf("item %d differs from the golden:\noracle %v\ngolden %v", i, f.IDs, c.IDs)
				}
			}
		})
	}
}
