package zoomr

import (
	"fmt"

	"github.com/zoomr-go/zoomr/kvcache"
)

// cacheConfig is the ZoomR cache the config describes for a prompt of promptLen tokens: what every
// registered policy is built from (bounded ones split its budget their own way).
func (c Config) cacheConfig(layout kvcache.Layout, promptLen int) kvcache.Config {
	return kvcache.Config{Layout: layout, Sinks: c.Sinks, Window: c.Window, SummaryCap: c.SummaryCap,
		ZoomSlots: c.Zoom, ZoomSlotLen: c.ZoomSlotLen, PromptLen: promptLen}
}

// ResidentBudget is the active-context budget every bounded policy gets for a prompt of promptLen
// tokens: the ZoomR cache's (sink + summary region + zoom slots + window), in slots and bytes.
func (c Config) ResidentBudget(layout kvcache.Layout, promptLen int) (kvcache.Budget, error) {
	c = c.withDefaults()
	b, err := c.cacheConfig(layout, promptLen).Budget(promptLen)
	if err != nil {
		return b, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return b, nil
}

// newCache builds the session's cache: Config.NewCache, or the registered policy.
func (c Config) newCache(layout kvcache.Layout, promptLen int, slots kvcache.SlotsFactory) (kvcache.Cache, error) {
	cc := c.cacheConfig(layout, promptLen)
	cc.NewSlots = slots
	var cache kvcache.Cache
	var err error
	if c.NewCache != nil {
		cache, err = c.NewCache(cc)
	} else {
		cache, err = kvcache.New(c.Policy, cc)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s cache: %w", ErrConfig, c.Policy, err)
	}
	if cache == nil {
		return nil, fmt.Errorf("%w: NewCache returned no cache", ErrConfig)
	}
	return cache, nil
}
