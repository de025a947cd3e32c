package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Plan is the deploy manifest as the build writes it for a push or load
// whose strategy needs nothing resolved at build time (every strategy but
// bes): a file write of the analysis, no process. It names what each
// operation deploys; the manifests and the destination stay in the
// operation's runfiles, and the launcher resolves the plan into a Dispatch
// (with NewDispatch's checks) when it starts. Bazel therefore runs no
// action per deploy target; a bes push, whose deploy manifest the Build
// Event Service reads without runfiles, still gets a resolved Dispatch.
type Plan struct {
	Operations []PlannedOperation `json:"planned_operations"`
	Settings   Settings           `json:"settings"`
}

// PlannedOperation is one operation of a Plan. Operation k reads, below
// the runfiles directory "k/", root.json (the manifest or index),
// manifests/I/manifest.json for I < Manifests, and, unless Configuration
// holds it, configuration.json (the destination, as Inputs.Configuration).
type PlannedOperation struct {
	// Configuration is the destination when the build knew it at analysis
	// (no templates to expand): then there is no configuration.json.
	Configuration json.RawMessage `json:"configuration,omitempty"`
	Command       string          `json:"command"`
	Target        string          `json:"target,omitempty"`
	RootKind      string          `json:"root_kind"`
	Strategy      string          `json:"strategy"`
	// Manifests is the number of image manifests (1 for RootManifest).
	Manifests int `json:"manifests"`
	// MissingBlobs[i] are the hex sha256 digests of the layers of manifest
	// i that the build does not have.
	MissingBlobs [][]string `json:"missing_blobs,omitempty"`
	// LayerOrigins[i][j] is the origin of layer j of manifest i.
	LayerOrigins [][]LayerOrigin `json:"layer_origins,omitempty"`
	// ManifestOrigins[i], when not null, is where the missing blobs of
	// manifest i come from (see Inputs.ManifestOrigins).
	ManifestOrigins    []*BaseOrigin `json:"manifest_origins,omitempty"`
	OriginalRegistries []string      `json:"original_registries,omitempty"`
	OriginalRepository string        `json:"original_repository,omitempty"`
	OriginalTag        string        `json:"original_tag,omitempty"`
	OriginalDigest     string        `json:"original_digest,omitempty"`
}

// maxManifests bounds the manifests of one planned operation: an index of
// more is not an image Bazel built.
const maxManifests = 4096

// maxPlanFile bounds every file a plan reads: deploy manifests, image
// manifests, indexes and configurations are small JSON documents.
const maxPlanFile = 16 << 20

// readBounded reads a whole file of at most max bytes; what names it in
// errors.
func readBounded(path, what string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	if int64(len(data)) > max {
		return nil, invalidf("%s %s: larger than %d bytes", what, path, max)
	}
	return data, nil
}

// decodeManifestOrPlan decodes a deploy manifest that is either a Dispatch
// or a Plan, strictly (unknown fields and trailing data are errors).
func decodeManifestOrPlan(data []byte) (*Dispatch, *Plan, error) {
	var probe struct {
		Planned json.RawMessage `json:"planned_operations"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&probe); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if probe.Planned == nil {
		d, err := Decode(bytes.NewReader(data))
		return d, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, invalidf("data after the deploy plan")
	}
	return nil, &p, nil
}

// Resolve reads every operation's files from rf, operation k below
// "(first+k)/", and returns the Dispatch that `img deploy-metadata` and `img
// deploy-merge` would have written for them. first is the position of the
// plan's first operation among the runfiles' operations: 0 for the plan of
// a launcher, i for input i of a merge.
func (p *Plan) Resolve(rf Runfiles, first int) (*Dispatch, error) {
	ds := make([]*Dispatch, 0, len(p.Operations))
	for k := range p.Operations {
		d, err := p.Operations[k].resolve(rf, fmt.Sprintf("%d/", first+k), p.Settings)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return Merge(p.Settings, ds...)
}

// resolve turns one planned operation into a one-operation Dispatch,
// reading its files below dir.
func (po *PlannedOperation) resolve(rf Runfiles, dir string, settings Settings) (*Dispatch, error) {
	name := po.Target
	if name == "" {
		name = "operation " + dir
	}
	read := func(rel string) ([]byte, error) {
		data, err := readRunfile(rf, dir+rel, maxPlanFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return data, nil
	}
	if po.Manifests < 1 || po.Manifests > maxManifests {
		return nil, invalidf("%s: %d manifests in the deploy plan, want 1 to %d", name, po.Manifests, maxManifests)
	}
	in := Inputs{
		Command:            po.Command,
		Target:             po.Target,
		RootKind:           po.RootKind,
		Strategy:           po.Strategy,
		Remote:             settings,
		LayerOrigins:       po.LayerOrigins,
		OriginalRegistries: po.OriginalRegistries,
		OriginalRepository: po.OriginalRepository,
		OriginalTag:        po.OriginalTag,
		OriginalDigest:     po.OriginalDigest,
		MissingBlobs:       map[int][]string{},
	}
	var err error
	if in.Root, err = read("root.json"); err != nil {
		return nil, err
	}
	if in.Configuration = po.Configuration; len(in.Configuration) == 0 {
		if in.Configuration, err = read("configuration.json"); err != nil {
			return nil, err
		}
	}
	in.Manifests = make([][]byte, po.Manifests)
	for i := range in.Manifests {
		if in.Manifests[i], err = read(fmt.Sprintf("manifests/%d/manifest.json", i)); err != nil {
			return nil, err
		}
	}
	for i, blobs := range po.MissingBlobs {
		if len(blobs) > 0 {
			in.MissingBlobs[i] = blobs
		}
	}
	for i, o := range po.ManifestOrigins {
		if o == nil {
			continue
		}
		if in.ManifestOrigins == nil {
			in.ManifestOrigins = map[int]BaseOrigin{}
		}
		in.ManifestOrigins[i] = *o
	}
	d, err := NewDispatch(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// ReadDispatch reads the runfiles' dispatch.json and, when the build wrote
// a Plan, resolves it against the same runfiles.
func ReadDispatch(rf Runfiles) (*Dispatch, error) {
	p, err := rf.Path(DispatchName)
	if err != nil {
		return nil, err
	}
	return ReadResolved(p, rf, 0)
}

// ReadResolved reads the deploy manifest at path: a Dispatch as it is, a
// Plan resolved against rf from operation first on (see Plan.Resolve).
func ReadResolved(path string, rf Runfiles, first int) (*Dispatch, error) {
	d, plan, err := readManifestOrPlan(path)
	if err != nil || plan == nil {
		return d, err
	}
	return plan.Resolve(rf, first)
}

// readManifestOrPlan reads and decodes the deploy manifest or plan at path.
func readManifestOrPlan(path string) (*Dispatch, *Plan, error) {
	data, err := readBounded(path, "deploy manifest", maxPlanFile)
	if err != nil {
		return nil, nil, err
	}
	d, plan, err := decodeManifestOrPlan(data)
	if err != nil {
		return nil, nil, fmt.Errorf("deploy manifest %s: %w", path, err)
	}
	return d, plan, nil
}
