//go:build !img_build_actions

package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/rules-img/rules_img/img_tool/pkg/casregistry"
	"github.com/rules-img/rules_img/img_tool/pkg/deploy"
	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

const remoteEnvUsage = `  IMG_REAPI_ENDPOINT                remote cache that blobs missing from the runfiles are read from (lazy):
                                    grpc://HOST:PORT or grpcs://HOST:PORT (default: //img/settings:remote_cache)
  IMG_REAPI_INSTANCE_NAME           its instance name (default: //img/settings:remote_instance_name)
  IMG_CREDENTIAL_HELPER_REMOTE_CACHE  credential helper for it (default: //img/settings:credential_helper_remote_cache,
                                    else IMG_CREDENTIAL_HELPER)
  IMG_CREDENTIAL_HELPER             credential helper for the remote cache and registries that have no helper
                                    of their own (default: //img/settings:credential_helper)
  IMG_REMOTE_HEADERS                static headers for it, comma-separated Name=Value pairs
  IMG_REAPI_CA_FILE                 PEM file of CA certificates for grpcs://
  IMG_BLOB_CACHE_ENDPOINT           cas_registry: grpc://HOST:PORT of the registry's blob cache (img registry --grpc-port)
`

// remoteBlobs are the places that blobs outside the runfiles come from:
// the remote cache (dialed on first use), the output tree, and for
// cas_registry the registry's blob cache.
type remoteBlobs struct {
	endpoint   string
	source     *lazyCAS
	outputTree string
	blobCache  *grpc.ClientConn
}

func newRemoteBlobs(ctx context.Context, d *deploy.Dispatch, rf deploy.Runfiles, getenv func(string) string) (*remoteBlobs, error) {
	pick := func(env, setting string) string {
		if v := getenv(env); v != "" {
			return v
		}
		return setting
	}
	r := &remoteBlobs{outputTree: outputTree(rf)}
	r.endpoint = pick("IMG_REAPI_ENDPOINT", d.Settings.RemoteCache)
	if r.endpoint != "" {
		c := reapi.Config{
			Endpoint:         r.endpoint,
			InstanceName:     pick("IMG_REAPI_INSTANCE_NAME", d.Settings.RemoteInstanceName),
			CredentialHelper: helperSettings(d.Settings, getenv).ForRemoteCache(),
			CAFile:           getenv("IMG_REAPI_CA_FILE"),
			Headers:          strings.Split(getenv("IMG_REMOTE_HEADERS"), ","),
		}
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		r.source = &lazyCAS{endpoint: r.endpoint, opts: opts}
	}
	if d.Settings.PushStrategy == deploy.StrategyCASRegistry {
		if ep := getenv("IMG_BLOB_CACHE_ENDPOINT"); ep != "" {
			conn, err := dialBlobCache(ep)
			if err != nil {
				return nil, fmt.Errorf("IMG_BLOB_CACHE_ENDPOINT: %w", err)
			}
			r.blobCache = conn
		}
	}
	return r, nil
}

func (r *remoteBlobs) options() []deploy.Option {
	var opts []deploy.Option
	if r.source != nil {
		opts = append(opts, deploy.WithBlobSource(r.source, r.endpoint))
	}
	if r.outputTree != "" {
		opts = append(opts, deploy.WithOutputTree(r.outputTree))
	}
	if r.blobCache != nil {
		opts = append(opts, deploy.WithCommitter(blobCache{r.blobCache}))
	}
	return opts
}

func (r *remoteBlobs) Close() {
	if r.source != nil {
		r.source.Close()
	}
	if r.blobCache != nil {
		r.blobCache.Close()
	}
}

// outputTree is the execution root that the runfiles tree lives in
// (".../execroot/_main/bazel-out/k8-fastbuild/bin/app/push.runfiles"), or
// "" outside one: layer origins are relative to it.
func outputTree(rf deploy.Runfiles) string {
	p, err := rf.Path(deploy.DispatchName)
	if err != nil {
		return ""
	}
	if resolved, err := filepath.EvalSymlinks(p); err == nil {
		p = resolved
	}
	if i := strings.LastIndex(p, string(filepath.Separator)+"bazel-out"+string(filepath.Separator)); i > 0 {
		return p[:i]
	}
	return ""
}

// lazyCAS dials the remote cache on the first read: pushes whose blobs are
// all in the runfiles or the registry never connect.
type lazyCAS struct {
	endpoint string
	opts     []reapi.Option
	once     sync.Once
	client   *reapi.Client
	err      error
}

func (l *lazyCAS) Open(ctx context.Context, d reapi.Digest) (io.ReadCloser, error) {
	l.once.Do(func() { l.client, l.err = reapi.Dial(ctx, l.endpoint, l.opts...) })
	if l.err != nil {
		return nil, l.err
	}
	return l.client.Open(ctx, d)
}

func (l *lazyCAS) Close() {
	if l.client != nil {
		l.client.Close()
	}
}

// dialBlobCache connects to the blob cache of `img registry`, which speaks
// plaintext gRPC only.
func dialBlobCache(endpoint string) (*grpc.ClientConn, error) {
	target, ok := strings.CutPrefix(endpoint, "grpc://")
	if !ok || target == "" {
		return nil, fmt.Errorf("%q: want grpc://HOST:PORT", endpoint)
	}
	return grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// blobCache commits blobs through the Blobs.Commit RPC of `img registry`.
type blobCache struct{ conn *grpc.ClientConn }

func (b blobCache) Commit(ctx context.Context, ds []reapi.Digest) ([]reapi.Digest, error) {
	missing, err := casregistry.Commit(ctx, b.conn, ds)
	if err != nil {
		return nil, fmt.Errorf("blob cache %s: %w", b.conn.Target(), err)
	}
	return missing, nil
}
