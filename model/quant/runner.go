package quant

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Runner multiplies activations by weight matrices on up to Threads goroutines: the caller's own
// and Threads-1 helpers. Calls on one Runner are serialized (each already uses every thread); they
// may come from any goroutine. The helpers spin briefly after each product, because a decode step
// issues the next one within microseconds and waking a parked goroutine costs more than that, then
// park, and exit after 100 ms without work (so no goroutine outlives its use for long: goleak's
// default wait of about 0.4 s sees none).
//
// Why not one goroutine per part and a WaitGroup: starting goroutines allocates and their wake-up
// latency (tens of µs through the scheduler) is a sizeable share of a 0.1 ms matrix-vector product.
type Runner struct {
	threads int

	mu    sync.Mutex // serializes calls; guards batch and job while a call runs
	batch actBatch
	job   job

	gen    atomic.Uint64 // odd while a job is open to helpers
	active atomic.Int32  // helpers inside the open job
	live   atomic.Int32  // helper goroutines alive
	parked atomic.Int32  // helpers blocked on wake
	wake   chan struct{}
}

// job is one product split into chunks of weight rows; participants claim chunks from next.
type job struct {
	kernel   rowsKernel
	kernel4  rowsKernel4 // nil: kernel per activation row
	w        Matrix
	rowBytes int
	batch    *actBatch
	y        []float32
	n        int // activation rows
	chunk    int // weight rows per chunk
	tile     int // weight rows per tile: a tile is multiplied by all n activations while in cache
	chunks   int
	next     atomic.Int64
}

const (
	// chunkBytes is the weight bytes per chunk: small enough to balance two busy cores, large
	// enough that the two rows the kernels read at once (one from each half of the chunk, see
	// kernels_amd64.s) are in different pages, which the prefetchers need to stream both.
	chunkBytes = 256 << 10
	// tileBytes is the weight bytes per tile when n > 1: a tile is read from memory once and
	// from cache for the other n-1 activation rows.
	tileBytes = 32 << 10
	// f32TileBytes is the tile of F32 weights for n ≤ 8 activation rows, at least two weight rows
	// (the four-row kernels take them in pairs). Measured on a 151,936 × 256
	// F32 product, one thread, wall time, best of 5 under other load: n=8 took 14.6 ms with 4 KB
	// tiles and 32.5 ms with 32 KB ones (the second group of four re-read the tile at about the
	// cost of the first); from n=16 on 32 KB tiles were faster (n=16 25 vs 59 ms), and BF16 showed
	// no gain at n=8.
	f32TileBytes  = 4 << 10
	parallelBytes = 256 << 10 // below this a product runs on the caller alone
	spinFor       = 100 * time.Microsecond
	idleExit      = 100 * time.Millisecond
)

// NewRunner makes a runner with threads goroutines (GOMAXPROCS when threads < 1).
func NewRunner(threads int) *Runner {
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Runner{threads: threads, wake: make(chan struct{}, threads)}
}

// Threads is the number of goroutines a product may use.
func (r *Runner) Threads() int { return r.threads }

var (
	defaultRunnerOnce sync.Once
	defaultRunner     *Runner
)

// DefaultRunner is the runner MatVec and MatMul use: GOMAXPROCS threads at first use.
func DefaultRunner() *Runner {
	defaultRunnerOnce.Do(func() { defaultRunner = NewRunner(0) })
	return defaultRunner
}

// MatVec computes y = w·x for one activation row: x [w.Cols], y [w.Rows]. x is quantized once to
// the weights' activation format, as ggml does (see activation.go).
func MatVec(y []float32, w Matrix, x []float32) error { return DefaultRunner().MatMul(y, w, x, 1) }

// MatMul computes y = x·wᵀ for n activation rows: x [n, w.Cols], y [n, w.Rows], reading the
// weights once for all n rows.
func MatMul(y []float32, w Matrix, x []float32, n int) error {
	return DefaultRunner().MatMul(y, w, x, n)
}

// MatVec is MatMul with n = 1.
func (r *Runner) MatVec(y []float32, w Matrix, x []float32) error { return r.MatMul(y, w, x, 1) }

// MatMul computes y = x·wᵀ: x [n, w.Cols], y [n, w.Rows]. It allocates nothing once its scratch
// has grown to the largest n·Cols seen.
func (r *Runner) MatMul(y []float32, w Matrix, x []float32, n int) error {
	rowBytes, err := w.check()
	if err != nil {
		return err
	}
	kernel := kernelFor(w.Type)
	if kernel == nil {
		return fmt.Errorf("%w: no product kernel for %v weights", ErrType, w.Type)
	}
	if n < 1 || len(x) != n*w.Cols || len(y) != n*w.Rows {
		return fmt.Errorf("%w: %v matrix [%d, %d] times %d rows: x has %d values (want %d), y has %d (want %d)",
			ErrShape, w.Type, w.Rows, w.Cols, n, len(x), n*w.Cols, len(y), n*w.Rows)
	}
	if w.Rows == 0 || w.Cols == 0 {
		clear(y)
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	kind := activationKind(w.Type)
	if w.ExactActivations && (w.Type == F16 || w.Type == BF16) {
		kind = actF32
	}
	r.batch.quantize(kind, x, n, w.Cols)
	j := &r.job
	j.kernel, j.w, j.rowBytes, j.batch, j.y, j.n = kernel, w, rowBytes, &r.batch, y, n
	j.kernel4 = kernels4[w.Type]
	if j.kernel4 != nil && n >= 4 && r.batch.kind == actQ8_K {
		r.batch.interleave4()
	}
	parallel := r.threads > 1 && len(w.Data) >= parallelBytes
	j.split(parallel, r.threads)
	if !parallel {
		j.work()
		return nil
	}
	r.open()
	j.work()
	r.close()
	return nil
}

// split cuts the rows into equal chunks of about chunkBytes, a multiple of threads of them when the
// product runs in parallel (so the last round of chunks keeps every thread busy), and sets the tile.
func (j *job) split(parallel bool, threads int) {
	chunks := max(1, (len(j.w.Data)+chunkBytes-1)/chunkBytes)
	if parallel {
		chunks = (chunks + threads - 1) / threads * threads
	}
	j.chunk = max(1, (j.w.Rows+chunks-1)/chunks)
	j.chunks = (j.w.Rows + j.chunk - 1) / j.chunk
	j.tile = j.chunk
	if j.n > 1 {
		tb, least := tileBytes, 1
		if j.n <= 8 && j.w.Type == F32 {
			tb, least = f32TileBytes, 2
		}
		j.tile = min(j.chunk, max(least, tb/j.rowBytes))
	}
	j.next.Store(0)
}

// work claims and runs chunks until none is left.
func (j *job) work() {
	for {
		c := int(j.next.Add(1) - 1)
		if c >= j.chunks {
			return
		}
		j.runChunk(c)
	}
}

func (j *job) runChunk(c int) {
	rows, rb := j.w.Rows, j.rowBytes
	r1 := min(rows, (c+1)*j.chunk)
	for t0 := c * j.chunk; t0 < r1; t0 += j.tile {
		t1 := min(r1, t0+j.tile)
		w := j.w.Data[t0*rb : t1*rb]
		i := 0
		if j.kernel4 != nil {
			for ; i+4 <= j.n; i += 4 {
				j.kernel4(j.y[i*rows+t0:(i+3)*rows+t1], rows, w, rb, t1-t0, j.batch, i)
			}
		}
		for ; i < j.n; i++ {
			j.kernel(j.y[i*rows+t0:i*rows+t1], w, rb, &j.batch.rows[i])
		}
	}
}

// open publishes r.job to the helpers, starting or waking them as needed.
func (r *Runner) open() {
	r.gen.Add(1) // odd: open
	for live := r.live.Load(); live < int32(r.threads-1); live = r.live.Load() {
		if r.live.CompareAndSwap(live, live+1) {
			go r.helper()
		}
	}
	for range r.parked.Load() {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// close withdraws the job and waits for the helpers inside it to leave. It spins rather than
// yields (see spin): a helper inside the job is running its last chunk on another processor.
func (r *Runner) close() {
	r.gen.Add(1) // even: closed
	for r.active.Load() != 0 {
	}
}

// helper joins every job it sees open: spinning for spinFor after each, then parked until woken,
// and gone after idleExit without work.
func (r *Runner) helper() {
	defer r.live.Add(-1)
	var seen uint64
	timer := time.NewTimer(idleExit)
	defer timer.Stop()
	for {
		if r.joinOpen(&seen) {
			continue
		}
		if r.spin(seen) {
			continue
		}
		r.parked.Add(1)
		if g := r.gen.Load(); g&1 == 1 && g != seen { // opened while we were about to park
			r.parked.Add(-1)
			continue
		}
		timer.Reset(idleExit)
		select {
		case <-r.wake:
			r.parked.Add(-1)
		case <-timer.C:
			r.parked.Add(-1)
			return
		}
	}
}

// joinOpen works on the open job if there is one not yet seen; it reports whether it did.
func (r *Runner) joinOpen(seen *uint64) bool {
	g := r.gen.Load()
	if g&1 == 0 || g == *seen {
		return false
	}
	*seen = g
	r.active.Add(1)
	if r.gen.Load() == g { // still open: close() will wait for us
		r.job.work()
	}
	r.active.Add(-1)
	return true
}

// spin waits up to spinFor for a new job; it reports whether one opened. It does not yield: a
// goroutine that calls runtime.Gosched goes to the global run queue, where the caller's processor
// may pick it up, and no idle processor is woken for it, so helper and caller can end up taking
// turns on one processor while the other sleeps (seen: products on two threads running at
// one-thread speed for hundreds of calls in a row). Parking on the wake channel does wake one.
func (r *Runner) spin(seen uint64) bool {
	deadline := time.Now().Add(spinFor)
	for i := 0; ; i++ {
		if g := r.gen.Load(); g&1 == 1 && g != seen {
			return true
		}
		if i%64 == 63 && time.Now().After(deadline) {
			return false
		}
	}
}
