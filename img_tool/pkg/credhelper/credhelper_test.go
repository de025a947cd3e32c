package credhelper

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// script writes an executable helper that appends a line to its "runs" file
// on every run, saves its stdin to "stdin", and then runs body.
func script(t *testing.T, body string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "helper")
	src := "#!/bin/sh\n" +
		`[ "$1" = get ] || { echo "bad args: $*" >&2; exit 9; }` + "\n" +
		`echo run >> "$(dirname "$0")/runs"` + "\n" +
		`cat > "$(dirname "$0")/stdin"` + "\n" + body + "\n"
	if err := os.WriteFile(path, []byte(src), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func runs(t *testing.T, dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "runs"))
	if os.IsNotExist(err) {
		return 0
	} else if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run\n")
}

func TestHeaders(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	soon := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)
	tests := []struct {
		name     string
		body     string
		calls    int
		wantRuns int
		want     map[string][]string
	}{
		{"no expiry is cached", `echo '{"headers":{"Authorization":["Bearer t"],"X-Two":["a","b"]}}'`, 3, 1,
			map[string][]string{"Authorization": {"Bearer t"}, "X-Two": {"a", "b"}}},
		{"far expiry is cached", `echo '{"headers":{"A":["1"]},"expires":"` + future + `"}'`, 3, 1, map[string][]string{"A": {"1"}}},
		{"near expiry reruns", `echo '{"headers":{"A":["1"]},"expires":"` + soon + `"}'`, 3, 3, map[string][]string{"A": {"1"}}},
		{"no headers", `echo '{}'`, 2, 1, map[string][]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, dir := script(t, tt.body)
			h := New(path)
			for range tt.calls {
				got, err := h.Headers(context.Background(), "https://cache.example:443")
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("headers = %v, want %v", got, tt.want)
				}
				got["Mutated"] = []string{"x"} // must not leak into the cache
			}
			if n := runs(t, dir); n != tt.wantRuns {
				t.Errorf("helper ran %d times, want %d", n, tt.wantRuns)
			}
			stdin, _ := os.ReadFile(filepath.Join(dir, "stdin"))
			if got := strings.TrimSpace(string(stdin)); got != `{"uri":"https://cache.example:443"}` {
				t.Errorf("helper stdin = %s", got)
			}
		})
	}
}

func TestPerURIAndConcurrent(t *testing.T) {
	path, dir := script(t, `sleep 0.2; echo '{"headers":{"A":["1"]}}'`)
	h := New(path)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, err := h.Headers(context.Background(), []string{"https://a:1", "https://b:2"}[i%2]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := runs(t, dir); n != 2 {
		t.Errorf("helper ran %d times for 2 URIs, want 2", n)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []string
		notWant []string
	}{
		{"exit status and stderr tail",
			`for i in 1 2 3 4 5 6 7; do echo "line $i" >&2; done; echo '{"headers":{"A":["secret"]}}'; exit 3`,
			[]string{"exit status 3", "line 7", "line 3"}, []string{"line 2", "secret"}},
		{"bad json", `echo 'secret-token not json'`, []string{"not the expected JSON"}, []string{"secret"}},
		{"bad expires", `echo '{"headers":{"A":["secret"]},"expires":"tomorrow"}'`, []string{`expires "tomorrow"`}, []string{"secret"}},
		{"wrong header type", `echo '{"headers":{"A":"secret"}}'`, []string{"not the expected JSON"}, []string{"secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, _ := script(t, tt.body)
			_, err := New(path).Headers(context.Background(), "https://c:1")
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range append(tt.want, path, "https://c:1") {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q mentions %q", err, s)
				}
			}
		})
	}
	_, err := New(filepath.Join(t.TempDir(), "missing")).Headers(context.Background(), "https://c:1")
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing helper: error %v", err)
	}
}

func TestFailureIsNotCached(t *testing.T) {
	path, dir := script(t, `[ -e "$(dirname "$0")/ok" ] || { echo nope >&2; exit 1; }; echo '{"headers":{"A":["1"]}}'`)
	h := New(path)
	if _, err := h.Headers(context.Background(), "https://c:1"); err == nil {
		t.Fatal("first call: no error")
	}
	os.WriteFile(filepath.Join(dir, "ok"), nil, 0o644)
	if _, err := h.Headers(context.Background(), "https://c:1"); err != nil {
		t.Fatalf("second call: %v", err)
	}
	if n := runs(t, dir); n != 2 {
		t.Errorf("helper ran %d times, want 2", n)
	}
}
