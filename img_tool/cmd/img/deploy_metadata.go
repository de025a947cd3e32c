//go:build !img_build_actions

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
)

// indexedFlag collects repeatable I=VALUE flags, I a manifest index.
type indexedFlag struct {
	name   string
	values map[int][]string
}

func (f *indexedFlag) String() string { return "" }
func (f *indexedFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	i, err := strconv.Atoi(k)
	if !ok || err != nil || i < 0 {
		return fmt.Errorf("--%s %q: want I=VALUE with I a manifest index (0, 1, ...)", f.name, v)
	}
	if f.values == nil {
		f.values = map[int][]string{}
	}
	f.values[i] = append(f.values[i], val)
	return nil
}

func runDeployMetadata(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("deploy-metadata", "[flags] OUTPUT")
	var (
		command, rootPath, rootKind, configPath, strategy string
		target                                            string
		origRepository, origTag, origDigest               string
		originsPath                                       string
		remote                                            deploy.Settings
		origRegistries                                    listFlag
		manifestPaths                                     = indexedFlag{name: "manifest-path"}
		missing                                           = indexedFlag{name: "missing-blobs-for-manifest"}
		manifestOrigins                                   = indexedFlag{name: "original-for-manifest"}
	)
	fs.StringVar(&command, "command", "", `The operation: "push" or "load".`)
	fs.StringVar(&rootPath, "root-path", "", "The root manifest or index JSON.")
	fs.StringVar(&rootKind, "root-kind", "", `Kind of the root: "manifest" or "index".`)
	fs.StringVar(&target, "target", "", `Label of the push or load target, e.g. //app:push; the launcher's errors name it.`)
	fs.StringVar(&configPath, "configuration-file", "", `JSON of the destination: push {"registry","repository","tags"} (registry and repository may be empty: given at run time), load {"tag" or "tags" (may be empty: no name),"daemon"}.`)
	fs.StringVar(&strategy, "strategy", deploy.StrategyEager, `Push strategy (eager, lazy, cas_registry, bes) or load strategy (eager, lazy).`)
	fs.Var(&manifestPaths, "manifest-path", "I=FILE: manifest JSON of entry I of the root's manifest list (0 for a single manifest; default: the root). Repeatable.")
	fs.Var(&missing, "missing-blobs-for-manifest", "I=HEX,HEX...: layers of manifest I that the build does not have (shallow base), as hex sha256. Repeatable.")
	fs.StringVar(&originsPath, "layer-origins-file", "", `JSON [[{"target","path"}, ...], ...]: the target and output path of layer j of manifest i. Optional.`)
	remoteCacheFlags(fs, &remote)
	fs.Var(&origRegistries, "original-registry", "Registry the base image was pulled from; missing blobs are mounted or streamed from it. Repeatable, in order.")
	fs.StringVar(&origRepository, "original-repository", "", "Repository the base image was pulled from.")
	fs.StringVar(&origTag, "original-tag", "", "Tag the base image was pulled by.")
	fs.StringVar(&origDigest, "original-digest", "", "Digest of the base image.")
	fs.Var(&manifestOrigins, "original-for-manifest", "I=REPOSITORY@REGISTRY,REGISTRY...: where the missing blobs of manifest I come from, when its base is not the one of --original-*. Repeatable.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want exactly one OUTPUT argument, got %q", fs.Args())
	}
	for _, f := range []struct{ name, value string }{{"command", command}, {"root-path", rootPath}, {"root-kind", rootKind}, {"configuration-file", configPath}} {
		if f.value == "" {
			return fmt.Errorf("--%s is required", f.name)
		}
	}
	in := deploy.Inputs{
		Command:            command,
		Target:             target,
		RootKind:           rootKind,
		Strategy:           strategy,
		OriginalRegistries: origRegistries,
		OriginalRepository: origRepository,
		OriginalTag:        origTag,
		OriginalDigest:     origDigest,
		MissingBlobs:       map[int][]string{},
		Remote:             remote,
	}
	var err error
	if originsPath != "" {
		data, err := os.ReadFile(originsPath)
		if err != nil {
			return fmt.Errorf("--layer-origins-file: %w", err)
		}
		if err := json.Unmarshal(data, &in.LayerOrigins); err != nil {
			return fmt.Errorf("--layer-origins-file %s: %w", originsPath, err)
		}
	}
	if in.Root, err = os.ReadFile(rootPath); err != nil {
		return fmt.Errorf("--root-path: %w", err)
	}
	if in.Configuration, err = os.ReadFile(configPath); err != nil {
		return fmt.Errorf("--configuration-file: %w", err)
	}
	paths := manifestPaths.values
	if len(paths) == 0 && rootKind == deploy.RootManifest {
		paths = map[int][]string{0: {rootPath}}
	}
	in.Manifests = make([][]byte, len(paths))
	for i := range in.Manifests {
		files := paths[i]
		switch {
		case len(files) == 0:
			return fmt.Errorf("--manifest-path: no file for manifest %d (indices must be 0 to %d)", i, len(paths)-1)
		case len(files) > 1:
			return fmt.Errorf("--manifest-path: manifest %d given %d times", i, len(files))
		}
		if in.Manifests[i], err = os.ReadFile(files[0]); err != nil {
			return fmt.Errorf("--manifest-path %d: %w", i, err)
		}
	}
	idx := make([]int, 0, len(missing.values))
	for i := range missing.values {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		for _, list := range missing.values[i] {
			for _, h := range strings.Split(list, ",") {
				if h = strings.TrimSpace(h); h != "" {
					in.MissingBlobs[i] = append(in.MissingBlobs[i], h)
				}
			}
		}
	}
	for i, values := range manifestOrigins.values {
		if len(values) != 1 {
			return fmt.Errorf("--original-for-manifest: manifest %d given %d times", i, len(values))
		}
		repo, regs, ok := strings.Cut(values[0], "@")
		if !ok || repo == "" || regs == "" {
			return fmt.Errorf("--original-for-manifest %d=%s: want REPOSITORY@REGISTRY[,REGISTRY...]", i, values[0])
		}
		if in.ManifestOrigins == nil {
			in.ManifestOrigins = map[int]deploy.BaseOrigin{}
		}
		in.ManifestOrigins[i] = deploy.BaseOrigin{Repository: repo, Registries: strings.Split(regs, ",")}
	}
	d, err := deploy.NewDispatch(in)
	if err != nil {
		return err
	}
	d.Settings.CredentialHelperOCIRegistry = remote.CredentialHelperOCIRegistry
	d.Settings.CredentialHelperRemoteCache = remote.CredentialHelperRemoteCache
	return d.Write(fs.Arg(0))
}

// remoteCacheFlags declares the flags of the remote cache settings, shared by
// deploy-metadata and deploy-merge.
func remoteCacheFlags(fs *flag.FlagSet, s *deploy.Settings) {
	fs.StringVar(&s.RemoteCache, "remote-cache", "", "REAPI remote cache that lazy pushes read blobs from: grpc://HOST:PORT or grpcs://HOST:PORT.")
	fs.StringVar(&s.RemoteInstanceName, "remote-instance-name", "", "Instance name on the remote cache.")
	fs.StringVar(&s.CredentialHelper, "credential-helper", "", "Credential helper for the remote cache and the registries, unless one of the next two is set.")
	fs.StringVar(&s.CredentialHelperOCIRegistry, "credential-helper-oci-registry", "", "Credential helper for registry calls (push, pull, tag).")
	fs.StringVar(&s.CredentialHelperRemoteCache, "credential-helper-remote-cache", "", "Credential helper for gRPC calls to the remote cache.")
}
