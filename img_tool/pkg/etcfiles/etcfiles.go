// Package etcfiles describes the small files under /etc of a base image
// (passwd, group, shadow, hosts, os-release, environment) as base image
// entries, from declared values and existing files, validating both.
package etcfiles

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/rules-img/rules_img/img_tool/pkg/baseimage"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Pair is one key and value, kept in order.
type Pair struct{ Key, Value string }

// defaultHosts are the loopback records Debian's netbase ships.
var defaultHosts = []Pair{
	{"127.0.0.1", "localhost"},
	{"::1", "localhost ip6-localhost ip6-loopback"},
	{"ff02::1", "ip6-allnodes"},
	{"ff02::2", "ip6-allrouters"},
}

// HostsOptions is what /etc/hosts holds.
type HostsOptions struct {
	Hosts           []Pair // address -> space-separated names
	Srcs            []NamedData
	IncludeDefaults bool
	Path            string
	Mode            int64
}

// Hosts describes a hosts file. Names accumulate per address, in order of
// first appearance: the defaults, the files, then Hosts; an address keeps
// the position of its first line.
func Hosts(o HostsOptions) ([]baseimage.Entry, error) {
	var order []string
	names := map[string][]string{}
	add := func(where, addr, list string) error {
		ip, err := netip.ParseAddr(addr)
		if err != nil {
			return fmt.Errorf("%s: %q is not an IP address: %w", where, addr, baseimage.ErrInvalidArgument)
		}
		key := ip.String()
		fields := strings.Fields(list)
		if len(fields) == 0 {
			return fmt.Errorf("%s: address %s has no host names: %w", where, addr, baseimage.ErrInvalidArgument)
		}
		if _, ok := names[key]; !ok {
			order = append(order, key)
		}
		for _, n := range fields {
			if strings.ContainsAny(n, "#\x00") {
				return fmt.Errorf("%s: host name %q: %w", where, n, baseimage.ErrInvalidArgument)
			}
			if !slices.Contains(names[key], n) {
				names[key] = append(names[key], n)
			}
		}
		return nil
	}
	if o.IncludeDefaults {
		for _, p := range defaultHosts {
			if err := add("defaults", p.Key, p.Value); err != nil {
				return nil, err
			}
		}
	}
	for _, src := range o.Srcs {
		if err := eachLine(src, func(n int, l string) error {
			if i := strings.IndexByte(l, '#'); i >= 0 {
				l = l[:i]
			}
			f := strings.Fields(l)
			if len(f) == 0 {
				return nil
			}
			return add(fmt.Sprintf("%s:%d", src.Name, n), f[0], strings.Join(f[1:], " "))
		}); err != nil {
			return nil, err
		}
	}
	for _, p := range o.Hosts {
		if err := add("hosts", p.Key, p.Value); err != nil {
			return nil, err
		}
	}
	var b strings.Builder
	for _, a := range order {
		fmt.Fprintf(&b, "%s\t%s\n", a, strings.Join(names[a], " "))
	}
	return oneFile(o.Path, o.Mode, b.String())
}

func oneFile(p string, mode int64, content string) ([]baseimage.Entry, error) {
	c, err := baseimage.CleanPath(p)
	if err != nil {
		return nil, err
	}
	return []baseimage.Entry{baseimage.File(c, mode, []byte(content))}, nil
}

func eachLine(src NamedData, each func(n int, l string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(src.Data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if err := each(n, strings.TrimRight(sc.Text(), "\r")); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", src.Name, err)
	}
	return nil
}

var (
	osReleaseKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	envKey       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// assignments merges KEY=VALUE files and then pairs, later values winning,
// keys in order of first appearance. Values in files may be quoted with
// double or single quotes.
func assignments(srcs []NamedData, pairs []Pair, key *regexp.Regexp) ([]Pair, error) {
	var out []Pair
	set := func(where, k, v string) error {
		if !key.MatchString(k) {
			return fmt.Errorf("%s: %q is not a valid key (want %s): %w", where, k, key, baseimage.ErrInvalidArgument)
		}
		if strings.ContainsAny(v, "\n\r\x00") {
			return fmt.Errorf("%s: value of %s contains a line break: %w", where, k, baseimage.ErrInvalidArgument)
		}
		for i := range out {
			if out[i].Key == k {
				out[i].Value = v
				return nil
			}
		}
		out = append(out, Pair{k, v})
		return nil
	}
	for _, src := range srcs {
		if err := eachLine(src, func(n int, l string) error {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				return nil
			}
			k, v, ok := strings.Cut(strings.TrimPrefix(l, "export "), "=")
			where := fmt.Sprintf("%s:%d", src.Name, n)
			if !ok {
				return fmt.Errorf("%s: want KEY=VALUE: %w", where, baseimage.ErrInvalidArgument)
			}
			return set(where, strings.TrimSpace(k), unquote(v))
		}); err != nil {
			return nil, err
		}
	}
	for _, p := range pairs {
		if err := set("attribute", p.Key, p.Value); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		var b strings.Builder
		for i := 1; i < len(v)-1; i++ {
			if v[i] == '\\' && i+1 < len(v)-1 {
				i++
			}
			b.WriteByte(v[i])
		}
		return b.String()
	}
	return v
}

// quote writes v in double quotes, escaping what os-release(5) says a
// shell would interpret: `"`, `\`, `$` and backquote.
func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		if strings.ContainsRune("\"\\$`", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

func render(ps []Pair, quoted bool) string {
	var b strings.Builder
	for _, p := range ps {
		v := p.Value
		if quoted {
			v = quote(v)
		}
		fmt.Fprintf(&b, "%s=%s\n", p.Key, v)
	}
	return b.String()
}

// EnvironmentOptions is what /etc/environment holds.
type EnvironmentOptions struct {
	Env   []Pair
	Srcs  []NamedData
	Path  string
	Quote bool
	Mode  int64
}

// Environment describes the PAM environment file: files merged in order,
// then Env; later values win.
func Environment(o EnvironmentOptions) ([]baseimage.Entry, error) {
	ps, err := assignments(o.Srcs, o.Env, envKey)
	if err != nil {
		return nil, err
	}
	if !o.Quote {
		for _, p := range ps {
			if strings.ContainsAny(p.Value, " \t\"'") {
				return nil, fmt.Errorf("value of %s needs quoting (quote = False): %w", p.Key, baseimage.ErrInvalidArgument)
			}
		}
	}
	return oneFile(o.Path, o.Mode, render(ps, o.Quote))
}

// ReleaseOptions is what os-release (and lsb-release) hold.
type ReleaseOptions struct {
	OSRelease, LSBRelease          []Pair
	OSReleaseSrcs, LSBReleaseSrcs  []NamedData
	OSReleasePath, LSBReleasePath  string
	UsrLibPath                     string
	WriteLSBRelease, UsrLibSymlink bool
	Mode                           int64
}

// Release describes os-release: with UsrLibSymlink the file is at
// UsrLibPath and OSReleasePath is a relative symlink to it, as
// os-release(5) describes.
func Release(o ReleaseOptions) ([]baseimage.Entry, error) {
	os, err := assignments(o.OSReleaseSrcs, o.OSRelease, osReleaseKey)
	if err != nil {
		return nil, fmt.Errorf("os-release: %w", err)
	}
	content := render(os, true)
	var out []baseimage.Entry
	if o.UsrLibSymlink {
		file, err := baseimage.CleanPath(o.UsrLibPath)
		if err != nil {
			return nil, err
		}
		link, err := baseimage.CleanPath(o.OSReleasePath)
		if err != nil {
			return nil, err
		}
		if file == link {
			return nil, fmt.Errorf("os_release_path and usr_lib_path are both /%s: %w", file, baseimage.ErrInvalidArgument)
		}
		out = append(out, baseimage.File(file, o.Mode, []byte(content)), baseimage.Symlink(link, relTarget(link, file)))
	} else {
		es, err := oneFile(o.OSReleasePath, o.Mode, content)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	if o.WriteLSBRelease {
		lsb, err := assignments(o.LSBReleaseSrcs, o.LSBRelease, osReleaseKey)
		if err != nil {
			return nil, fmt.Errorf("lsb-release: %w", err)
		}
		es, err := oneFile(o.LSBReleasePath, o.Mode, render(lsb, true))
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// relTarget is the relative symlink target from the entry link to the
// entry target (both clean paths without a leading "/").
func relTarget(link, target string) string {
	dir := path.Dir(link)
	if dir == "." {
		return target
	}
	// Drop the common prefix, then climb out of the rest of dir.
	ld, td := strings.Split(dir, "/"), strings.Split(target, "/")
	i := 0
	for i < len(ld) && i < len(td)-1 && ld[i] == td[i] {
		i++
	}
	up := strings.Repeat("../", len(ld)-i)
	return up + strings.Join(td[i:], "/")
}
