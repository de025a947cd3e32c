package load

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
)

// env is an environment of "KEY=value" entries; the last entry of a key
// wins, as in exec.Cmd.
type env []string

func newEnv(entries []string) env { return env(entries) }

func (e env) get(key string) string {
	for i := len(e) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(e[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// lookPath finds a program as exec.LookPath does, but in the loader's
// $PATH. A name with a slash is used as it is.
func (l *Loader) lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		if isExecutable(name) {
			return name, nil
		}
		return "", fmt.Errorf("%s: not an executable file", name)
	}
	for _, dir := range filepath.SplitList(l.env.get("PATH")) {
		if dir == "" {
			dir = "."
		}
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode().Perm()&0o111 != 0
}

func digestBytes(data []byte) string {
	sum := sha256.Sum256(data)
	return string(digest.SHA256) + ":" + hex.EncodeToString(sum[:])
}
