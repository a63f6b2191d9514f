package model

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Memory at file size: a 4-token generation on the host engine, in a fresh process, peaks at most
// 1.15 × the weights file + 200 MiB of resident memory (VmHWM), for a Q8_0 GGUF (the blocks stay in
// the file's mapping) and for a BF16 safetensors checkpoint (read once into buffers of the stored
// size, never widened). The model has ~0.25B parameters: llama, hidden 1024, 16 layers, 16/4 heads,
// SwiGLU 2816, vocabulary 32,000, untied.
var memorySpec = RandomSpec{Arch: "llama", VocabSize: 32000, Hidden: 1024, Layers: 16, Heads: 16, KVHeads: 4,
	Intermediate: 2816, Seed: 250}

const memoryChildEnv = "ZOOMR_MEMORY_CHILD_MODEL"

func TestPeakRSSAtFileSize(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: writes a 0.25B-parameter model three times (~2 GB)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads VmHWM from /proc/self/status")
	}
	hf := t.TempDir()
	cfg, err := WriteRandom(hf, memorySpec)
	require.NoError(t, err)
	params := 0
	for _, s := range cfg.ExpectedTensors() {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		params += n
	}
	t.Logf("model: %.1fM parameters", float64(params)/1e6)

	q8 := filepath.Join(t.TempDir(), "m-q8_0.gguf")
	ft, err := ParseGGUFFileType("q8_0")
	require.NoError(t, err)
	_, err = WriteGGUF(hf, q8, GGUFWriteOptions{Type: ft, Vocab: writeTinyVocab(t, memorySpec.VocabSize-3)})
	require.NoError(t, err)
	bf16 := t.TempDir()
	writeBF16Copy(t, hf, bf16, cfg)
	require.NoError(t, os.Remove(filepath.Join(hf, "model.safetensors"))) // only the two under test stay

	for _, tc := range []struct{ name, path, file string }{
		{"q8_0 gguf", q8, q8},
		{"bf16 safetensors", bf16, filepath.Join(bf16, "model.safetensors")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := os.Stat(tc.file)
			require.NoError(t, err)
			hwm, rss := childPeakRSS(t, tc.path)
			limit := int64(1.15*float64(info.Size())) + 200<<20
			t.Logf("file %.1f MiB, peak RSS %.1f MiB (%.3f× the file; RSS after %.1f MiB), bound 1.15× + 200 MiB = %.1f MiB",
				mib(info.Size()), mib(hwm), float64(hwm)/float64(info.Size()), mib(rss), mib(limit))
			require.LessOrEqual(t, hwm, limit)
		})
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// writeBF16Copy writes src's F32 checkpoint as BF16 safetensors into dst, tensor by tensor.
func writeBF16Copy(t *testing.T, src, dst string, cfg *Config) {
	t.Helper()
	f, err := OpenSafetensors(filepath.Join(src, "model.safetensors"))
	require.NoError(t, err)
	defer f.Close()
	var list []NamedTensor
	for _, s := range cfg.ExpectedTensors() {
		vals := make([]float32, f.Tensors[s.Name].NumElements())
		require.NoError(t, f.ReadFloat32(s.Name, vals))
		list = append(list, NamedTensor{Name: s.Name, Shape: s.Shape, Data: vals})
	}
	require.NoError(t, WriteSafetensors(filepath.Join(dst, "model.safetensors"), list, true))
	b, err := os.ReadFile(filepath.Join(src, "config.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dst, "config.json"), b, 0o644))
}

// childPeakRSS runs TestPeakRSSChild in a fresh process on the model at path and returns its VmHWM
// and final VmRSS in bytes.
func childPeakRSS(t *testing.T, path string) (hwm, rss int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSSChild$", "-test.v")
	cmd.Env = append(os.Environ(), memoryChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for line := range strings.SplitSeq(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "peak-rss "); ok {
			_, err := fmt.Sscan(v, &hwm, &rss)
			require.NoError(t, err)
			return hwm, rss
		}
	}
	t.Fatalf("child printed no peak-rss line:\n%s", out)
	return 0, 0
}

// TestPeakRSSChild is the child of TestPeakRSSAtFileSize: load, generate 4 tokens, print VmHWM.
func TestPeakRSSChild(t *testing.T) {
	path := os.Getenv(memoryChildEnv)
	if path == "" {
		t.Skip("run by TestPeakRSSAtFileSize")
	}
	m, err := Load(context.Background(), path, WithEngine(EngineHost))
	require.NoError(t, err)
	defer m.Close()
	_, err = m.GenerateGreedy(context.Background(), []int{1, 450, 4996, 17354, 1701, 29916, 432, 975}, 4)
	require.NoError(t, err)
	fmt.Printf("peak-rss %d %d\n", procStatusBytes(t, "VmHWM"), procStatusBytes(t, "VmRSS"))
}

// procStatusBytes reads a "kB" field of /proc/self/status.
func procStatusBytes(t *testing.T, field string) int64 {
	f, err := os.Open("/proc/self/status")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
