package main

import (
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/compress"
	"github.com/rules-img/rules_img/img_tool/pkg/tarpolicy"
)

// listFlag collects every value of a repeatable flag, in order.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// kvFlag collects repeatable key=value pairs, in order.
type kvFlag struct {
	name  string
	pairs [][2]string
}

func (f *kvFlag) String() string { return "" }
func (f *kvFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("--%s %q: want KEY=VALUE", f.name, v)
	}
	f.pairs = append(f.pairs, [2]string{k, val})
	return nil
}

func (f *kvFlag) Map() map[string]string {
	m := make(map[string]string, len(f.pairs))
	for _, p := range f.pairs {
		m[p[0]] = p[1]
	}
	return m
}

// compressionFlags are shared by `img layer` and `img compress`.
type compressionFlags struct {
	format  string
	estargz bool
	jobs    string
	level   int
}

func (c *compressionFlags) register(fs *flag.FlagSet, defaultFormat string) {
	fs.StringVar(&c.format, "format", defaultFormat, "Compression of the output blob: gzip, zstd or none.")
	fs.BoolVar(&c.estargz, "estargz", false, "Write an eStargz layer (gzip only): seekable for lazy pulling.")
	fs.StringVar(&c.jobs, "compressor-jobs", "1", `Parallel compressor goroutines, or "nproc"; zstd at its default level runs at least 2 and at most 4. The output does not depend on it.`)
	fs.IntVar(&c.level, "compression-level", -1, "Compression level; gzip 0-9, zstd 1-4; -1 is the default.")
}

func (c *compressionFlags) options() ([]compress.Option, error) {
	format, err := compress.ParseFormat(c.format)
	if err != nil {
		return nil, err
	}
	jobs := runtime.NumCPU()
	if c.jobs != "nproc" {
		jobs, err = strconv.Atoi(c.jobs)
		if err != nil || jobs < 1 {
			return nil, fmt.Errorf("--compressor-jobs %q: want a positive number or nproc", c.jobs)
		}
	}
	return []compress.Option{
		compress.WithFormat(format),
		compress.WithJobs(jobs),
		compress.WithLevel(c.level),
		compress.WithEstargz(c.estargz),
	}, nil
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: img %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// zstdWindowFlag is --zstd-max-window, shared by the commands that
// decompress layers: the largest window a zstd stream may declare.
type zstdWindowFlag struct{ n uint64 }

func (f *zstdWindowFlag) String() string {
	if f == nil || f.n == 0 {
		return ""
	}
	return strconv.FormatUint(f.n, 10)
}

func (f *zstdWindowFlag) Set(v string) error {
	n, err := tarpolicy.ParseSize(v)
	if err != nil {
		return err
	}
	f.n = n
	return nil
}

func (f *zstdWindowFlag) register(fs *flag.FlagSet) {
	fs.Var(f, "zstd-max-window", fmt.Sprintf("Largest window a zstd input may declare, in bytes or with K, M, G (default %dM); the decoder needs that much memory.", tarpolicy.DefaultZstdMaxWindow>>20))
}

func (f *zstdWindowFlag) limits() tarpolicy.Limits { return tarpolicy.Limits{ZstdMaxWindow: f.n} }
