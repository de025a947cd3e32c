package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Inputs are what `img deploy-metadata` reads for one operation. Only
// metadata: manifests, configuration, digests; never a layer blob.
type Inputs struct {
	// Command is CommandPush or CommandLoad.
	Command string
	// Target is the label of the push or load target, for messages;
	// optional.
	Target string
	// RootKind is RootManifest or RootIndex.
	RootKind string
	// Root is the JSON of the image manifest or index.
	Root []byte
	// Manifests[i] is the JSON of manifest i of the root's manifest list;
	// for RootManifest the one entry is the root itself.
	Manifests [][]byte
	// MissingBlobs[i] are the layers of manifest i that the build does not
	// have, as hex sha256 digests ("sha256:" is accepted and dropped).
	MissingBlobs map[int][]string
	// Configuration is the destination as JSON: for a push
	// {"registry", "repository", "tags"} (registry and repository may be
	// empty or absent), for a load {"tag", "tags", "daemon"} (tag and tags
	// may be empty or absent: a load without a name).
	Configuration []byte
	// Strategy becomes settings.push_strategy or settings.load_strategy.
	// Empty means eager.
	Strategy string
	// Remote is copied to the remote cache fields of the settings.
	Remote Settings
	// LayerOrigins[i][j] is the origin of layer j of manifest i; optional.
	LayerOrigins [][]LayerOrigin
	// Original* say where the base image came from (see Operation).
	OriginalRegistries []string
	OriginalRepository string
	OriginalTag        string
	OriginalDigest     string
	// ManifestOrigins[i] is where the missing blobs of manifest i come from
	// when that differs from Original* (see ManifestInfo); optional.
	ManifestOrigins map[int]BaseOrigin
}

// pushConfiguration and loadConfiguration are the configuration files.
type pushConfiguration struct {
	Registry   string   `json:"registry"`
	Repository string   `json:"repository"`
	Tags       []string `json:"tags"`
}

type loadConfiguration struct {
	Tag    string   `json:"tag"`
	Tags   []string `json:"tags"`
	Daemon string   `json:"daemon"`
}

// NewDispatch returns the deploy manifest of one operation. It checks that
// the manifests belong to the root (entry i of an index is manifest i), that
// every missing blob is a layer, and the destination names that hold no
// template text (see Operation.Validate). Empty tags and names are dropped;
// no tags means a push by digest only, no names a load without a name. The
// names of a load, from "tag" and "tags", go to Operation.Tags.
func NewDispatch(in Inputs) (*Dispatch, error) {
	strategy := in.Strategy
	if strategy == "" {
		strategy = StrategyEager
	}
	d := &Dispatch{Settings: Settings{
		RemoteCache:        in.Remote.RemoteCache,
		RemoteInstanceName: in.Remote.RemoteInstanceName,
		CredentialHelper:   in.Remote.CredentialHelper,
	}}
	switch in.Command {
	case CommandPush:
		if !oneOf(strategy, PushStrategies) {
			return nil, invalidf("push strategy %q: want one of %s", strategy, strings.Join(PushStrategies, ", "))
		}
		d.Settings.PushStrategy = strategy
	case CommandLoad:
		if !oneOf(strategy, LoadStrategies) {
			return nil, invalidf("load strategy %q: want one of %s", strategy, strings.Join(LoadStrategies, ", "))
		}
		d.Settings.LoadStrategy = strategy
	default:
		return nil, invalidf("command %q: want push or load", in.Command)
	}
	op := Operation{
		Command:            in.Command,
		Target:             in.Target,
		RootKind:           in.RootKind,
		OriginalRegistries: in.OriginalRegistries,
		OriginalRepository: in.OriginalRepository,
		OriginalTag:        in.OriginalTag,
		OriginalDigest:     in.OriginalDigest,
	}
	if err := op.setRoot(in.Root, in.Manifests, in.MissingBlobs); err != nil {
		return nil, err
	}
	if len(in.LayerOrigins) > len(op.Manifests) {
		return nil, invalidf("layer origins for %d manifests, there are %d", len(in.LayerOrigins), len(op.Manifests))
	}
	for i, origins := range in.LayerOrigins {
		if len(origins) != len(op.Manifests[i].LayerBlobs) {
			return nil, invalidf("layer origins of manifest %d: %d entries for %d layers", i, len(origins), len(op.Manifests[i].LayerBlobs))
		}
		op.Manifests[i].LayerOrigins = origins
	}
	for i, o := range in.ManifestOrigins {
		if i < 0 || i >= len(op.Manifests) {
			return nil, invalidf("base origin for manifest %d, there are %d manifests", i, len(op.Manifests))
		}
		if o.Repository == op.OriginalRepository && slices.Equal(o.Registries, op.OriginalRegistries) {
			continue // the operation's origin says it already
		}
		op.Manifests[i].OriginalRegistries = o.Registries
		op.Manifests[i].OriginalRepository = o.Repository
	}
	if err := op.setDestination(in.Configuration); err != nil {
		return nil, err
	}
	d.Operations = []Operation{op}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

func (op *Operation) setRoot(root []byte, manifests [][]byte, missing map[int][]string) error {
	if op.RootKind != RootIndex && op.RootKind != RootManifest {
		return invalidf("root kind %q: want manifest or index", op.RootKind)
	}
	if len(manifests) == 0 {
		return invalidf("no manifest given")
	}
	var entries []v1.Descriptor
	switch op.RootKind {
	case RootIndex:
		idx, err := v1.ParseIndexManifest(bytes.NewReader(root))
		if err != nil {
			return invalidf("root: not an index: %v", err)
		}
		op.Root = describe(root, string(idx.MediaType), types.OCIImageIndex)
		entries = idx.Manifests
		if len(entries) != len(manifests) {
			return invalidf("root index has %d manifests, %d manifest files given", len(entries), len(manifests))
		}
	case RootManifest:
		mt, err := manifestMediaType(root)
		if err != nil {
			return invalidf("root: %v", err)
		}
		op.Root = describe(root, mt, types.OCIManifestSchema1)
		if len(manifests) != 1 {
			return invalidf("root_kind manifest with %d manifest files, want 1", len(manifests))
		}
	default:
		return invalidf("root kind %q: want manifest or index", op.RootKind)
	}
	for i := range missing {
		if i < 0 || i >= len(manifests) {
			return invalidf("missing blobs for manifest %d: there are %d manifests", i, len(manifests))
		}
	}
	for i, raw := range manifests {
		if raw == nil {
			return invalidf("no file for manifest %d", i)
		}
		mi, err := manifestInfo(raw, missing[i])
		if err != nil {
			return fmt.Errorf("manifest %d: %w", i, err)
		}
		if entries != nil && (entries[i].Digest.String() != mi.Descriptor.Digest || entries[i].Size != mi.Descriptor.Size) {
			return invalidf("manifest %d is %s (%d bytes), the index lists %s (%d bytes) at %d", i, mi.Descriptor.Digest, mi.Descriptor.Size, entries[i].Digest, entries[i].Size, i)
		}
		if entries != nil && entries[i].MediaType != "" {
			mi.Descriptor.MediaType = string(entries[i].MediaType)
		}
		op.Manifests = append(op.Manifests, mi)
	}
	if op.RootKind == RootManifest && op.Manifests[0].Descriptor != op.Root {
		return invalidf("manifest 0 is %s, the root is %s", op.Manifests[0].Descriptor.Digest, op.Root.Digest)
	}
	return nil
}

func manifestInfo(raw []byte, missing []string) (ManifestInfo, error) {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return ManifestInfo{}, invalidf("not an image manifest: %v", err)
	}
	mt, err := manifestMediaType(raw)
	if err != nil {
		return ManifestInfo{}, invalidf("%v", err)
	}
	mi := ManifestInfo{
		Descriptor: describe(raw, mt, types.OCIManifestSchema1),
		Config:     Descriptor{MediaType: string(m.Config.MediaType), Digest: m.Config.Digest.String(), Size: m.Config.Size},
		LayerBlobs: make([]Descriptor, len(m.Layers)),
	}
	for j, l := range m.Layers {
		mi.LayerBlobs[j] = Descriptor{MediaType: string(l.MediaType), Digest: l.Digest.String(), Size: l.Size}
	}
	for _, h := range missing {
		h = strings.TrimPrefix(h, "sha256:")
		if h == "" {
			continue
		}
		if !mi.Missing(h) {
			mi.MissingBlobs = append(mi.MissingBlobs, h)
		}
	}
	return mi, nil
}

// manifestMediaType is the "mediaType" of an image manifest; manifests
// without one are OCI manifests. Index media types are refused.
func manifestMediaType(raw []byte) (string, error) {
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return "", fmt.Errorf("not JSON: %v", err)
	}
	if probe.MediaType.IsIndex() {
		return "", fmt.Errorf("an index (%s), not an image manifest", probe.MediaType)
	}
	return string(probe.MediaType), nil
}

func describe(raw []byte, mediaType string, fallback types.MediaType) Descriptor {
	if mediaType == "" {
		mediaType = string(fallback)
	}
	return Descriptor{MediaType: mediaType, Digest: digestOf(raw), Size: int64(len(raw))}
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (op *Operation) setDestination(configuration []byte) error {
	decode := func(v any) error {
		dec := json.NewDecoder(bytes.NewReader(configuration))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return invalidf("configuration: %v", err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return invalidf("configuration: data after the JSON object")
		}
		return nil
	}
	switch op.Command {
	case CommandPush:
		var c pushConfiguration
		if err := decode(&c); err != nil {
			return err
		}
		op.Registry, op.Repository = c.Registry, c.Repository
		op.Tags = appendNew(nil, c.Tags...)
		return validatePartialDestination(op.Registry, op.Repository, op.Tags)
	case CommandLoad:
		var c loadConfiguration
		if err := decode(&c); err != nil {
			return err
		}
		if c.Daemon == "" {
			return invalidf(`configuration: a load needs a non-empty "daemon"`)
		}
		op.Tags = appendNew(nil, append([]string{c.Tag}, c.Tags...)...)
		op.Daemon = c.Daemon
	}
	return nil
}

// appendNew appends the values that are neither empty nor in list yet.
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if v != "" && !oneOf(v, list) {
			list = append(list, v)
		}
	}
	return list
}
