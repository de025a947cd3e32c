package compress

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// Memory budget of LimitMemory: the heap goal is the live heap plus an
// eighth of it, plus minHeadroom, and never below MemoryFloor. Most of a
// layer writer's live heap is per-file records and compressor buffers,
// which live to the end; what is allocated and dropped per file fits in
// minHeadroom. (A layer of 100,000 small files peaks at 52 to 54 MB in
// every format, the Go tree at 49 MB.)
const (
	MemoryFloor = 44 << 20
	minHeadroom = 8 << 20
)

// heapMinimumPer100 is the Go runtime's smallest heap goal at GOGC=100;
// at GOGC=P it is P/100 times that (runtime/mgcpacer.go,
// defaultHeapMinimum).
const heapMinimumPer100 = 4 << 20

// LimitMemory keeps the process's memory close to what it holds. With Go's
// default (GOGC=100) the heap grows to twice the live data before a
// collection: a layer of 100,000 small files, whose writer keeps some 30 MB
// of per-file state, peaks near 90 MB. LimitMemory sets the heap goal to
// max(floor, live + live/8 + 8 MiB) after every collection, as the live
// heap grows, so a large layer costs more collections, never a collection
// without end; a soft memory limit a quarter above the goal makes the
// runtime return freed pages promptly. A GOGC or GOMEMLIMIT in the
// environment wins: then LimitMemory does nothing. restore ends the
// limiting and puts back the settings before.
//
// The goal is set through GOGC, which the runtime applies to the heap
// marked by the last collection: goal = marked + (marked + stacks) *
// GOGC/100. The runtime reports the goal (MemStats.NextGC), so the marked
// heap follows from it and the GOGC in force, without runtime/metrics,
// whose initialisation would cost every start of the tool (the tests
// check the estimate against runtime/metrics).
func LimitMemory(floor int64) (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" || os.Getenv("GOGC") != "" {
		return func() {}
	}
	prevLimit := debug.SetMemoryLimit(-1)
	var mu sync.Mutex // guards stopped, percent and the settings
	// percent is the GOGC in force, from which update reads the live heap
	// back: the first update sees the goal of startPercent.
	const startPercent = 100
	prevPercent := debug.SetGCPercent(startPercent)
	percent := startPercent
	stopped := false
	update := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		live := liveHeap(ms.NextGC, ms.StackInuse, percent)
		goal := max(floor, live+live/8+minHeadroom)
		percent = gcPercentFor(goal, live, int64(ms.StackInuse))
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(goal + goal/4)
	}
	mu.Lock()
	update()
	mu.Unlock()
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
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	}
}

// liveHeap estimates the heap marked by the last collection from the heap
// goal nextGC that GOGC=percent gave: nextGC = marked + (marked + stacks) *
// percent/100, or the runtime's minimum goal when that is larger, in which
// case the estimate is an upper bound.
func liveHeap(nextGC, stacks uint64, percent int) int64 {
	p := float64(max(percent, 0)) / 100
	est := (float64(nextGC) - float64(stacks)*p) / (1 + p)
	return int64(max(est, 0))
}

// gcPercentFor is the GOGC that makes the runtime's heap goal goal for
// the live heap live: at least 1, and small enough that the runtime's
// minimum goal (heapMinimumPer100 * GOGC/100) does not exceed goal.
func gcPercentFor(goal, live, stacks int64) int {
	p := math.Ceil(100 * float64(goal-live) / float64(max(live+stacks, 1)))
	p = min(p, math.Floor(100*float64(goal)/heapMinimumPer100))
	return int(max(p, 1))
}
