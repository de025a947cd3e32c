package atomicfile

import "os"

// ResetRegistry forgets every registered path and undoes RemoveAll, so
// that tests in one process do not see each other's state.
func ResetRegistry() {
	live.Lock()
	defer live.Unlock()
	live.paths = map[string]int{}
	live.removed = false
}

// RemoveOnSignalExit is RemoveOnSignal with exit replaced.
func RemoveOnSignalExit(report func(os.Signal, int64), exit func(int)) func() {
	return removeOnSignalLazily(report, exit)
}
