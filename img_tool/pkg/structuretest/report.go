package structuretest

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

func sortStrings(l []string) { sort.Strings(l) }

// NamedConfig is a parsed config and the file it came from.
type NamedConfig struct {
	Name   string
	Config *Config
}

// Summary counts the results of a run.
type Summary struct{ Passed, Failed int }

// Run checks every config on every image and writes a line per test to
// w: "PASS  <config> <section> "<test>"" or "FAIL  ..." followed by the
// problems, each on its own indented line naming the config, the test and
// the file or field; then the summary line "Summary: N passed, N failed".
func Run(w io.Writer, images []*Image, configs []NamedConfig) Summary {
	var s Summary
	for _, img := range images {
		fmt.Fprintf(w, "=== image %s\n", img.Name)
		for _, c := range configs {
			for _, r := range Check(img, c.Name, c.Config) {
				writeResult(w, r)
				if r.Pass {
					s.Passed++
				} else {
					s.Failed++
				}
			}
		}
	}
	fmt.Fprintf(w, "Summary: %d passed, %d failed\n", s.Passed, s.Failed)
	return s
}

func writeResult(w io.Writer, r Result) {
	title := fmt.Sprintf("%s %s %q", r.Config, r.Section, r.Test)
	if r.Section == r.Test {
		title = fmt.Sprintf("%s %s", r.Config, r.Section)
	}
	switch {
	case r.Pass && r.Note != "":
		fmt.Fprintf(w, "PASS  %s (%s)\n", title, r.Note)
	case r.Pass:
		fmt.Fprintf(w, "PASS  %s\n", title)
	default:
		status := "FAIL"
		if r.Unsupported {
			status = "FAIL  (unsupported)"
		}
		fmt.Fprintf(w, "%s  %s\n", status, title)
		for _, p := range r.Problems {
			fmt.Fprintf(w, "      %s: %s %q: %s\n", r.Config, r.Section, r.Test, strings.ReplaceAll(p, "\n", " "))
		}
	}
}
