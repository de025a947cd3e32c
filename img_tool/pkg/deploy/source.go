package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
	"github.com/rules-img/rules_img/img_tool/pkg/verify"
)

// BlobSource reads blobs by digest from outside the runfiles: the remote
// cache of lazy pushes and of the Build Event Service.
type BlobSource interface {
	// Open returns the content of the blob d, checked against d: reading
	// it to the end fails instead of returning io.EOF when the content
	// differs. Errors about blobs that the source does not hold wrap
	// reapi.ErrNotFound.
	Open(ctx context.Context, d reapi.Digest) (io.ReadCloser, error)
}

// maxDocument bounds the manifests, configs and deploy manifests read
// whole from a blob source.
const maxDocument = 64 << 20

// readSource reads a small blob (manifest, index, deploy manifest) from
// src, checked by src.
func readSource(ctx context.Context, src BlobSource, want Descriptor) ([]byte, error) {
	d, err := reapi.FromOCI(want.Digest, want.Size)
	if err != nil {
		return nil, err
	}
	if want.Size > maxDocument {
		return nil, fmt.Errorf("%s: %d bytes, more than a manifest can be", want.Digest, want.Size)
	}
	if br, ok := src.(blobReader); ok {
		// One BatchReadBlobs call where the server has it.
		return br.ReadBlob(ctx, d)
	}
	rc, err := src.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// blobReader is a BlobSource that reads small blobs whole, checked
// (*reapi.Client).
type blobReader interface {
	ReadBlob(ctx context.Context, d reapi.Digest) ([]byte, error)
}

// pushBuilt pushes a blob that the build wrote, or one of the base image
// that an eager pull downloaded: from the runfiles, else (lazy pushes
// leave layers out) from the blob source, else from the output tree. The
// pusher asks the destination first and opens the blob only when the
// destination lacks it.
func (p *pushRun) pushBuilt(ctx context.Context, op *opPush, b *blobJob, hash v1.Hash) (outcome, error) {
	d, err := reapi.FromOCI(b.desc.Digest, b.desc.Size)
	if err != nil {
		return "", err
	}
	var from outcome
	l := &blobLayer{desc: b.desc, hash: hash, open: func() (io.ReadCloser, error) {
		if b.local != "" {
			f, err := openRunfile(p.rf, b.local)
			if err != nil {
				return nil, err
			}
			from = outcomeUploaded
			return verify.NewReader(f, b.local, b.desc.Digest, b.desc.Size), nil
		}
		rc, src, err := openBuilt(ctx, &p.o, b.origin, d)
		from = src
		return rc, err
	}}
	if err := p.pusher.Upload(ctx, op.repo, l); err != nil {
		return "", err
	}
	if l.opens() == 0 {
		return outcomeExists, nil
	}
	return from, nil
}

// openBuilt opens a blob that the build wrote from the blob source of o or
// from the output tree, and says which it was (outcomeCached or
// outcomeUploaded). Either way the content is checked against d as it is
// read (the blob source checks its own).
func openBuilt(ctx context.Context, o *options, origin LayerOrigin, d reapi.Digest) (io.ReadCloser, outcome, error) {
	var cacheErr error
	if o.source != nil {
		rc, err := o.source.Open(ctx, d)
		if err == nil {
			return rc, outcomeCached, nil
		}
		if !errors.Is(err, reapi.ErrNotFound) {
			return nil, "", err
		}
		cacheErr = err
	}
	if o.outputTree != "" && origin.Path != "" {
		f, err := os.Open(filepath.Join(o.outputTree, filepath.FromSlash(origin.Path)))
		if err == nil {
			return verify.NewReader(f, origin.Path, d.OCI(), d.SizeBytes), outcomeUploaded, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
	}
	producer := ""
	if origin.Target != "" {
		producer = ", written by " + origin.Target + ","
	}
	if o.source == nil {
		return nil, "", fmt.Errorf("the build left it in the remote cache%s and no remote cache is configured: set IMG_REAPI_ENDPOINT or --@rules_img//img/settings:remote_cache (or push with --@rules_img//img/settings:push_strategy=eager)", producer)
	}
	return nil, "", fmt.Errorf("%w%s and the output tree has no copy: rebuild it with --remote_cache and --remote_upload_local_results (the default), e.g. after bazel clean, or push with --@rules_img//img/settings:push_strategy=eager", cacheErr, producer)
}

// commit commits the blobs of op to the committer and returns the digests
// ("sha256:...") that the destination now serves; nil without committer.
func (p *pushRun) commit(ctx context.Context, op *opPush) (map[string]bool, error) {
	if p.o.committer == nil {
		return nil, nil
	}
	var ds []reapi.Digest
	for _, b := range op.blobs {
		d, err := reapi.FromOCI(b.desc.Digest, b.desc.Size)
		if err != nil {
			return nil, p.errorf(op, "%w", err)
		}
		ds = append(ds, d)
	}
	missing, err := p.o.committer.Commit(ctx, ds)
	if err != nil {
		return nil, p.errorf(op, "commit of %d blobs to the blob cache: %w", len(ds), err)
	}
	committed := map[string]bool{}
	for _, d := range ds {
		committed[d.OCI()] = true
	}
	for _, d := range missing {
		committed[d.OCI()] = false
	}
	return committed, nil
}

// RunFromCAS runs the deploy manifest whose digest is dispatch, reading it
// and every blob it names from src: the push of the Build Event Service
// backend, which has no runfiles. Loads are refused.
func RunFromCAS(ctx context.Context, src BlobSource, dispatch reapi.Digest, opts ...Option) (*Report, error) {
	data, err := readSource(ctx, src, Descriptor{Digest: dispatch.OCI(), Size: dispatch.SizeBytes})
	if err != nil {
		return nil, fmt.Errorf("deploy manifest %s: %w", dispatch, err)
	}
	var d Dispatch
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("deploy manifest %s: %w", dispatch, err)
	}
	if d.Has(CommandLoad) {
		return nil, fmt.Errorf("deploy manifest %s: has loads; the Build Event Service backend only pushes", dispatch)
	}
	opts = append(opts, WithBlobSource(src, "the remote cache"), func(o *options) error { o.fromBES = true; return nil })
	return RunAll(ctx, &d, ManifestRunfiles{}, opts...)
}
