package compress

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Memory budget of LimitMemory: the soft limit is the live heap plus an
// eighth of it, plus minHeadroom, and never below MemoryFloor. Most of a
// layer writer's live heap is per-file records and compressor buffers,
// which live to the end; what is allocated and dropped per file fits in
// minHeadroom. (With a quarter, a zstd layer of 100,000 small files peaked
// at 65 MB; with an eighth, at 60 MB, for about 3% more CPU time.)
const (
	MemoryFloor = 44 << 20
	minHeadroom = 8 << 20
)

// LimitMemory keeps the process's memory close to what it holds. With Go's
// default (GOGC=100) the heap grows to twice the live data before a
// collection, and the pages freed are returned to the system lazily: a
// layer of 100,000 small files, whose writer keeps some 30 MB of per-file
// state, peaks near 90 MB. LimitMemory sets the runtime's soft memory
// limit (which also makes it return freed pages promptly) to max(floor,
// live + live/8 + 8 MiB), raised after every collection as the live heap
// grows, so a large layer costs more collections, never a collection
// without end. A GOMEMLIMIT in the environment wins: then LimitMemory
// does nothing. restore ends the limiting and puts back the limit before.
func LimitMemory(floor int64) (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	prev := debug.SetMemoryLimit(-1)
	var mu sync.Mutex // guards stopped and the limit
	stopped := false
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	update := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		live := int64(sample[0].Value.Uint64())
		debug.SetMemoryLimit(max(floor, live+live/8+minHeadroom))
	}
	update()
	// A finalizer runs after the collection that found its object
	// unreachable: re-armed each time, it runs once per collection.
	var arm func()
	arm = func() {
		sentinel := new([64]byte) // not a tiny allocation, so it is collected alone
		runtime.SetFinalizer(sentinel, func(*[64]byte) {
			mu.Lock()
			defer mu.Unlock()
			if !stopped {
				update()
				arm()
			}
		})
	}
	arm()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		debug.SetMemoryLimit(prev)
	}
}
