package kvcache

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Test tokens encode their position: K value i (of L*KVH*D) of position p is p*stride + i and the
// V value is its negative, so a slot's content names its position and any misplaced value shows.
// Values stay exact in bfloat16 while p*stride + i < 256.

func stride(l Layout) int { return l.TokenElems() }

func fakeToken(l Layout, pos int) (k, v []float32) {
	s := stride(l)
	k, v = make([]float32, s), make([]float32, s)
	for i := range k {
		k[i] = float32(pos*s + i)
		v[i] = -k[i]
	}
	return k, v
}

// fakeChunk is positions [pos, pos+n) in the prompt layout [L, KVH, n, D].
func fakeChunk(l Layout, pos, n int) (k, v []float32) {
	s, d := stride(l), l.HeadDim
	k, v = make([]float32, s*n), make([]float32, s*n)
	for lh := 0; lh < l.Layers*l.KVHeads; lh++ {
		for i := range n {
			for j := range d {
				x := float32((pos+i)*s + lh*d + j)
				k[(lh*n+i)*d+j], v[(lh*n+i)*d+j] = x, -x
			}
		}
	}
	return k, v
}

func flatF32(t testing.TB, x *tensors.Tensor) []float32 {
	t.Helper()
	var out []float32
	err := x.ConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			out = slices.Clone(f)
		case []bfloat16.BFloat16:
			out = make([]float32, len(f))
			for i, b := range f {
				out[i] = b.Float32()
			}
		default:
			t.Fatalf("unexpected flat type %T", flat)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// slotView reads a context back: the position held by every attended slot (-1 if masked), checking
// that all its K and V values, in every layer and head, are those of that position.
func slotView(t testing.TB, l Layout, ctx Context) []int {
	t.Helper()
	c := ctx.Capacity()
	mask := flatF32(t, ctx.Mask)
	ks, vs := make([][]float32, l.Layers), make([][]float32, l.Layers)
	for i := range l.Layers {
		ks[i], vs[i] = flatF32(t, ctx.K[i]), flatF32(t, ctx.V[i])
		if got, want := ctx.K[i].Shape().Dimensions, []int{l.KVHeads, c, l.HeadDim}; !slices.Equal(got, want) {
			t.Fatalf("K[%d] shape %v, want %v", i, got, want)
		}
		if got, want := ctx.V[i].Shape().Dimensions, []int{l.KVHeads, l.HeadDim, c}; !slices.Equal(got, want) {
			t.Fatalf("V[%d] shape %v, want %v", i, got, want)
		}
	}
	s, d := stride(l), l.HeadDim
	pos := make([]int, c)
	for slot := range c {
		switch mask[slot] {
		case 0:
			pos[slot] = -1
			continue
		case 1:
		default:
			t.Fatalf("mask[%d] = %v, want 0 or 1", slot, mask[slot])
		}
		p := int(ks[0][slot*d]) / s
		pos[slot] = p
		for li := range l.Layers {
			for h := range l.KVHeads {
				for j := range d {
					want := float32(p*s + (li*l.KVHeads+h)*d + j)
					if k := ks[li][(h*c+slot)*d+j]; k != want {
						t.Fatalf("slot %d (pos %d): K[l=%d,h=%d,d=%d] = %v, want %v", slot, p, li, h, j, k, want)
					}
					if v := vs[li][(h*d+j)*c+slot]; v != -want {
						t.Fatalf("slot %d (pos %d): V[l=%d,h=%d,d=%d] = %v, want %v", slot, p, li, h, j, v, -want)
					}
				}
			}
		}
	}
	return pos
}

type regioner interface{ regions() []region }

// grid renders the context one region a line: the position of each slot, "." if masked.
func grid(t testing.TB, c Cache) string {
	t.Helper()
	pos := slotView(t, c.Layout(), c.Context())
	var b strings.Builder
	for _, r := range c.(regioner).regions() {
		if r.n == 0 {
			continue
		}
		b.WriteString(r.name + ":")
		for _, p := range pos[r.off : r.off+r.n] {
			if p < 0 {
				b.WriteString(" .")
			} else {
				fmt.Fprintf(&b, " %d", p)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// normGrid trims the indentation of a literal grid.
func normGrid(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		b.WriteString(strings.Join(strings.Fields(line), " ") + "\n")
	}
	return b.String()
}

// attended is the sorted list of attended positions.
func attended(t testing.TB, c Cache) []int {
	t.Helper()
	var out []int
	for _, p := range slotView(t, c.Layout(), c.Context()) {
		if p >= 0 {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// script drives a cache with a tiny language, one op per word group separated by ';':
//
//	prompt N   append N prompt tokens       gen N     append N generated tokens
//	begin      BeginSummary                 seal      Seal
//	sealw T    SealWithoutSummary(T)        zoom a b  Zoom([a b]) ("zoom" alone: zoom nothing)
func script(t testing.TB, c Cache, ops string) {
	t.Helper()
	for _, op := range strings.Split(ops, ";") {
		f := strings.Fields(op)
		if len(f) == 0 {
			continue
		}
		var arg int
		if len(f) > 1 {
			fmt.Sscan(f[1], &arg)
		}
		var err error
		switch f[0] {
		case "prompt":
			k, v := fakeChunk(c.Layout(), c.Len(), arg)
			err = c.AppendPrompt(k, v, arg)
		case "gen":
			for range arg {
				k, v := fakeToken(c.Layout(), c.Len())
				if err = c.Append(c.Len(), k, v); err != nil {
					break
				}
			}
		case "begin":
			err = c.BeginSummary()
		case "seal":
			_, err = c.Seal()
		case "sealw":
			_, err = c.SealWithoutSummary(arg)
		case "zoom":
			var ids []ThoughtID
			for _, s := range f[1:] {
				var id int
				fmt.Sscan(s, &id)
				ids = append(ids, ThoughtID(id))
			}
			err = c.Zoom(ids)
		default:
			t.Fatalf("unknown op %q", op)
		}
		if err != nil {
			t.Fatalf("op %q: %v", op, err)
		}
	}
}
