package zoomr

import (
	"fmt"

	"github.com/zoomr-go/zoomr/kvcache"
)

// zoomrCacheConfig is the ZoomR cache the config describes.
func (c Config) zoomrCacheConfig(layout kvcache.Layout) kvcache.Config {
	return kvcache.Config{Layout: layout, Sinks: c.Sinks, Window: c.Window, SummaryCap: c.SummaryCap,
		ZoomSlots: c.Zoom, ZoomSlotLen: c.ZoomSlotLen}
}

// ResidentBudget is the active-context budget every bounded policy gets for a prompt of promptLen
// tokens: the ZoomR cache's (sink + summary region + zoom slots + window), in slots and bytes.
func (c Config) ResidentBudget(layout kvcache.Layout, promptLen int) (kvcache.Budget, error) {
	c = c.withDefaults()
	b, err := c.zoomrCacheConfig(layout).Budget(promptLen)
	if err != nil {
		return b, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return b, nil
}

// newCache builds the session's cache. Baselines get the same number of resident slots as ZoomR would
// (matched budgets, as in the paper's comparison): SumR turns the zoom slots into window, StreamingLLM
// keeps the prompt as sinks and turns everything else into window, H2O splits the whole budget into
// heavy hitters and the same recent window.
func (c Config) newCache(layout kvcache.Layout, promptLen int) (kvcache.Cache, error) {
	if c.NewCache != nil {
		return c.NewCache(layout, promptLen)
	}
	zc := c.zoomrCacheConfig(layout)
	budget, err := zc.Budget(promptLen)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	sinks := c.Sinks
	if sinks == 0 {
		sinks = promptLen
	}
	var cache kvcache.Cache
	switch c.Policy {
	case PolicyZoomR:
		cache, err = kvcache.NewZoomR(zc)
	case PolicyFull:
		cache, err = kvcache.NewFull(kvcache.FullConfig{Layout: layout})
	case PolicySumR:
		cache, err = kvcache.NewSumR(kvcache.SumRConfig{Layout: layout, Sinks: c.Sinks, Window: budget.Window + budget.Zoom,
			SummaryCap: budget.Summary})
	case PolicyStreaming:
		cache, err = kvcache.NewStreamingLLM(kvcache.StreamingConfig{Layout: layout, Sinks: sinks,
			Window: budget.Tokens - sinks})
	case PolicyH2O:
		cache, err = kvcache.NewH2O(kvcache.H2OConfig{Layout: layout, Heavy: budget.Tokens - budget.Window,
			Window: budget.Window})
	default:
		return nil, fmt.Errorf("%w: Policy %q", ErrConfig, c.Policy)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s cache: %w", ErrConfig, c.Policy, err)
	}
	return cache, nil
}
