package compress

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// settings reads GOGC and the memory limit without changing them.
func settings() (percent int, limit int64) {
	percent = debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1)
}

func TestLimitMemory(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	beforePercent, beforeLimit := settings()
	restore := LimitMemory(MemoryFloor)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.NextGC < MemoryFloor*95/100 || ms.NextGC > MemoryFloor*105/100 {
		t.Errorf("heap goal %d with little live heap, want about the floor %d", ms.NextGC, MemoryFloor)
	}
	// The goal follows the live heap after a collection.
	hold := make([][]byte, 0, 64)
	for range 64 {
		hold = append(hold, make([]byte, 1<<20))
	}
	// Finalizers run on their own goroutine, after the collection.
	want := uint64(64<<20 + 64<<20/8)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.ReadMemStats(&ms); ms.NextGC < want && time.Now().Before(deadline); runtime.ReadMemStats(&ms) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if ms.NextGC < want || ms.NextGC > want+minHeadroom+8<<20 {
		t.Errorf("with 64 MiB live the heap goal is %d, want live + live/8 + headroom = %d", ms.NextGC, want+minHeadroom)
	}
	if _, limit := settings(); limit == math.MaxInt64 || uint64(limit) < ms.NextGC {
		t.Errorf("memory limit %d, want above the goal %d", limit, ms.NextGC)
	}
	runtime.KeepAlive(hold)
	restore()
	if p, l := settings(); p != beforePercent || l != beforeLimit {
		t.Errorf("after restore GOGC %d and limit %d, want %d and %d", p, l, beforePercent, beforeLimit)
	}
}

// The live heap estimate against runtime/metrics, the runtime's own
// count: a drift in the pacer's formula would show here.
func TestLiveHeapEstimate(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var hold [][]byte
	for _, percent := range []int{5, 25, 100, 400} {
		hold = append(hold, make([]byte, 16<<20))
		debug.SetGCPercent(percent)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		metrics.Read(sample)
		want := int64(sample[0].Value.Uint64())
		got := liveHeap(ms.NextGC, ms.StackInuse, percent)
		if d := got - want; d > want/50 || d < -want/50 {
			t.Errorf("GOGC=%d: live heap estimate %d, runtime/metrics says %d", percent, got, want)
		}
	}
	runtime.KeepAlive(hold)
}

func TestGCPercentFor(t *testing.T) {
	for _, tc := range []struct {
		goal, live, stacks int64
		want               int
	}{
		{goal: 100 << 20, live: 50 << 20, want: 100},
		{goal: 44 << 20, live: 1 << 20, want: 1100}, // capped: the minimum goal is then the floor
		{goal: 44 << 20, live: 0, want: 1100},
		{goal: 10 << 20, live: 20 << 20, want: 1},
	} {
		if got := gcPercentFor(tc.goal, tc.live, tc.stacks); got != tc.want {
			t.Errorf("gcPercentFor(%d, %d, %d) = %d, want %d", tc.goal, tc.live, tc.stacks, got, tc.want)
		}
	}
}

func TestLimitMemoryLeavesGOMEMLIMITAndGOGC(t *testing.T) {
	for _, env := range []string{"GOMEMLIMIT", "GOGC"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", "")
			t.Setenv("GOGC", "")
			t.Setenv(env, map[string]string{"GOMEMLIMIT": "1GiB", "GOGC": "100"}[env])
			p, l := settings()
			defer LimitMemory(MemoryFloor)()
			if p2, l2 := settings(); p2 != p || l2 != l {
				t.Errorf("with %s set: GOGC %d -> %d, limit %d -> %d", env, p, p2, l, l2)
			}
		})
	}
}
