// Package reapi is a client for the content-addressable storage of a Bazel
// remote cache: the REAPI v2 ContentAddressableStorage, ByteStream and
// Capabilities services (https://github.com/bazelbuild/remote-apis), over
// grpc:// or grpcs:// endpoints as Bazel's --remote_cache takes them.
//
// Only SHA-256 digests are used. Every blob read is verified against its
// digest, and every RPC carries the RequestMetadata header that Bazel's own
// remote worker insists on, plus any headers given by options.
package reapi

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/rules-img/rules_img/img_tool/pkg/credhelper"
	"github.com/rules-img/rules_img/img_tool/pkg/registry"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const (
	toolName    = "rules_img"
	toolVersion = "0.1.0"
	// requestMetadataKey is the binary header carrying a RequestMetadata.
	requestMetadataKey = "build.bazel.remote.execution.v2.requestmetadata-bin"
	maxMessageSize     = 64 << 20
	dialTimeout        = 10 * time.Second
)

// Option configures Dial.
type Option func(*options) error

type options struct {
	instance string
	headers  map[string]string
	helper   string
	caFile   string
}

// WithInstanceName sets the REAPI instance name sent with every request
// (Bazel's --remote_instance_name). The default is the empty name.
func WithInstanceName(name string) Option {
	return func(o *options) error { o.instance = strings.Trim(name, "/"); return nil }
}

// WithHeaders adds static gRPC metadata to every call, like Bazel's
// --remote_header. Names are case-insensitive; later options win.
func WithHeaders(h map[string]string) Option {
	return func(o *options) error {
		for k, v := range h {
			if k == "" {
				return errors.New("remote header with an empty name")
			}
			if o.headers == nil {
				o.headers = map[string]string{}
			}
			o.headers[strings.ToLower(k)] = v
		}
		return nil
	}
}

// WithCredentialHelper adds the headers that the credential helper at path
// returns for the endpoint (as https://host:port) to every call, replacing
// static headers of the same name. An empty path is no helper.
func WithCredentialHelper(path string) Option {
	return func(o *options) error { o.helper = path; return nil }
}

// WithCAFile trusts the PEM certificates in path, besides the system roots,
// for grpcs:// endpoints. It has no effect on grpc:// endpoints.
func WithCAFile(path string) Option {
	return func(o *options) error { o.caFile = path; return nil }
}

// Client talks to one remote cache. It is safe for concurrent use.
type Client struct {
	endpoint string
	instance string
	conn     *grpc.ClientConn
	cas      repb.ContentAddressableStorageClient
	bs       bspb.ByteStreamClient
	maxBatch int64 // from the server's capabilities; 0: no limit given
	noCreds  bool  // neither headers nor a credential helper were given

	noBatchRead atomic.Bool // the server answered BatchReadBlobs with UNIMPLEMENTED
	bytesRead   atomic.Int64
}

// Dial connects to the remote cache at endpoint: grpc://host:port
// (plaintext), grpcs://host:port or host:port (TLS). It asks the server for
// its capabilities, within about 10 s, and fails unless the server answers
// and accepts SHA-256 digests.
func Dial(ctx context.Context, endpoint string, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("remote cache %s: %w", endpoint, err)
		}
	}
	addr, useTLS, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if useTLS {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.caFile != "" {
			if cfg.RootCAs, err = registry.LoadCAFile(o.caFile); err != nil {
				return nil, fmt.Errorf("remote cache %s: %w", endpoint, err)
			}
		}
		creds = credentials.NewTLS(cfg)
	}
	md, err := requestMetadata()
	if err != nil {
		return nil, err
	}
	for k, v := range o.headers {
		md.Set(k, v)
	}
	var helper *credhelper.Helper
	if o.helper != "" {
		helper = credhelper.New(o.helper)
	}
	h := &headers{md: md, helper: helper, uri: "https://" + addr}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)),
		// Blobs are large and arrive on one stream: windows much larger
		// than gRPC's 64 KiB default keep the stream from stalling on
		// flow control between the server's chunks.
		grpc.WithInitialWindowSize(8<<20),
		grpc.WithInitialConnWindowSize(16<<20),
		grpc.WithChainUnaryInterceptor(h.unary),
		grpc.WithChainStreamInterceptor(h.stream))
	if err != nil {
		return nil, fmt.Errorf("remote cache %s: %w", endpoint, err)
	}
	c := &Client{
		endpoint: endpoint,
		instance: o.instance,
		conn:     conn,
		cas:      repb.NewContentAddressableStorageClient(conn),
		bs:       bspb.NewByteStreamClient(conn),
		noCreds:  len(o.headers) == 0 && helper == nil,
	}
	if err := c.checkCapabilities(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) checkCapabilities(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	caps, err := repb.NewCapabilitiesClient(c.conn).GetCapabilities(ctx, &repb.GetCapabilitiesRequest{InstanceName: c.instance})
	if status.Code(err) == codes.DeadlineExceeded && ctx.Err() != nil {
		return fmt.Errorf("remote cache %s: unreachable: no answer to GetCapabilities within %s: %w", c.endpoint, dialTimeout, err)
	}
	if err != nil {
		return c.rpcError("GetCapabilities", err)
	}
	cc := caps.GetCacheCapabilities()
	if cc == nil {
		return fmt.Errorf("remote cache %s: the server has no cache capabilities", c.endpoint)
	}
	if fns := cc.GetDigestFunctions(); len(fns) > 0 && !slices.Contains(fns, repb.DigestFunction_SHA256) {
		return fmt.Errorf("remote cache %s: the server does not accept SHA256 digests (it offers %v)", c.endpoint, fns)
	}
	c.maxBatch = cc.GetMaxBatchTotalSizeBytes()
	return nil
}

// parseEndpoint returns the host:port of endpoint and whether to use TLS.
func parseEndpoint(endpoint string) (addr string, useTLS bool, err error) {
	scheme, rest, ok := strings.Cut(endpoint, "://")
	switch {
	case !ok:
		addr, useTLS = endpoint, true
	case scheme == "grpc":
		addr = rest
	case scheme == "grpcs":
		addr, useTLS = rest, true
	default:
		return "", false, fmt.Errorf("remote cache %q: unsupported scheme %q: want grpc://host:port, grpcs://host:port or host:port", endpoint, scheme)
	}
	if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" || strings.ContainsAny(addr, "/?#") {
		return "", false, fmt.Errorf("remote cache %q: want grpc://host:port, grpcs://host:port or host:port", endpoint)
	}
	return addr, useTLS, nil
}

// requestMetadata is the metadata every call starts with.
func requestMetadata() (metadata.MD, error) {
	rm, err := proto.Marshal(&repb.RequestMetadata{
		ToolDetails:      &repb.ToolDetails{ToolName: toolName, ToolVersion: toolVersion},
		ActionId:         toolName,
		ToolInvocationId: newUUID(),
	})
	if err != nil {
		return nil, err
	}
	return metadata.Pairs(requestMetadataKey, string(rm)), nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var id [16]byte
	rand.Read(id[:])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:])
}

// headers adds the static and credential-helper headers to outgoing calls.
type headers struct {
	md     metadata.MD
	helper *credhelper.Helper
	uri    string // what the helper is asked about
}

func (h *headers) outgoing(ctx context.Context) (context.Context, error) {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = metadata.Join(md, h.md)
	if h.helper != nil {
		extra, err := h.helper.Headers(ctx, h.uri)
		if err != nil {
			return nil, err
		}
		for k, v := range extra {
			md.Set(k, v...)
		}
	}
	return metadata.NewOutgoingContext(ctx, md), nil
}

func (h *headers) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	ctx, err := h.outgoing(ctx)
	if err != nil {
		return err
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (h *headers) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx, err := h.outgoing(ctx)
	if err != nil {
		return nil, err
	}
	return streamer(ctx, desc, cc, method, opts...)
}

// rpcError wraps the error of an RPC (op) with the endpoint and advice.
func (c *Client) rpcError(op string, err error) error {
	if _, ok := status.FromError(err); !ok {
		return fmt.Errorf("remote cache %s: %s: %w", c.endpoint, op, err) // e.g. the credential helper failed
	}
	switch code := status.Code(err); code {
	case codes.Unauthenticated, codes.PermissionDenied:
		return fmt.Errorf("remote cache %s refused the request (%s): set a credential helper (IMG_CREDENTIAL_HELPER) or headers (IMG_REMOTE_HEADERS): %s: %w",
			c.endpoint, rpccode.Code(code).String(), op, err)
	case codes.Unknown:
		if c.noCreds {
			// Bazel's remote worker answers a call without its expected
			// authorization header with UNKNOWN and no message.
			return fmt.Errorf("remote cache %s failed the request (UNKNOWN); if it needs credentials, set a credential helper (IMG_CREDENTIAL_HELPER) or headers (IMG_REMOTE_HEADERS): %s: %w",
				c.endpoint, op, err)
		}
	case codes.Unavailable:
		return fmt.Errorf("remote cache %s: unreachable: %s: %w", c.endpoint, op, err)
	}
	return fmt.Errorf("remote cache %s: %s: %w", c.endpoint, op, err)
}

// Endpoint is the endpoint as given to Dial.
func (c *Client) Endpoint() string { return c.endpoint }

// BytesRead is the number of blob bytes received so far.
func (c *Client) BytesRead() int64 { return c.bytesRead.Load() }

// Close closes the connection. Readers returned by Open fail afterwards.
func (c *Client) Close() error { return c.conn.Close() }
