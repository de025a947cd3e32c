package atomicfile

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// RemoveOnSignal installs a process-wide handler for SIGINT and SIGTERM:
// on the first of them it calls RemoveAll, then report (if not nil) with
// the signal and the bytes removed, then exits the process with status
// 128 + the signal number (130 for SIGINT, 143 for SIGTERM), as a shell
// reports a process killed by that signal.
//
// The handler is installed when the first temporary path is registered
// (by Create or Register), not before: until then there is nothing to
// remove and a signal has its default effect, and a process that writes
// no output (e.g. `img layer --help`) starts no signal-handling thread.
//
// The returned stop uninstalls the handler (for tests); a signal that
// arrives after stop has the default effect again.
func RemoveOnSignal(report func(sig os.Signal, removedBytes int64)) (stop func()) {
	return removeOnSignalLazily(report, os.Exit)
}

func removeOnSignalLazily(report func(os.Signal, int64), exit func(int)) (stop func()) {
	var mu sync.Mutex // guards uninstall and stopped
	var uninstall func()
	stopped := false
	install := func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped && uninstall == nil {
			uninstall = removeOnSignal(report, exit)
		}
	}
	live.Lock()
	if len(live.paths) > 0 {
		live.Unlock()
		install()
	} else {
		live.beforeFirst = install
		live.Unlock()
	}
	return func() {
		live.Lock()
		live.beforeFirst = nil
		live.Unlock()
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		if uninstall != nil {
			uninstall()
		}
	}
}

func removeOnSignal(report func(os.Signal, int64), exit func(int)) (stop func()) {
	ch := make(chan os.Signal, 2)
	done := make(chan struct{})
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-ch:
			n := RemoveAll()
			if report != nil {
				report(sig, n)
			}
			exit(ExitCode(sig))
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		select {
		case <-done:
		default:
			close(done)
		}
	}
}

// ExitCode is the exit status for a process ended by sig: 128 plus the
// signal number, or 1 for a signal without a number.
func ExitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}
