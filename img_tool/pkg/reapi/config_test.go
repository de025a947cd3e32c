package reapi

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestConfigFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
		opts    int
	}{
		{args: []string{"--cache", "grpc://h:1"}, opts: 1},
		{args: []string{"--cache", "grpc://h:1", "--remote-header", "Authorization=Bearer x=y", "--credential-helper", "/h", "--ca-file", "/ca"}, opts: 4},
		{args: []string{"--remote-header", "novalue"}, wantErr: `remote header "novalue": want Name=Value`},
		{args: []string{"--remote-header", "=v"}, wantErr: "want Name=Value"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var c Config
		c.RegisterFlags(fs, "cache", "the cache")
		err := fs.Parse(tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		opts, err := c.Options()
		if err != nil || len(opts) != tc.opts {
			t.Errorf("%q: %d options, %v; want %d", tc.args, len(opts), err, tc.opts)
		}
	}
	// Blank entries (a trailing comma in IMG_REMOTE_HEADERS) are skipped,
	// a malformed one is an error.
	if opts, err := (&Config{Headers: []string{"", " "}}).Options(); err != nil || len(opts) != 1 {
		t.Errorf("blank headers: %d options, %v", len(opts), err)
	}
	if _, err := (&Config{Headers: []string{"x"}}).Options(); err == nil {
		t.Error("header without = accepted")
	}
}
