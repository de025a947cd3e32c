package load

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// platformSpec is what WithPlatforms selects.
type platformSpec struct {
	set  bool // given by WithPlatforms (not a default)
	all  bool
	list []wantPlatform
	// from says where a default came from, for messages: "the host
	// platform", "$DOCKER_DEFAULT_PLATFORM".
	from string
}

// wantPlatform is one requested platform.
type wantPlatform struct {
	p ocispec.Platform // normalized
	// variant is true when the request named a variant; otherwise every
	// variant of the architecture matches.
	variant bool
	text    string // as given
}

func parsePlatforms(spec string) (platformSpec, error) {
	s := platformSpec{set: true}
	if strings.TrimSpace(spec) == "all" {
		s.all = true
		return s, nil
	}
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		parts := strings.Split(f, "/")
		if len(parts) < 2 || len(parts) > 3 {
			return s, invalidf("platform %q: want os/arch[/variant] such as linux/amd64 or linux/arm/v7, or all", f)
		}
		p, err := platforms.Parse(f)
		if err != nil {
			return s, invalidf("platform %q: %v; want os/arch[/variant] such as linux/amd64, or all", f, err)
		}
		s.list = append(s.list, wantPlatform{p: platforms.Normalize(p), variant: len(parts) == 3, text: f})
	}
	if len(s.list) == 0 {
		return s, invalidf("platform %q: empty; want a comma-separated list of os/arch[/variant], or all", spec)
	}
	return s, nil
}

// HostPlatform is the default platform of loads that take one platform
// when $DOCKER_DEFAULT_PLATFORM is unset: linux and the host's
// architecture (containers on macOS and Windows run in a Linux VM).
func HostPlatform() string { return "linux/" + runtime.GOARCH }

// defaultPlatforms is the selection of a load into daemon without
// WithPlatforms (see WithPlatforms).
func (l *Loader) defaultPlatforms(daemon string) (platformSpec, error) {
	if daemon == DaemonContainerd {
		return platformSpec{all: true}, nil
	}
	if v := l.env.get("DOCKER_DEFAULT_PLATFORM"); v != "" {
		s, err := parsePlatforms(v)
		if err != nil {
			return s, fmt.Errorf("$DOCKER_DEFAULT_PLATFORM: %w", err)
		}
		s.set, s.from = false, "$DOCKER_DEFAULT_PLATFORM"
		return s, nil
	}
	p := platforms.Normalize(ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH})
	return platformSpec{list: []wantPlatform{{p: p, text: HostPlatform()}}, from: "the host platform"}, nil
}

func (w wantPlatform) match(p *ocispec.Platform) bool {
	if p == nil {
		return false
	}
	n := platforms.Normalize(*p)
	return n.OS == w.p.OS && n.Architecture == w.p.Architecture && (!w.variant || n.Variant == w.p.Variant)
}

// formatPlatform is "os/arch[/variant]", or "unknown".
func formatPlatform(p *ocispec.Platform) string {
	if p == nil {
		return "unknown"
	}
	return platforms.Format(*p)
}

// selectManifests returns the indexes of the manifests to load into
// daemon, in index order (see WithPlatforms).
func (l *Loader) selectManifests(im *image, daemon string) ([]int, error) {
	spec := l.o.platforms
	if !spec.set {
		if len(im.manifests) == 1 {
			return []int{0}, nil
		}
		var err error
		if spec, err = l.defaultPlatforms(daemon); err != nil {
			return nil, err
		}
	}
	if spec.all {
		sel := make([]int, len(im.manifests))
		for i := range sel {
			sel[i] = i
		}
		return sel, nil
	}
	if im.entries == nil {
		// One manifest: loaded unless an explicit list excludes its platform.
		p := im.manifests[0].platform
		if !spec.set || p == nil {
			return []int{0}, nil
		}
		for _, w := range spec.list {
			if w.match(p) {
				return []int{0}, nil
			}
		}
		return nil, invalidf("the image is for %s, not for --platform %s", formatPlatform(p), spec.texts())
	}
	var sel []int
	taken := map[int]bool{}
	for _, w := range spec.list {
		found := false
		for m := range im.manifests {
			if w.match(im.manifests[m].platform) {
				found = true
				if !taken[m] {
					taken[m] = true
					sel = append(sel, m)
				}
				break
			}
		}
		if !found && len(spec.list) > 1 {
			l.printf("note: the index has no manifest for %s\n", w.text)
		}
	}
	if len(sel) == 0 && !spec.set && unifiedTar(daemon) {
		// The tar holds every manifest anyway; manifest.json names the
		// first when the default platform has none.
		l.printf("note: the index has no manifest for %s %s; the tar's manifest.json lists its first, %s\n",
			spec.from, spec.texts(), formatPlatform(im.manifests[0].platform))
		return []int{0}, nil
	}
	if len(sel) == 0 {
		var have []string
		for _, m := range im.manifests {
			have = append(have, formatPlatform(m.platform))
		}
		how := spec.from + " " + spec.texts() + " (choose with --platform)"
		if spec.set {
			how = "--platform " + spec.texts()
		}
		return nil, invalidf("the index has no manifest for %s; it has %s", how, strings.Join(have, ", "))
	}
	// Index order, whatever the order of the request.
	sorted := make([]int, 0, len(sel))
	for m := range im.manifests {
		if taken[m] {
			sorted = append(sorted, m)
		}
	}
	return sorted, nil
}

func (s platformSpec) texts() string {
	if s.all {
		return "all"
	}
	t := make([]string, len(s.list))
	for i, w := range s.list {
		t[i] = w.text
	}
	return strings.Join(t, ",")
}
