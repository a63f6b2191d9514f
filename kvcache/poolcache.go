package kvcache

// PoolCache is a Cache whose only storage is one SlotPool, for policies that are an eviction rule
// (Full, StreamingLLM, H2O, R-KV): it stores every token in the pool with one reference and calls the
// rule's hooks around it. A policy embeds it and adds what its rule needs (ObserveAttention, a Memory
// that names its regions).
type PoolCache struct {
	stream
	pool  *SlotPool
	hooks PoolHooks
}

// PoolHooks is a pool policy's rule.
type PoolHooks struct {
	// Evict runs before the token at position n is stored: drop references here to make room (the
	// pool's bound is the policy's budget). nil: nothing is evicted.
	Evict func(n int) error
	// Stored runs after the token at position n was stored in slot (k is its keys, [L, KVH, D]; do
	// not keep the slice).
	Stored func(n, slot int, k []float32)
	// Reset runs when the cache is Reset, after the pool was emptied.
	Reset func()
}

// NewPoolCache returns an empty cache over pool (which must be empty) with the rule's hooks.
func NewPoolCache(pool *SlotPool, hooks PoolHooks) *PoolCache {
	return &PoolCache{stream: stream{lay: pool.Layout()}, pool: pool, hooks: hooks}
}

// Pool is the cache's slot pool.
func (c *PoolCache) Pool() *SlotPool { return c.pool }

// Prompt is the number of prompt tokens appended.
func (c *PoolCache) Prompt() int { return c.prompt }

func (c *PoolCache) put(k, v []float32) error {
	if c.hooks.Evict != nil {
		if err := c.hooks.Evict(c.n); err != nil {
			return err
		}
	}
	if err := c.pool.Put(c.n, k, v); err != nil {
		return err
	}
	if c.hooks.Stored != nil {
		c.hooks.Stored(c.n, c.pool.SlotOf(c.n), k)
	}
	c.n++
	return nil
}

// AppendPrompt implements Cache.
func (c *PoolCache) AppendPrompt(k, v []float32, n int) error {
	if err := c.checkPrompt(k, v, n); err != nil {
		return err
	}
	return c.lay.eachToken(k, v, n, func(k, v []float32) error {
		c.prompt++
		return c.put(k, v)
	})
}

// Append implements Cache.
func (c *PoolCache) Append(pos int, k, v []float32) error {
	if err := c.checkAppend(pos, k, v); err != nil {
		return err
	}
	c.closed = true
	return c.put(k, v)
}

// Context implements Cache.
func (c *PoolCache) Context() (Context, error) { return c.pool.Context() }

// Memory implements Cache: the pool's accounting, every attended slot counted as Window.
func (c *PoolCache) Memory() Memory {
	m := Memory{Capacity: c.pool.Capacity(), ResidentBytes: c.pool.Bytes(), PeakResidentBytes: c.pool.PeakBytes(),
		MovedBytes: c.pool.Moved(), Tokens: c.n}
	m.Attended.Window = c.pool.Resident()
	return m
}

// Reset implements Cache.
func (c *PoolCache) Reset() {
	c.pool.Reset(c.pool.max)
	c.reset()
	if c.hooks.Reset != nil {
		c.hooks.Reset()
	}
}

// MemoryRecent is Memory for a policy that always keeps the window most recent tokens: its
// attended slots count as Window for those, Heavy for the rest.
func (c *PoolCache) MemoryRecent(window int) Memory {
	m := c.Memory()
	m.Attended.Window = min(c.n, window, c.pool.Resident())
	m.Attended.Heavy = c.pool.Resident() - m.Attended.Window
	return m
}
