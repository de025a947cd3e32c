package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no command", nil, 2, "Usage: pull_tool COMMAND"},
		{"unknown command", []string{"push"}, 2, `unknown command "push"`},
		{"pull without registry", []string{"pull", "--repository", "r", "--tag", "v1", "--output", "o"}, 1, "--registry is required"},
		{"pull without tag or digest", []string{"pull", "--registry", "h", "--repository", "r", "--output", "o"}, 1, "--tag or --digest is required"},
		{"pull without output", []string{"pull", "--registry", "h", "--repository", "r", "--tag", "v1"}, 1, "--output is required"},
		{"pull bad layer handling", []string{"pull", "--registry", "h", "--repository", "r", "--tag", "v1", "--output", t.TempDir() + "/o", "--layer-handling", "x"}, 1, `layer handling "x"`},
		{"pull stray argument", []string{"pull", "extra"}, 1, `unexpected arguments ["extra"]`},
		{"download-blob without digest", []string{"download-blob", "--registry", "h", "--repository", "r", "--output", "o"}, 1, "--digest and --output are required"},
		{"help", []string{"pull", "-h"}, 0, "Usage: pull_tool pull"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.wantCode, tc.wantErr)
			}
		})
	}
}
