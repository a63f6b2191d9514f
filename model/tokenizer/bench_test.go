package tokenizer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Encoding throughput on a deterministic ~1 MB text: prose over a Zipf-distributed vocabulary of
// real and made-up words (so that there are many distinct words, as in real corpora), with code,
// numbers, CJK and emoji mixed in. "cold" clears the word cache before each pass (comparable with
// llama.cpp, which has none); "warm" keeps it.
//
// The same text can be written to a file for llama.cpp's measurement:
//
//	ZOOMR_TOKENIZER_BENCH_TEXT=/tmp/bench.txt go test ./model/tokenizer -run TestWriteBenchText
//	node testdata/tokenizer/bench/llamacpp_tokenize.mjs --text /tmp/bench.txt --vocab qwen3

const benchTextSize = 1 << 20

var (
	benchTextOnce sync.Once
	benchTextData string
)

func benchText() string {
	benchTextOnce.Do(func() { benchTextData = makeBenchText(benchTextSize) })
	return benchTextData
}

func makeBenchText(size int) string {
	r := rand.New(rand.NewPCG(2024, 11))
	common := strings.Fields(`the of and to a in is that it for as was with be by on not he this are or his
		from at which but have an they you were her she there been one all we their has would when if so no
		what up out who said more will them some could time into only do my than first new like then
		model token attention memory summary thought reasoning cache layer head query key value answer
		because however therefore result number example question problem step compute check again`)
	syllables := strings.Fields("ka ri to mel an ber sta ion ex pro con de ver tra lin qua zo ple ment ic al ous ing er")
	var vocab []string
	vocab = append(vocab, common...)
	for len(vocab) < 4000 {
		n := 1 + r.IntN(4)
		var w strings.Builder
		for range n {
			w.WriteString(syllables[r.IntN(len(syllables))])
		}
		vocab = append(vocab, w.String())
	}
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	extras := []string{
		"\n\n```go\nfunc (c *Cache) Append(pos int, k, v []float32) error {\n\tif pos < 0 {\n\t\treturn fmt.Errorf(\"bad pos %d\", pos)\n\t}\n\treturn nil\n}\n```\n\n",
		"\n    for i in range(len(xs)):\n        total += xs[i] * 2  # double\n",
		" 日本語のテキストと中文文本。 ",
		" 👍🏽 🇫🇷 😀 ",
		" Привет, мир! ",
		"\t\t",
		"   ",
		"\r\n",
	}
	var b strings.Builder
	for b.Len() < size {
		// a sentence
		n := 5 + r.IntN(20)
		for i := range n {
			w := vocab[zipf.Uint64()]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			} else {
				b.WriteByte(' ')
			}
			b.WriteString(w)
			switch r.IntN(40) {
			case 0:
				b.WriteString(",")
			case 1:
				b.WriteString("'s")
			case 2:
				b.WriteString(" " + strings.Repeat("1234567890", 2)[r.IntN(10):][:1+r.IntN(8)])
			}
		}
		b.WriteString([]string{".", "!", "?", ".", "."}[r.IntN(5)])
		switch r.IntN(12) {
		case 0:
			b.WriteString("\n\n")
		case 1:
			b.WriteString(extras[r.IntN(len(extras))])
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()[:size-8] + "The end."
}

func TestWriteBenchText(t *testing.T) {
	p := os.Getenv("ZOOMR_TOKENIZER_BENCH_TEXT")
	if p == "" {
		t.Skip("set ZOOMR_TOKENIZER_BENCH_TEXT=path to write the benchmark text there")
	}
	if err := os.WriteFile(p, []byte(benchText()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBenchTextIsDeterministic(t *testing.T) {
	a, b := makeBenchText(1<<14), makeBenchText(1<<14)
	if a != b || len(a) != 1<<14 {
		t.Fatal("benchmark text must be deterministic")
	}
}

func BenchmarkEncode(b *testing.B) {
	text := benchText()
	for _, src := range []vocabSource{srcQwen3JSON, srcLlama3JSON, srcSPMGGUF} {
		for _, warm := range []bool{false, true} {
			name := src.name + "/" + filepath.Base(src.path) + "/cold"
			if warm {
				name = strings.TrimSuffix(name, "cold") + "warm"
			}
			b.Run(name, func(b *testing.B) {
				tok := loadVocab(b, src)
				b.SetBytes(int64(len(text)))
				tokens := 0
				for b.Loop() {
					if !warm {
						tok.resetCaches()
					}
					ids, err := tok.EncodeWith(text, Options{})
					if err != nil {
						b.Fatal(err)
					}
					tokens = len(ids)
				}
				b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	text := benchText()
	tok := loadVocab(b, srcQwen3JSON)
	ids, err := tok.EncodeWith(text, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := tok.Decode(ids); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchTextMatchesLlamaCpp: the 1 MB benchmark text tokenizes exactly as llama.cpp does. The
// committed golden holds llama.cpp's token count and the SHA-256 of its ids joined by ","
// (testdata/tokenizer/bench/llamacpp_tokenize.mjs prints both).
func TestBenchTextMatchesLlamaCpp(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testdataDir, "bench", "llamacpp_ids.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden map[string]struct {
		Bytes     int    `json:"bytes"`
		Tokens    int    `json:"tokens"`
		IDsSHA256 string `json:"ids_sha256"`
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	text := benchText()
	for _, src := range []vocabSource{srcQwen3JSON, srcLlama3JSON, srcBPEGGUF, srcSPMGGUF} {
		t.Run(src.name+"/"+filepath.Base(src.path), func(t *testing.T) {
			g, ok := golden[src.name]
			if !ok || g.Bytes != len(text) {
				t.Fatalf("no golden for %s over %d bytes", src.name, len(text))
			}
			ids, err := loadVocab(t, src).EncodeWith(text, Options{})
			if err != nil {
				t.Fatal(err)
			}
			parts := make([]string, len(ids))
			for i, id := range ids {
				parts[i] = strconv.Itoa(id)
			}
			sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
			if len(ids) != g.Tokens || hex.EncodeToString(sum[:]) != g.IDsSHA256 {
				t.Errorf("%d tokens (llama.cpp %d), ids sha256 %x (llama.cpp %s)", len(ids), g.Tokens, sum, g.IDsSHA256)
			}
		})
	}
}
