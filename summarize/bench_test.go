package summarize

import "testing"

// BenchmarkSummarySegmenter: per-token cost of the protocol state machine on a clean stream of
// 100-token thoughts with 10-token summaries.
func BenchmarkSummarySegmenter(b *testing.B) {
	var stream []int
	for range 10 {
		for i := range 100 {
			stream = append(stream, 200+i)
		}
		stream = append(stream, B, 1, 2, 3, 4, 5, 6, 7, 8, E)
	}
	seg, _ := NewSummarySegmenter(testMarkers, Config{Reselect: Reselect{SentenceEnds: []int{P, 300, 301}}})
	b.ReportAllocs()
	for b.Loop() {
		seg.Reset()
		for _, tok := range stream {
			seg.Observe(tok)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(stream)), "ns/token")
}
