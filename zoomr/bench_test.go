package zoomr_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/zoomr-go/zoomr/internal/benchmodels"
	"github.com/zoomr-go/zoomr/model"
	"github.com/zoomr-go/zoomr/zoomr"
)

// BenchmarkGenerate decodes 512 tokens of the random d=512 benchmark model under each policy (the same
// measurement examples/bench makes at longer lengths) and reports tokens/s and the peak resident KV.
func BenchmarkGenerate(b *testing.B) {
	dir, err := benchmodels.Materialize(benchmodels.Random512)
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.Load(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []string{zoomr.PolicyFull, zoomr.PolicyZoomR} {
		b.Run(fmt.Sprintf("policy=%s", p), func(b *testing.B) {
			d, err := zoomr.New(m, nil, zoomr.Config{Policy: p, Segmenter: zoomr.SegmentParagraph, MaxThoughtLen: 128,
				ParagraphTail: 8, MaxTokens: 512, IgnoreEOS: true, Window: 128, SummaryCap: 128, ZoomSlotLen: 128})
			if err != nil {
				b.Fatal(err)
			}
			var st zoomr.Stats
			for b.Loop() {
				_, st, err = d.Run(context.Background(), []int{1, 450, 4996, 17354, 1701, 29916, 432, 975})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(st.TokensPerSecond, "tokens/s")
			b.ReportMetric(float64(st.PeakResidentBytes), "resident-bytes")
			b.ReportMetric(st.OverheadSeconds/st.DecodeSeconds, "overhead-share")
		})
	}
}
