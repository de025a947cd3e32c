//go:build !img_build_actions

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
	"github.com/rules-img/rules_img/img_tool/pkg/baseimage"
	"github.com/rules-img/rules_img/img_tool/pkg/etcfiles"
	"github.com/rules-img/rules_img/img_tool/pkg/layer"
	"github.com/rules-img/rules_img/img_tool/pkg/syslibs"
	"github.com/rules-img/rules_img/img_tool/pkg/truststore"
)

// baseVerbs are the subcommands of `img base`: each content verb writes
// one fragment from a JSON configuration (the rule's attributes); merge
// turns fragments into one tar for `img layer --import-tar`.
var baseVerbs = map[string]func(cfg []byte, values []byte) ([]baseimage.Entry, error){
	"skeleton":         baseSkeleton,
	"etc-passwd":       baseEtcPasswd,
	"etc-hosts":        baseEtcHosts,
	"etc-release":      baseEtcRelease,
	"etc-environment":  baseEtcEnvironment,
	"trust-store":      baseTrustStore,
	"system-libraries": baseSystemLibraries,
}

func runBase(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 1 && args[0] == "etc" {
		// `img base etc passwd` is `img base etc-passwd`.
		args = append([]string{"etc-" + args[1]}, args[2:]...)
	}
	if len(args) == 0 {
		return fmt.Errorf("want a verb: merge or one of %s", strings.Join(sortedKeys(baseVerbs), ", "))
	}
	if args[0] == "merge" {
		return runBaseMerge(args[1:])
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintf(stdout, "Usage: img base VERB [flags]\n\nVERB: merge or one of %s; `img base VERB --help` lists its flags.\n", strings.Join(sortedKeys(baseVerbs), ", "))
		return nil
	}
	verb, ok := baseVerbs[args[0]]
	if !ok {
		return fmt.Errorf("unknown verb %q: want merge or one of %s", args[0], strings.Join(sortedKeys(baseVerbs), ", "))
	}
	fs := newFlagSet("base "+args[0], "--producer LABEL --config FILE [--values FILE] OUTPUT")
	var producer, config, values string
	fs.StringVar(&producer, "producer", "", "Label of the rule, recorded for error messages.")
	fs.StringVar(&config, "config", "", "JSON file of the rule's attributes.")
	fs.StringVar(&values, "values", "", "JSON file of expanded templated attributes; its keys replace those of --config.")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 || config == "" || producer == "" {
		fs.Usage()
		return fmt.Errorf("want --producer, --config and one OUTPUT")
	}
	cfg, err := baseimage.ReadInput(config)
	if err != nil {
		return fmt.Errorf("%s: %w", producer, err)
	}
	var vals []byte
	if values != "" {
		if vals, err = baseimage.ReadInput(values); err != nil {
			return fmt.Errorf("%s: %w", producer, err)
		}
	}
	entries, err := verb(cfg, vals)
	if err != nil {
		return fmt.Errorf("%s: %w", producer, err)
	}
	return baseimage.WriteFragment(fs.Arg(0), producer, entries)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// decodeConfig decodes the configuration, then the expanded values over it.
func decodeConfig(cfg, values []byte, v any) error {
	for i, doc := range [][]byte{cfg, values} {
		if doc == nil {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			what := [...]string{"--config", "--values"}[i]
			return fmt.Errorf("%s: %w: %w", what, err, baseimage.ErrInvalidArgument)
		}
	}
	return nil
}

// readInputs reads the named input files.
func readInputs(paths []string) ([]etcfiles.NamedData, error) {
	var out []etcfiles.NamedData
	for _, p := range paths {
		data, err := baseimage.ReadInput(p)
		if err != nil {
			return nil, err
		}
		out = append(out, etcfiles.NamedData{Name: p, Data: data})
	}
	return out, nil
}

func toPairs(in [][2]string) []etcfiles.Pair {
	out := make([]etcfiles.Pair, len(in))
	for i, p := range in {
		out[i] = etcfiles.Pair{Key: p[0], Value: p[1]}
	}
	return out
}

func runBaseMerge(args []string) error {
	fs := newFlagSet("base merge", "[flags] OUTPUT")
	var list, defaultMD, name string
	fs.StringVar(&name, "name", "", "Label of the layer, for error messages.")
	fs.StringVar(&list, "fragments-from-file", "", "File naming one fragment per line, in order; the last description of a path wins.")
	fs.StringVar(&defaultMD, "default-metadata", "", "file_metadata() JSON; only its mtime applies (to every entry).")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || list == "" {
		fs.Usage()
		return fmt.Errorf("want --fragments-from-file and one OUTPUT")
	}
	ident := name
	if ident == "" {
		ident = fs.Arg(0)
	}
	mtime := time.Unix(0, 0).UTC()
	if defaultMD != "" {
		md, err := layer.ParseFileMetadata(defaultMD)
		if err != nil {
			return fmt.Errorf("%s: default_metadata: %w", ident, err)
		}
		if md.Mtime != nil {
			if mtime, err = time.Parse(time.RFC3339, *md.Mtime); err != nil {
				return fmt.Errorf("%s: default_metadata: %w", ident, err)
			}
		}
	}
	paths, err := readLines(list)
	if err != nil {
		return fmt.Errorf("%s: %w", ident, err)
	}
	var frags []*baseimage.Fragment
	for _, p := range paths {
		f, err := baseimage.ReadFragment(p)
		if err != nil {
			return fmt.Errorf("%s: %w", ident, err)
		}
		frags = append(frags, f)
	}
	entries, err := baseimage.Merge(frags)
	if err != nil {
		return fmt.Errorf("%s: %w", ident, err)
	}
	out, err := atomicfile.Create(fs.Arg(0), 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", ident, err)
	}
	defer out.Abort()
	bw := bufio.NewWriterSize(out, 1<<20)
	if err := baseimage.WriteTar(bw, entries, mtime); err != nil {
		return fmt.Errorf("%s: %w", ident, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", ident, err)
	}
	return out.Commit()
}

func readLines(p string) ([]string, error) {
	data, err := baseimage.ReadInput(p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

func baseSkeleton(cfg, values []byte) ([]baseimage.Entry, error) {
	var c struct {
		Disabled  []string          `json:"disabled"`
		UsrMerged bool              `json:"usr_merged"`
		Extra     map[string]string `json:"extra_directories"`
	}
	if err := decodeConfig(cfg, values, &c); err != nil {
		return nil, err
	}
	o := baseimage.SkeletonOptions{Disabled: c.Disabled, UsrMerged: c.UsrMerged}
	for _, p := range sortedKeys(c.Extra) {
		clean, err := baseimage.CleanPath(p)
		if err != nil {
			return nil, fmt.Errorf("extra_directories: %w", err)
		}
		e := baseimage.Dir(clean, 0o755)
		if js := c.Extra[p]; js != "" {
			md, err := layer.ParseFileMetadata(js)
			if err != nil {
				return nil, fmt.Errorf("extra_directories[%q]: %w", p, err)
			}
			if err := e.ApplyMetadata(md); err != nil {
				return nil, fmt.Errorf("extra_directories[%q]: %w", p, err)
			}
		}
		o.Extra = append(o.Extra, e)
	}
	return baseimage.Skeleton(o)
}

func baseEtcPasswd(cfg, values []byte) ([]baseimage.Entry, error) {
	var c struct {
		Users       []string `json:"users"`
		Groups      []string `json:"groups"`
		PasswdSrcs  []string `json:"passwd_srcs"`
		GroupSrcs   []string `json:"group_srcs"`
		ShadowSrcs  []string `json:"shadow_srcs"`
		PasswdPath  string   `json:"passwd_path"`
		GroupPath   string   `json:"group_path"`
		ShadowPath  string   `json:"shadow_path"`
		CreateHomes bool     `json:"create_home_directories"`
		WriteShadow bool     `json:"write_shadow"`
		HomeMode    string   `json:"home_directory_mode"`
		Mode        string   `json:"mode"`
		ShadowMode  string   `json:"shadow_mode"`
	}
	if err := decodeConfig(cfg, values, &c); err != nil {
		return nil, err
	}
	o := etcfiles.PasswdOptions{PasswdPath: c.PasswdPath, GroupPath: c.GroupPath, ShadowPath: c.ShadowPath, CreateHomes: c.CreateHomes, WriteShadow: c.WriteShadow}
	var err error
	if o.HomeMode, err = baseimage.ParseMode("home_directory_mode", c.HomeMode, 0o750); err != nil {
		return nil, err
	}
	if o.Mode, err = baseimage.ParseMode("mode", c.Mode, 0o644); err != nil {
		return nil, err
	}
	if o.ShadowMode, err = baseimage.ParseMode("shadow_mode", c.ShadowMode, 0o640); err != nil {
		return nil, err
	}
	for _, s := range c.Users {
		u, err := etcfiles.ParseUser(s)
		if err != nil {
			return nil, err
		}
		o.Users = append(o.Users, u)
	}
	for _, s := range c.Groups {
		g, err := etcfiles.ParseGroup(s)
		if err != nil {
			return nil, err
		}
		o.Groups = append(o.Groups, g)
	}
	if o.PasswdSrcs, err = readInputs(c.PasswdSrcs); err != nil {
		return nil, err
	}
	if o.GroupSrcs, err = readInputs(c.GroupSrcs); err != nil {
		return nil, err
	}
	if o.ShadowSrcs, err = readInputs(c.ShadowSrcs); err != nil {
		return nil, err
	}
	return etcfiles.Passwd(o)
}

func baseEtcHosts(cfg, values []byte) ([]baseimage.Entry, error) {
	var c struct {
		Hosts           [][2]string `json:"hosts"`
		Srcs            []string    `json:"srcs"`
		IncludeDefaults bool        `json:"include_defaults"`
		Path            string      `json:"path"`
		Mode            string      `json:"mode"`
	}
	if err := decodeConfig(cfg, values, &c); err != nil {
		return nil, err
	}
	mode, err := baseimage.ParseMode("mode", c.Mode, 0o644)
	if err != nil {
		return nil, err
	}
	srcs, err := readInputs(c.Srcs)
	if err != nil {
		return nil, err
	}
	return etcfiles.Hosts(etcfiles.HostsOptions{Hosts: toPairs(c.Hosts), Srcs: srcs, IncludeDefaults: c.IncludeDefaults, Path: c.Path, Mode: mode})
}

func baseEtcEnvironment(cfg, values []byte) ([]baseimage.Entry, error) {
	var c struct {
		Env   [][2]string `json:"env"`
		Srcs  []string    `json:"srcs"`
		Path  string      `json:"path"`
		Quote bool        `json:"quote"`
		Mode  string      `json:"mode"`
	}
	if err := decodeConfig(cfg, values, &c); err != nil {
		return nil, err
	}
	mode, err := baseimage.ParseMode("mode", c.Mode, 0o644)
	if err != nil {
		return nil, err
	}
	srcs, err := readInputs(c.Srcs)
	if err != nil {
		return nil, err
	}
	return etcfiles.Environment(etcfiles.EnvironmentOptions{Env: toPairs(c.Env), Srcs: srcs, Path: c.Path, Quote: c.Quote, Mode: mode})
}

func baseEtcRelease(cfg, values []byte) ([]baseimage.Entry, error) {
	var c struct {
		OSRelease      [][2]string `json:"os_release"`
		LSBRelease     [][2]string `json:"lsb_release"`
		OSReleaseSrcs  []string    `json:"os_release_srcs"`
		LSBReleaseSrcs []string    `json:"lsb_release_srcs"`
		WriteLSB       bool        `json:"write_lsb_release"`
		UsrLibSymlink  bool        `json:"usr_lib_symlink"`
		OSReleasePath  string      `json:"os_release_path"`
		UsrLibPath     string      `json:"usr_lib_path"`
		LSBReleasePath string      `json:"lsb_release_path"`
		Mode           string      `json:"mode"`
	}
	if err := decodeConfig(cfg, values, &c); err != nil {
		return nil, err
	}
	o := etcfiles.ReleaseOptions{OSRelease: toPairs(c.OSRelease), LSBRelease: toPairs(c.LSBRelease), OSReleasePath: c.OSReleasePath, LSBReleasePath: c.LSBReleasePath, UsrLibPath: c.UsrLibPath, WriteLSBRelease: c.WriteLSB, UsrLibSymlink: c.UsrLibSymlink}
	var err error
	if o.Mode, err = baseimage.ParseMode("mode", c.Mode, 0o644); err != nil {
		return nil, err
	}
	if o.OSReleaseSrcs, err = readInputs(c.OSReleaseSrcs); err != nil {
		return nil, err
	}
	if o.LSBReleaseSrcs, err = readInputs(c.LSBReleaseSrcs); err != nil {
		return nil, err
	}
	return etcfiles.Release(o)
}

func baseTrustStore(cfg, values []byte) ([]baseimage.Entry, error) {
	var c struct {
		Certs            []string `json:"certs"`
		Debs             []string `json:"debs"`
		RPMs             []string `json:"rpms"`
		Bundle           bool     `json:"bundle"`
		BundlePath       string   `json:"bundle_path"`
		Exploded         bool     `json:"exploded"`
		ExplodedDir      string   `json:"exploded_dir"`
		JavaKeystore     bool     `json:"java_keystore"`
		JavaKeystorePath string   `json:"java_keystore_path"`
		JavaPassword     string   `json:"java_keystore_password"`
		Mode             string   `json:"mode"`
	}
	if err := decodeConfig(cfg, values, &c); err != nil {
		return nil, err
	}
	mode, err := baseimage.ParseMode("mode", c.Mode, 0o644)
	if err != nil {
		return nil, err
	}
	var store truststore.Store
	for _, p := range c.Certs {
		if err := store.AddPath(p); err != nil {
			return nil, err
		}
	}
	for _, pkgs := range []struct {
		paths []string
		add   func(string, io.Reader) error
	}{{c.Debs, store.AddDeb}, {c.RPMs, store.AddRPM}} {
		for _, p := range pkgs.paths {
			f, err := os.Open(p)
			if err != nil {
				return nil, err
			}
			err = pkgs.add(p, bufio.NewReader(f))
			f.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	return truststore.Entries(&store, truststore.Layout{
		Bundle: c.Bundle, BundlePath: c.BundlePath,
		Exploded: c.Exploded, ExplodedDir: c.ExplodedDir,
		JavaKeystore: c.JavaKeystore, JavaKeystorePath: c.JavaKeystorePath, JavaKeystorePassword: c.JavaPassword,
		Mode: mode,
	})
}

func baseSystemLibraries(cfg, values []byte) ([]baseimage.Entry, error) {
	var c struct {
		Libraries    [][2]string       `json:"libraries"`
		LibDir       string            `json:"lib_dir"`
		LdSoConf     bool              `json:"ldso_conf"`
		LdSoCache    bool              `json:"ldso_cache"`
		Arch         string            `json:"arch"`
		Mode         string            `json:"mode"`
		DefaultMD    string            `json:"default_metadata"`
		FileMetadata map[string]string `json:"file_metadata"`
	}
	if err := decodeConfig(cfg, values, &c); err != nil {
		return nil, err
	}
	mode, err := baseimage.ParseMode("mode", c.Mode, 0o755)
	if err != nil {
		return nil, err
	}
	o := syslibs.LibrariesOptions{LibDir: c.LibDir, LdSoConf: c.LdSoConf, LdSoCache: c.LdSoCache, Arch: c.Arch, Mode: mode}
	for _, l := range c.Libraries {
		o.Libraries = append(o.Libraries, syslibs.Library{Name: l[0], Source: l[1]})
	}
	entries, err := syslibs.Libraries(o)
	if err != nil {
		return nil, err
	}
	md, err := layer.ParseMetadata(c.DefaultMD, c.FileMetadata)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for i := range entries {
		e := &entries[i]
		if e.Type != baseimage.TypeFile || e.Source == "" {
			continue
		}
		for _, m := range []*layer.FileMetadata{md.Defaults, md.Overrides[e.Path]} {
			if err := e.ApplyMetadata(m); err != nil {
				return nil, err
			}
		}
		used[e.Path] = md.Overrides[e.Path] != nil
	}
	for _, p := range sortedKeys(md.Overrides) {
		if !used[p] {
			return nil, fmt.Errorf("file_metadata for /%s: no library is placed there: %w", p, baseimage.ErrInvalidArgument)
		}
	}
	return entries, nil
}
