package compress

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimitMemory(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	restore := LimitMemory(MemoryFloor)
	if got := debug.SetMemoryLimit(-1); got < MemoryFloor || got == math.MaxInt64 {
		t.Errorf("limit %d, want at least the floor %d", got, MemoryFloor)
	}
	// The limit follows the live heap after a collection.
	hold := make([][]byte, 0, 64)
	for range 64 {
		hold = append(hold, make([]byte, 1<<20))
	}
	// Finalizers run on their own goroutine, after the collection.
	want := int64(64<<20 + 64<<20/8)
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) < want && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got < want {
		t.Errorf("with 64 MiB live the limit is %d, want at least live + live/8 = %d", got, want)
	}
	runtime.KeepAlive(hold)
	restore()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("after restore the limit is %d, want %d", got, before)
	}
}

func TestLimitMemoryLeavesGOMEMLIMIT(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "1GiB")
	before := debug.SetMemoryLimit(-1)
	defer LimitMemory(MemoryFloor)()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("with GOMEMLIMIT set the limit changed from %d to %d", before, got)
	}
}
