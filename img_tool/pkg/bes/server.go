// Package bes is a Build Event Service backend that pushes images as a side
// effect of a Bazel build: run with --bes_backend=grpc://HOST:PORT, Bazel
// streams its Build Event Protocol to the Server, and for every image_push
// or multi_deploy target that the build completes successfully, the Server
// hands the target's deploy manifest (its *_dispatch.json output, read from
// the remote cache by digest) to a Pusher.
//
// The Server decodes only the few BuildEvent fields it needs, directly from
// the wire format. It never pushes a target that failed, was aborted, or did
// not complete before the stream ended, and pushes each target (label and
// configuration) at most once per stream.
package bes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	buildpb "google.golang.org/genproto/googleapis/devtools/build/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

// Pusher pushes images for the Server.
type Pusher interface {
	// Push pushes the deploy manifest whose remote cache digest is dispatch,
	// and the blobs it names. target is the label of the image_push or
	// multi_deploy target, for messages. The Server calls Push from several
	// goroutines at once, one per completed target.
	Push(ctx context.Context, target string, dispatch reapi.Digest) error
}

// CommitMode says when Bazel learns that the pushes of its build are done.
type CommitMode int

const (
	// CommitBackground acknowledges every event at once; the pushes run in
	// a server-wide group that Shutdown waits for. Bazel finishes without
	// waiting for them.
	CommitBackground CommitMode = iota
	// CommitPerStream holds back the acknowledgement of a stream's final
	// event (and the end of the stream) until the stream's pushes are done,
	// so that Bazel waits for them while it finishes the upload of its build
	// events.
	CommitPerStream
)

// Option configures a Server.
type Option func(*Server)

// WithCommitMode sets when pushes are committed (default CommitBackground).
func WithCommitMode(m CommitMode) Option { return func(s *Server) { s.mode = m } }

// WithLog makes the Server write one line to w per decision: an image
// target seen, a push started, pushed or failed (with the error), a target
// not pushed (with the reason), a skipped event, a broken stream. The
// default discards them. Writes to w are serialized.
func WithLog(w io.Writer) Option { return func(s *Server) { s.log = w } }

// Result is the outcome of one push.
type Result struct {
	// Target is the label of the pushed target.
	Target string
	// Dispatch is the remote cache digest of its deploy manifest.
	Dispatch reapi.Digest
	// Err is nil if the push succeeded; otherwise it names Target and
	// Dispatch and wraps the Pusher's error.
	Err error
}

// Server is the Build Event Service backend. Create it with NewServer,
// attach it to a gRPC server with Register, and call Shutdown once the gRPC
// server stopped; or let ListenAndServe do all of that.
type Server struct {
	pusher Pusher
	mode   CommitMode
	logMu  sync.Mutex
	log    io.Writer
	ctx    context.Context // of the pushes; cancelled by Shutdown
	cancel context.CancelFunc
	pushes sync.WaitGroup

	mu      sync.Mutex // guards closed and results
	closed  bool
	results []Result
}

// NewServer returns a Server that pushes with p.
func NewServer(p Pusher, opts ...Option) *Server {
	s := &Server{pusher: p, log: io.Discard}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register registers the google.devtools.build.v1.PublishBuildEvent service
// of s on g.
func (s *Server) Register(g *grpc.Server) { buildpb.RegisterPublishBuildEventServer(g, service{s}) }

// Shutdown refuses new pushes and waits for the running ones. If ctx ends
// first, it cancels them and returns an error wrapping ctx.Err(). Call it
// after the gRPC server stopped (GracefulStop), so no stream is left to
// start pushes.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.pushes.Wait(); close(done) }()
	defer s.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bes: cancelled the pushes still running at shutdown: %w", ctx.Err())
	}
}

// Results returns the outcome of the pushes finished so far, in the order
// they finished. It is safe to call at any time.
func (s *Server) Results() []Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.results)
}

func (s *Server) logf(format string, args ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.log, "bes: "+format+"\n", args...)
}

// service implements the gRPC interface, keeping its methods off Server.
type service struct{ s *Server }

// PublishLifecycleEvent accepts and ignores lifecycle events.
func (service) PublishLifecycleEvent(context.Context, *buildpb.PublishLifecycleEventRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// PublishBuildToolEventStream handles the stream of one Bazel invocation,
// acknowledging each event in order.
func (v service) PublishBuildToolEventStream(ss buildpb.PublishBuildEvent_PublishBuildToolEventStreamServer) error {
	st := &stream{
		Server: v.s, id: "(unknown)", invocation: "(unknown)",
		images: map[targetKey]string{}, handled: map[targetKey]bool{}, sets: map[string]*namedSet{},
	}
	ctx := ss.Context()
	for {
		req, err := ss.Recv()
		if err == io.EOF {
			st.dropUnfinished("the build did not complete it")
			if st.mode == CommitPerStream {
				st.wait(ctx)
			}
			return nil
		}
		if err != nil {
			return st.broken(err)
		}
		obe := req.GetOrderedBuildEvent()
		if id := obe.GetStreamId(); id != nil {
			st.id = orUnknown(id.GetBuildId())
			st.invocation = orUnknown(id.GetInvocationId())
		}
		ev := obe.GetEvent()
		if a := ev.GetBazelEvent(); a != nil {
			st.handle(obe.GetSequenceNumber(), a)
		}
		if ev.GetComponentStreamFinished() != nil && st.mode == CommitPerStream {
			st.wait(ctx)
		}
		resp := &buildpb.PublishBuildToolEventStreamResponse{StreamId: obe.GetStreamId(), SequenceNumber: obe.GetSequenceNumber()}
		if err := ss.Send(resp); err != nil {
			return st.broken(err)
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// targetKey is a configured target: label and configuration id.
type targetKey struct{ label, config string }

// stream is the state of one event stream.
type stream struct {
	*Server
	id, invocation string
	images         map[targetKey]string // image targets announced, not completed yet
	handled        map[targetKey]bool   // image targets completed (pushed or not)
	sets           map[string]*namedSet // named sets of files by id
	pending        []chan struct{}      // closed when each push of the stream ends
}

// broken logs a stream that ended with err and returns err.
func (st *stream) broken(err error) error {
	st.logf("stream %s of invocation %s ended before the build finished: %v", st.id, st.invocation, err)
	st.dropUnfinished("the build event stream ended before the target completed")
	return err
}

// dropUnfinished logs the image targets announced but not completed.
func (st *stream) dropUnfinished(why string) {
	var labels []string
	for k := range st.images {
		labels = append(labels, k.label)
	}
	slices.Sort(labels)
	for _, l := range labels {
		st.logf("not pushing %s: %s", l, why)
	}
	clear(st.images)
}

// wait waits until the pushes of the stream are done or ctx ends.
func (st *stream) wait(ctx context.Context) {
	for _, c := range st.pending {
		select {
		case <-c:
		case <-ctx.Done():
			return
		}
	}
	st.pending = nil
}

// isImageKind tells the target kinds (TargetConfigured.target_kind) to push.
func isImageKind(kind string) bool { return kind == "image_push rule" || kind == "multi_deploy rule" }

// handle processes the BuildEvent in a, the event seq of the stream.
func (st *stream) handle(seq int64, a *anypb.Any) {
	if !strings.HasSuffix(a.GetTypeUrl(), "/"+bazelEventType) {
		return
	}
	ev, err := decodeEvent(a.GetValue())
	if err != nil {
		st.logf("stream %s: skipping event %d: %v", st.id, seq, err)
		return
	}
	switch id := ev.id; {
	case id.kind == fieldIDNamedSet && ev.namedSet != nil:
		st.sets[id.namedSet] = ev.namedSet
	case id.kind == fieldIDTargetConfigured && id.aspect == "" && ev.configured != nil && isImageKind(ev.configured.kind):
		st.logf("seen image target %s (%s)", id.label, ev.configured.kind)
		for _, c := range ev.children {
			if c.kind == fieldIDTargetCompleted && c.aspect == "" {
				st.images[targetKey{c.label, c.config}] = c.label
			}
		}
	case id.kind == fieldIDTargetCompleted && id.aspect == "":
		k := targetKey{id.label, id.config}
		label, ok := st.images[k]
		if !ok || st.handled[k] {
			return
		}
		delete(st.images, k)
		st.handled[k] = true
		if ev.aborted || ev.completed == nil || !ev.completed.success {
			st.logf("not pushing %s: target failed", label)
			return
		}
		d, err := st.manifest(ev.completed)
		if err != nil {
			st.logf("not pushing %s: deploy manifest: %v", label, err)
			return
		}
		st.push(label, d)
	}
}

// dispatchSuffix ends the name of the deploy manifest among the outputs.
const dispatchSuffix = "_dispatch.json"

// manifest finds the deploy manifest among the files of the output group
// "default" of tc, and returns its remote cache digest.
func (st *stream) manifest(tc *targetComplete) (reapi.Digest, error) {
	var found []file
	collect := func(files []file) {
		for _, f := range files {
			if strings.HasSuffix(f.name, dispatchSuffix) && !slices.Contains(found, f) {
				found = append(found, f)
			}
		}
	}
	seen := map[string]bool{}
	var visit func(ids []string) error
	visit = func(ids []string) error {
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			ns, ok := st.sets[id]
			if !ok {
				return fmt.Errorf("named set of files %q was not sent before it was referenced", id)
			}
			collect(ns.files)
			if err := visit(ns.fileSets); err != nil {
				return err
			}
		}
		return nil
	}
	for _, g := range tc.groups {
		if g.name == "default" {
			collect(g.files)
			if err := visit(g.fileSets); err != nil {
				return reapi.Digest{}, err
			}
		}
	}
	switch len(found) {
	case 0:
		return reapi.Digest{}, fmt.Errorf("no *%s in the output group default", dispatchSuffix)
	case 1:
		return casDigest(found[0])
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = f.name
	}
	return reapi.Digest{}, fmt.Errorf("several deploy manifests in the output group default: %s", strings.Join(names, ", "))
}

// errShutdown is the reason of the pushes refused after Shutdown.
var errShutdown = errors.New("the server is shutting down")

// push starts the push of target's deploy manifest d.
func (st *stream) push(target string, d reapi.Digest) {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		st.logf("not pushing %s: %v", target, errShutdown)
		return
	}
	st.pushes.Add(1)
	st.mu.Unlock()
	done := make(chan struct{})
	st.pending = append(st.pending, done)
	st.logf("pushing %s (deploy manifest %s)", target, d)
	go func() {
		defer st.pushes.Done()
		defer close(done)
		err := st.pusher.Push(st.ctx, target, d)
		if err != nil {
			err = fmt.Errorf("pushing %s (deploy manifest %s): %w", target, d, err)
			st.logf("push failed: %v", err)
		} else {
			st.logf("pushed %s", target)
		}
		st.mu.Lock()
		st.results = append(st.results, Result{Target: target, Dispatch: d, Err: err})
		st.mu.Unlock()
	}()
}
