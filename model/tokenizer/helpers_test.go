package tokenizer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/zoomr-go/zoomr/internal/oracle"
	"github.com/zoomr-go/zoomr/model/gguf"
)

// Test fixtures: small ones are committed under <repo>/testdata/tokenizer; the large real
// vocabularies (tokenizer.json of Qwen3 and Llama 3, BPE vocab GGUFs, several MB each) are read
// from the shared folder beside the repository, and tests that need them skip when it is absent.

const testdataDir = "../../testdata/tokenizer"

// sharedDir is $ZOOMR_SHARED or <repo>/../shared.
func sharedDir() string {
	if d := os.Getenv("ZOOMR_SHARED"); d != "" {
		return d
	}
	if d, err := oracle.Dir(); err == nil {
		return filepath.Dir(d)
	}
	return filepath.Join("..", "..", "..", "shared")
}

// vocabSource names a real vocabulary and where to find it.
type vocabSource struct {
	name   string // oracle vocabulary name (reference.mjs --vocab)
	path   string // tokenizer.json or GGUF
	shared bool   // path is relative to the shared folder (else to testdataDir)
}

func (v vocabSource) file() string {
	if v.shared {
		return filepath.Join(sharedDir(), v.path)
	}
	return filepath.Join(testdataDir, v.path)
}

var (
	srcQwen3JSON  = vocabSource{"qwen3", "tokenizers/qwen3/tokenizer.json", true}
	srcLlama3JSON = vocabSource{"llama-bpe", "tokenizers/llama3/tokenizer.json", true}
	srcSPMGGUF    = vocabSource{"llama-spm", "ggml-vocab-llama-spm.gguf", false}
	srcQwen2GGUF  = vocabSource{"qwen2", "oracle/vocab/ggml-vocab-qwen2.gguf", true}
	srcBPEGGUF    = vocabSource{"llama-bpe", "oracle/vocab/ggml-vocab-llama-bpe.gguf", true}
)

var (
	loadedMu sync.Mutex
	loaded   = map[string]*Tokenizer{}
)

// loadVocab loads (once per test binary) a vocabulary, skipping the test when it is not present.
// Callers must not add tokens to the shared instance.
func loadVocab(t testing.TB, src vocabSource) *Tokenizer {
	t.Helper()
	p := src.file()
	if _, err := os.Stat(p); err != nil {
		t.Skipf("vocabulary %s not available at %s (set ZOOMR_SHARED to the shared folder): %v", src.name, p, err)
	}
	loadedMu.Lock()
	defer loadedMu.Unlock()
	if tok, ok := loaded[p]; ok {
		return tok
	}
	tok, err := Load(p)
	if err != nil {
		t.Fatalf("Load(%s): %v", p, err)
	}
	loaded[p] = tok
	return tok
}

// readInp splits llama.cpp's tokenizer test input exactly like tests/test-tokenizer-0.cpp (and
// the oracle's readInp): cases are separated by "\n__ggml_vocab_test__\n".
func readInp(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	raw := string(b)
	var out []string
	for pos := 0; pos < len(raw); {
		i := strings.Index(raw[pos:], sep)
		if i < 0 {
			out = append(out, raw[pos:])
			break
		}
		out = append(out, raw[pos:pos+i])
		pos += i + len(sep)
	}
	return out
}

// readOut parses the expected ids: one line per case, " id id id".
func readOut(t testing.TB, path string) [][]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	lines = lines[:len(lines)-1]
	out := make([][]int, len(lines))
	for i, l := range lines {
		out[i] = []int{}
		for _, f := range strings.Fields(l) {
			id, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s line %d: %v", path, i+1, err)
			}
			out[i] = append(out[i], id)
		}
	}
	return out
}

// ggufKV is one metadata entry for writeTestGGUF: value is string, bool, uint32, int32, float32,
// []string, []int32 or []float32.
type ggufKV struct {
	key   string
	value any
}

// writeTestGGUF encodes a GGUF v3 file with the given metadata and no tensors.
func writeTestGGUF(kvs []ggufKV) []byte {
	out := make([]gguf.KV, len(kvs))
	for i, kv := range kvs {
		var v gguf.Value
		switch x := kv.value.(type) {
		case string:
			v = gguf.String(x)
		case bool:
			v = gguf.Bool(x)
		case uint32:
			v = gguf.Uint32(x)
		case int32:
			v = gguf.Int32(x)
		case float32:
			v = gguf.Float32(x)
		case []string:
			v = gguf.Strings(x)
		case []int32:
			v = gguf.Int32s(x)
		case []float32:
			v = gguf.Float32s(x)
		default:
			panic(fmt.Sprintf("writeTestGGUF: unsupported %T", x))
		}
		out[i] = gguf.KV{Key: kv.key, Value: v}
	}
	var b bytes.Buffer
	if err := gguf.Write(&b, out, nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// writeTemp writes data to a file in a test temp dir and returns its path.
func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
