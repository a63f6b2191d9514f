package kvcache

import "github.com/gomlx/gomlx/backends"

// inPlaceUpdater applies a deviceSlots' pending edits to its buffers truly in place, where a
// backend allows it. GoMLX (v0.26) compiles graphs without input/output aliasing, so its update
// graph (updateGraph), though handed donated buffers, writes a new copy of every buffer: a step's
// one-row edit costs a copy of the whole active context (measured on XLA CPU, 8 layers × 2 KV heads
// × 64: 3 ms at 1,024 slots, 29 ms at 16,384). The XLA updater (device_inplace_xla.go, -tags xla)
// compiles the same update as a StableHLO program whose buffers alias its outputs, so only the
// written rows are touched (15 µs at any capacity).
type inPlaceUpdater interface {
	// apply runs the edits p on s's buffers and replaces them with the results. ok is false (and
	// nothing changed) when s's buffers are not ones it can update; the caller then uses the graph.
	apply(s *deviceSlots, p pendingEdits) (ok bool, err error)
	// applySplit is apply for a context split across devices (NewShardedBackendSlots).
	applySplit(s *splitSlots, p pendingEdits) (ok bool, err error)
}

// newInPlaceUpdater returns the backend's in-place updater, or nil: the default build has none.
var newInPlaceUpdater = func(backends.Backend) inPlaceUpdater { return nil }
