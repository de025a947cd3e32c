// Package paramfile reads the parameter files that the rules write for the
// layer action (Bazel's "multiline" format: one entry a line, fields
// separated by a NUL byte).
package paramfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrInvalidArgument marks a malformed line.
var ErrInvalidArgument = errors.New("invalid argument")

// Entry is one line of a files parameter file: "<path>\x00<type><source>",
// where type is 'f' (file), 'd' (directory) or 'l' (symlink, source is the
// link target).
type Entry struct {
	Path   string
	Type   byte
	Source string
}

// ReadFiles reads a files parameter file (--add-from-file, --runfiles).
func ReadFiles(name string) ([]Entry, error) {
	var out []Entry
	err := eachLine(name, func(lineNo int, key, value string) error {
		if len(value) < 2 || !strings.ContainsRune("fdl", rune(value[0])) {
			return fmt.Errorf("%s:%d: want <path>\\0<f|d|l><file>, got %q: %w", name, lineNo, key+"\\0"+value, ErrInvalidArgument)
		}
		out = append(out, Entry{Path: key, Type: value[0], Source: value[1:]})
		return nil
	})
	return out, err
}

// ReadPairs reads a parameter file of "<key>\x00<value>" lines
// (--symlinks-from-file).
func ReadPairs(name string) ([][2]string, error) {
	var out [][2]string
	err := eachLine(name, func(_ int, key, value string) error {
		out = append(out, [2]string{key, value})
		return nil
	})
	return out, err
}

func eachLine(name string, fn func(lineNo int, key, value string) error) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("parameter file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	sc.Split(scanLF)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "\x00")
		if !ok || key == "" {
			return fmt.Errorf("%s:%d: want <key>\\0<value>, got %q: %w", name, lineNo, line, ErrInvalidArgument)
		}
		if err := fn(lineNo, key, value); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("parameter file %s: %w", name, err)
	}
	return nil
}

// scanLF splits at '\n' only. bufio.ScanLines also drops a '\r' before the
// line end, which would silently rename a file whose name ends in '\r';
// Bazel writes parameter files with '\n' line ends on every platform.
func scanLF(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
