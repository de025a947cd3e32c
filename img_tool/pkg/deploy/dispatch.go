// Package deploy runs the deploy operations of a `bazel run` target: the
// deploy manifest (dispatch.json) that the build writes, the runfiles that
// hold its blobs, and the eager push to a registry.
//
// The build never reads a blob to write the deploy manifest: it records
// descriptors only. At run time Push moves the blobs that the destination
// lacks, then the manifests, and the tags last.
package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
	"github.com/rules-img/rules_img/img_tool/pkg/load"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// Commands of an operation.
const (
	CommandPush = "push"
	CommandLoad = "load"
)

// Kinds of the root of an operation.
const (
	RootManifest = "manifest"
	RootIndex    = "index"
)

// Strategies of pushes and loads.
const (
	StrategyEager       = "eager"
	StrategyLazy        = "lazy"
	StrategyCASRegistry = "cas_registry"
	StrategyBES         = "bes"
)

// PushStrategies and LoadStrategies are the valid strategies, in the order
// that messages list them.
var (
	PushStrategies = []string{StrategyEager, StrategyLazy, StrategyCASRegistry, StrategyBES}
	LoadStrategies = []string{StrategyEager, StrategyLazy}
)

// Dispatch is the deploy manifest, dispatch.json: the operations of one
// `bazel run` target, run in order, and the strategies they use.
type Dispatch struct {
	Operations []Operation `json:"operations"`
	Settings   Settings    `json:"settings"`
}

// Settings choose how blobs move. An empty strategy means eager.
type Settings struct {
	PushStrategy string `json:"push_strategy,omitempty"`
	LoadStrategy string `json:"load_strategy,omitempty"`
	// RemoteCache ("grpc://host:port" or "grpcs://host:port"),
	// RemoteInstanceName and CredentialHelper say where blobs that are not
	// in the runfiles are read from (lazy). The environment of the run
	// overrides them (IMG_REAPI_ENDPOINT, IMG_REAPI_INSTANCE_NAME,
	// IMG_CREDENTIAL_HELPER).
	RemoteCache        string `json:"remote_cache,omitempty"`
	RemoteInstanceName string `json:"remote_instance_name,omitempty"`
	CredentialHelper   string `json:"credential_helper,omitempty"`
	// CredentialHelperOCIRegistry and CredentialHelperRemoteCache are the
	// helpers of registry calls and of remote cache calls; each wins over
	// CredentialHelper for its kind (IMG_CREDENTIAL_HELPER_OCI_REGISTRY,
	// IMG_CREDENTIAL_HELPER_REMOTE_CACHE override them).
	CredentialHelperOCIRegistry string `json:"credential_helper_oci_registry,omitempty"`
	CredentialHelperRemoteCache string `json:"credential_helper_remote_cache,omitempty"`
}

// Descriptor names a blob or manifest by content.
type Descriptor struct {
	MediaType string `json:"mediaType"`
	// Digest is "sha256:" and 64 lowercase hex digits.
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// ManifestInfo is one image manifest of an operation: the manifest itself,
// its config and its layers.
type ManifestInfo struct {
	Descriptor Descriptor   `json:"descriptor"`
	Config     Descriptor   `json:"config"`
	LayerBlobs []Descriptor `json:"layer_blobs"`
	// MissingBlobs are the hex sha256 digests (no "sha256:") of layers that
	// the build never had, base layers of a shallow pull; they come from
	// the original registries at push time.
	MissingBlobs []string `json:"missing_blobs,omitempty"`
	// LayerOrigins[j] says which target wrote layer j and where (empty for
	// missing blobs); absent in deploy manifests of older versions.
	LayerOrigins []LayerOrigin `json:"layer_origins,omitempty"`
	// OriginalRegistries and OriginalRepository say where the missing
	// blobs of this manifest come from when its base is not the
	// operation's (an index over images on different pulled bases).
	// Empty: the operation's Original* fields.
	OriginalRegistries []string `json:"original_registries,omitempty"`
	OriginalRepository string   `json:"original_repository,omitempty"`
}

// BaseOrigin is where the missing blobs of a manifest are fetched or
// mounted from: registries in the order to try, and a repository.
type BaseOrigin struct {
	Registries []string `json:"registries"`
	Repository string   `json:"repository"`
}

// BaseOrigin returns where the missing blobs of manifest m come from: the
// manifest's own original registry and repository, else the operation's.
func (op *Operation) BaseOrigin(m int) BaseOrigin {
	if m >= 0 && m < len(op.Manifests) && op.Manifests[m].OriginalRepository != "" {
		mi := op.Manifests[m]
		return BaseOrigin{Registries: mi.OriginalRegistries, Repository: mi.OriginalRepository}
	}
	return BaseOrigin{Registries: op.OriginalRegistries, Repository: op.OriginalRepository}
}

// LayerOrigin is the target that wrote a layer blob and the blob's path
// below the execution root ("bazel-out/k8-fastbuild/bin/app/layer.tgz").
type LayerOrigin struct {
	Target string `json:"target,omitempty"`
	Path   string `json:"path,omitempty"`
}

// Origin is the origin of layer j, zero when unknown.
func (m *ManifestInfo) Origin(j int) LayerOrigin {
	if j < len(m.LayerOrigins) {
		return m.LayerOrigins[j]
	}
	return LayerOrigin{}
}

// Operation is one push or load of one image or index.
type Operation struct {
	// Command is CommandPush or CommandLoad.
	Command string `json:"command"`
	// Target is the label of the push or load target ("//app:push"); every
	// error about the operation names it. Empty in deploy manifests of
	// older versions.
	Target string `json:"target,omitempty"`
	// RootKind is RootManifest or RootIndex.
	RootKind string `json:"root_kind"`
	// Root is the descriptor of the image manifest or index.
	Root Descriptor `json:"root"`
	// Manifests are the image manifests: the root itself for RootManifest,
	// the entries of the index, in index order, for RootIndex.
	Manifests []ManifestInfo `json:"manifests"`

	// OriginalRegistries, OriginalRepository, OriginalTag and
	// OriginalDigest say where the base image was pulled from; missing
	// blobs are mounted or streamed from there. Empty without a base.
	OriginalRegistries []string `json:"original_registries,omitempty"`
	OriginalRepository string   `json:"original_repository,omitempty"`
	OriginalTag        string   `json:"original_tag,omitempty"`
	OriginalDigest     string   `json:"original_digest,omitempty"`

	// Registry and Repository are the destination of a push. Either may be
	// empty: the launcher's --registry and --repository give it then.
	Registry   string `json:"registry,omitempty"`
	Repository string `json:"repository,omitempty"`
	// Tags are the tags of a push (none: a push by digest only), or the
	// names of a load (none: a load without a name).
	Tags []string `json:"tags,omitempty"`

	// Tag (a single name, from deploy manifests of older versions) and
	// Daemon are the destination of a load. New deploy manifests list
	// every name in Tags.
	Tag    string `json:"tag,omitempty"`
	Daemon string `json:"daemon,omitempty"`

	// Registry, repository, tags and names may hold Go template text that
	// the build did not expand (stamping was off): they decode, and the
	// launcher refuses to run the operation, naming the missing keys.
}

// LoadNames are the names of a load operation: Tag, then Tags, without
// empty strings and repeats.
func (op *Operation) LoadNames() []string {
	var names []string
	for _, n := range append([]string{op.Tag}, op.Tags...) {
		if n != "" && !oneOf(n, names) {
			names = append(names, n)
		}
	}
	return names
}

// ErrInvalid is wrapped by every error about a malformed deploy manifest,
// flag or name.
var ErrInvalid = errors.New("invalid")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Decode reads one deploy manifest strictly: unknown fields, trailing data
// and invalid values are errors.
func Decode(r io.Reader) (*Dispatch, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var d Dispatch
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidf("data after the deploy manifest")
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Read decodes the resolved deploy manifest at path (see Decode); a plan
// is an error, since resolving it needs its target's runfiles (see
// ReadResolved).
func Read(path string) (*Dispatch, error) {
	d, plan, err := readManifestOrPlan(path)
	if err == nil && plan != nil {
		err = invalidf("deploy manifest %s is a deploy plan: it is resolved from the runfiles of its target", path)
	}
	return d, err
}

// Encode returns the JSON of d, with a final newline.
func (d *Dispatch) Encode() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if d.Operations == nil {
		d = &Dispatch{Operations: []Operation{}, Settings: d.Settings}
	}
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Write validates d and writes it to path atomically.
func (d *Dispatch) Write(path string) error {
	data, err := d.Encode()
	if err != nil {
		return fmt.Errorf("deploy manifest %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

// Validate checks every operation and the settings.
func (d *Dispatch) Validate() error {
	if d.Settings.PushStrategy != "" && !oneOf(d.Settings.PushStrategy, PushStrategies) {
		return invalidf("push_strategy %q: want one of %s", d.Settings.PushStrategy, strings.Join(PushStrategies, ", "))
	}
	if d.Settings.LoadStrategy != "" && !oneOf(d.Settings.LoadStrategy, LoadStrategies) {
		return invalidf("load_strategy %q: want one of %s", d.Settings.LoadStrategy, strings.Join(LoadStrategies, ", "))
	}
	for i := range d.Operations {
		if err := d.Operations[i].Validate(); err != nil {
			return fmt.Errorf("%s: %w", opName(i, d.Operations[i].Target), err)
		}
	}
	return nil
}

// Validate checks that the operation is well formed: command, root kind,
// descriptors, missing blobs, and the fields of its command. A push may lack
// its registry and repository, a load its names; values with template text
// are not checked (the launcher refuses them, see ErrUnresolvedTemplate).
func (op *Operation) Validate() error {
	if strings.ContainsAny(op.Target, "\n\r") {
		return invalidf("target %q: a label has no line breaks", op.Target)
	}
	if err := op.Root.validate("root"); err != nil {
		return err
	}
	if len(op.Manifests) == 0 {
		return invalidf("no manifests")
	}
	switch op.RootKind {
	case RootManifest:
		if len(op.Manifests) != 1 {
			return invalidf("root_kind manifest with %d manifests, want 1", len(op.Manifests))
		}
		if op.Manifests[0].Descriptor != op.Root {
			return invalidf("root %s differs from manifest 0 %s", op.Root.Digest, op.Manifests[0].Descriptor.Digest)
		}
	case RootIndex:
	default:
		return invalidf("root_kind %q: want manifest or index", op.RootKind)
	}
	for m, mi := range op.Manifests {
		if err := mi.validate(); err != nil {
			return fmt.Errorf("manifest %d: %w", m, err)
		}
	}
	for _, r := range op.OriginalRegistries {
		if err := ValidateRegistry(r); err != nil {
			return fmt.Errorf("original_registries: %w", err)
		}
	}
	if op.OriginalRepository != "" {
		if err := ValidateRepository(op.OriginalRepository); err != nil {
			return fmt.Errorf("original_repository: %w", err)
		}
	}
	if op.OriginalDigest != "" && !metadata.ValidDigest(op.OriginalDigest) {
		return invalidf("original_digest %q is not sha256: and 64 lowercase hex digits", op.OriginalDigest)
	}
	switch op.Command {
	case CommandPush:
		if op.Tag != "" || op.Daemon != "" {
			return invalidf("push with load fields tag/daemon")
		}
		return validatePartialDestination(op.Registry, op.Repository, op.Tags)
	case CommandLoad:
		if op.Registry != "" || op.Repository != "" {
			return invalidf("load with push fields registry/repository")
		}
		if op.Daemon == "" {
			return invalidf("load without a daemon")
		}
		for _, n := range append([]string{op.Tag}, op.Tags...) {
			if n == "" || hasTemplate(n) {
				continue
			}
			if err := load.ValidateName(n); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalid, err)
			}
		}
		return nil
	default:
		return invalidf("command %q: want push or load", op.Command)
	}
}

func (mi *ManifestInfo) validate() error {
	if err := mi.Descriptor.validate("descriptor"); err != nil {
		return err
	}
	if err := mi.Config.validate("config"); err != nil {
		return err
	}
	layers := make(map[string]bool, len(mi.LayerBlobs))
	for j, l := range mi.LayerBlobs {
		if err := l.validate(fmt.Sprintf("layer %d", j)); err != nil {
			return err
		}
		layers[strings.TrimPrefix(l.Digest, "sha256:")] = true
	}
	for _, r := range mi.OriginalRegistries {
		if err := ValidateRegistry(r); err != nil {
			return fmt.Errorf("original_registries: %w", err)
		}
	}
	if mi.OriginalRepository != "" {
		if err := ValidateRepository(mi.OriginalRepository); err != nil {
			return fmt.Errorf("original_repository: %w", err)
		}
	}
	if (len(mi.OriginalRegistries) == 0) != (mi.OriginalRepository == "") {
		return invalidf("original_registries and original_repository go together")
	}
	for _, h := range mi.MissingBlobs {
		if !metadata.ValidDigest("sha256:" + h) {
			return invalidf("missing blob %q is not 64 lowercase hex digits", h)
		}
		if !layers[h] {
			return invalidf("missing blob %s is not a layer of the manifest", h)
		}
	}
	return nil
}

func (d Descriptor) validate(what string) error {
	switch {
	case d.MediaType == "":
		return invalidf("%s: empty mediaType", what)
	case !metadata.ValidDigest(d.Digest):
		return invalidf("%s: digest %q is not sha256: and 64 lowercase hex digits", what, d.Digest)
	case d.Size < 0:
		return invalidf("%s: negative size %d", what, d.Size)
	}
	return nil
}

// Missing reports whether the layer with the given digest is a missing blob
// of the manifest.
func (mi *ManifestInfo) Missing(digest string) bool {
	h := strings.TrimPrefix(digest, "sha256:")
	for _, m := range mi.MissingBlobs {
		if m == h {
			return true
		}
	}
	return false
}

// Merge concatenates the operations of ds, in order, under settings.
func Merge(settings Settings, ds ...*Dispatch) (*Dispatch, error) {
	out := &Dispatch{Operations: []Operation{}, Settings: settings}
	for _, d := range ds {
		out.Operations = append(out.Operations, d.Operations...)
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

func oneOf(s string, values []string) bool {
	for _, v := range values {
		if s == v {
			return true
		}
	}
	return false
}
