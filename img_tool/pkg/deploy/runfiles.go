package deploy

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// DispatchName is the runfiles path of the deploy manifest.
const DispatchName = "dispatch.json"

// The runfiles of a deploy target, written by the deploy rules as root
// symlinks:
//
//	dispatch.json
//	<op>/root.json                     the root manifest or index of operation op
//	<op>/manifests/<m>/manifest.json   its manifest m
//	<op>/manifests/<m>/config.json     the config of manifest m
//	<op>/manifests/<m>/layer/<j>       layer j of manifest m (eager only; absent for missing blobs)

// RootPath is the runfiles path of the root manifest or index of operation op.
func RootPath(op int) string { return path.Join(strconv.Itoa(op), "root.json") }

// ManifestPath is the runfiles path of manifest m of operation op.
func ManifestPath(op, m int) string {
	return path.Join(strconv.Itoa(op), "manifests", strconv.Itoa(m), "manifest.json")
}

// ConfigPath is the runfiles path of the config of manifest m of operation op.
func ConfigPath(op, m int) string {
	return path.Join(strconv.Itoa(op), "manifests", strconv.Itoa(m), "config.json")
}

// LayerPath is the runfiles path of layer j of manifest m of operation op.
func LayerPath(op, m, j int) string {
	return path.Join(strconv.Itoa(op), "manifests", strconv.Itoa(m), "layer", strconv.Itoa(j))
}

// Runfiles resolves runfiles paths ("dispatch.json", "0/root.json") to
// files on disk.
type Runfiles interface {
	// Path returns the file of a runfiles path. The file need not exist;
	// an error wrapping fs.ErrNotExist means the path is not a runfile.
	Path(name string) (string, error)
}

// DirRunfiles is a runfiles tree: a runfiles path is relative to it.
type DirRunfiles string

// Path joins name to the directory.
func (d DirRunfiles) Path(name string) (string, error) {
	return filepath.Join(string(d), filepath.FromSlash(name)), nil
}

// ManifestRunfiles maps runfiles paths to files, as a runfiles manifest
// (RUNFILES_MANIFEST_FILE) does.
type ManifestRunfiles map[string]string

// Path looks name up.
func (m ManifestRunfiles) Path(name string) (string, error) {
	p, ok := m[name]
	if !ok || p == "" {
		return "", fmt.Errorf("runfile %s: %w", name, fs.ErrNotExist)
	}
	return p, nil
}

// ReadRunfilesManifest parses a runfiles manifest: one "PATH TARGET" per
// line. A line that starts with a space has escaped paths: `\s` is a space,
// `\n` a newline, `\b` a backslash.
func ReadRunfilesManifest(file string) (ManifestRunfiles, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("runfiles manifest: %w", err)
	}
	defer f.Close()
	m := ManifestRunfiles{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		escaped := strings.HasPrefix(line, " ")
		if escaped {
			line = line[1:]
		}
		link, target, _ := strings.Cut(line, " ")
		if escaped {
			link = unescapeRunfile(link)
			target = unescapeRunfile(target)
		}
		if link != "" {
			m[link] = target
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("runfiles manifest %s: %w", file, err)
	}
	return m, nil
}

func unescapeRunfile(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 's':
				b.WriteByte(' ')
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 'b':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// FindRunfiles returns the runfiles of a deploy target, or nil when there
// is no dispatch.json. It looks, in order, at $RUNFILES_DIR/dispatch.json,
// at argv0 + ".runfiles/dispatch.json" (argv0 as the process was started,
// e.g. the symlink that `bazel run` executes; symlinks are not resolved),
// and in the runfiles manifest $RUNFILES_MANIFEST_FILE. An unreadable
// runfiles manifest counts as none.
func FindRunfiles(argv0 string, getenv func(string) string) Runfiles {
	isFile := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && !st.IsDir()
	}
	if dir := getenv("RUNFILES_DIR"); dir != "" && isFile(filepath.Join(dir, DispatchName)) {
		return DirRunfiles(dir)
	}
	if argv0 != "" {
		dir := argv0 + ".runfiles"
		if isFile(filepath.Join(dir, DispatchName)) {
			return DirRunfiles(dir)
		}
	}
	if mf := getenv("RUNFILES_MANIFEST_FILE"); mf != "" {
		m, err := ReadRunfilesManifest(mf)
		if err == nil {
			if p, err := m.Path(DispatchName); err == nil && isFile(p) {
				return m
			}
		}
	}
	return nil
}

// openRunfile opens a runfile; the error names the runfiles path.
func openRunfile(rf Runfiles, name string) (*os.File, error) {
	p, err := rf.Path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("runfile %s: %w", name, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("runfile %s: %w", name, err)
	}
	return f, nil
}

// readRunfile reads a whole runfile of at most max bytes.
func readRunfile(rf Runfiles, name string, max int64) ([]byte, error) {
	p, err := rf.Path(name)
	if err != nil {
		return nil, err
	}
	return readBounded(p, "runfile "+name, max)
}
