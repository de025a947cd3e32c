package bes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	buildpb "google.golang.org/genproto/googleapis/devtools/build/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/rules-img/rules_img/img_tool/pkg/reapi"
)

// fakePusher records pushes. If release is set, Push waits for it to close
// (or for its context to end); started gets each target as Push begins.
type fakePusher struct {
	mu      sync.Mutex
	calls   []Result
	release chan struct{}
	started chan string
	err     error
}

func (p *fakePusher) Push(ctx context.Context, target string, d reapi.Digest) error {
	p.mu.Lock()
	p.calls = append(p.calls, Result{Target: target, Dispatch: d})
	p.mu.Unlock()
	if p.started != nil {
		p.started <- target
	}
	if p.release != nil {
		select {
		case <-p.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return p.err
}

func (p *fakePusher) pushed() []Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Result(nil), p.calls...)
}

// syncBuffer is a log that tests read while the server writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type harness struct {
	t    *testing.T
	srv  *Server
	log  *syncBuffer
	addr string
}

func start(t *testing.T, p Pusher, opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, log: &syncBuffer{}}
	t.Cleanup(func() { t.Logf("server log:\n%s", h.log) })
	h.srv = NewServer(p, append(opts, WithLog(h.log))...)
	g := grpc.NewServer()
	h.srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = lis.Addr().String()
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return h
}

// shutdown waits for the background pushes.
func (h *harness) shutdown() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// waitLog waits until the log contains want.
func (h *harness) waitLog(want string) {
	h.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(h.log.String(), want) {
			return
		}
	}
	h.t.Fatalf("log lacks %q:\n%s", want, h.log.String())
}

func (h *harness) wantLog(wants ...string) {
	h.t.Helper()
	for _, w := range wants {
		if !strings.Contains(h.log.String(), w) {
			h.t.Errorf("log lacks %q:\n%s", w, h.log.String())
		}
	}
}

// client streams events as Bazel does and collects the acknowledgements.
type client struct {
	t      *testing.T
	cancel context.CancelFunc
	stream buildpb.PublishBuildEvent_PublishBuildToolEventStreamClient
	seq    int64
	acked  int64
	acks   chan int64
	end    chan error // the error that ended the receiving, io.EOF if clean
}

var streamID = &buildpb.StreamId{BuildId: "build-1", InvocationId: "inv-1", Component: buildpb.StreamId_TOOL}

func (h *harness) open() *client {
	h.t.Helper()
	conn, err := grpc.NewClient(h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	h.t.Cleanup(cancel)
	stream, err := buildpb.NewPublishBuildEventClient(conn).PublishBuildToolEventStream(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	c := &client{t: h.t, cancel: cancel, stream: stream, acks: make(chan int64, 100), end: make(chan error, 1)}
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				close(c.acks) // waitAcks reads zero: no more acks
				c.end <- err
				return
			}
			if resp.GetStreamId().GetInvocationId() != "inv-1" {
				c.end <- fmt.Errorf("ack for stream %v", resp.GetStreamId())
				return
			}
			c.acks <- resp.GetSequenceNumber()
		}
	}()
	return c
}

func (c *client) sendEvent(ev *buildpb.BuildEvent) {
	c.t.Helper()
	c.seq++
	req := &buildpb.PublishBuildToolEventStreamRequest{
		OrderedBuildEvent: &buildpb.OrderedBuildEvent{StreamId: streamID, SequenceNumber: c.seq, Event: ev},
	}
	if err := c.stream.Send(req); err != nil {
		c.t.Fatal(err)
	}
}

// send sends serialized build_event_stream.BuildEvents.
func (c *client) send(events ...[]byte) {
	c.t.Helper()
	for _, e := range events {
		a := &anypb.Any{TypeUrl: "type.googleapis.com/build_event_stream.BuildEvent", Value: e}
		c.sendEvent(&buildpb.BuildEvent{Event: &buildpb.BuildEvent_BazelEvent{BazelEvent: a}})
	}
}

// finish sends the final event and half-closes the stream.
func (c *client) finish() {
	c.t.Helper()
	c.sendEvent(&buildpb.BuildEvent{Event: &buildpb.BuildEvent_ComponentStreamFinished{
		ComponentStreamFinished: &buildpb.BuildEvent_BuildComponentStreamFinished{Type: buildpb.BuildEvent_BuildComponentStreamFinished_FINISHED},
	}})
	if err := c.stream.CloseSend(); err != nil {
		c.t.Fatal(err)
	}
}

// waitAcks waits for the acknowledgements up to seq, which come in order.
func (c *client) waitAcks(seq int64) {
	c.t.Helper()
	for c.acked < seq {
		var got int64
		select {
		case ack, ok := <-c.acks:
			if !ok {
				c.t.Fatalf("stream ended waiting for ack %d: %v", c.acked+1, <-c.end)
			}
			got = ack
		case <-time.After(10 * time.Second):
			c.t.Fatalf("no ack %d", c.acked+1)
		}
		if got != c.acked+1 {
			c.t.Fatalf("ack %d, want %d", got, c.acked+1)
		}
		c.acked = got
	}
}

// close finishes the stream and waits for all acks and its clean end.
func (c *client) close() {
	c.t.Helper()
	c.finish()
	c.waitAcks(c.seq)
	select {
	case err := <-c.end:
		if err != io.EOF {
			c.t.Fatalf("stream ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		c.t.Fatal("stream did not end")
	}
}

func digestOf(s string) reapi.Digest {
	sum := sha256.Sum256([]byte(s))
	return reapi.Digest{Hash: hex.EncodeToString(sum[:]), SizeBytes: int64(len(s))}
}

// dispatchFile is a deploy manifest in the remote cache.
func dispatchFile(name string, d reapi.Digest) tFile {
	return tFile{name: name, uri: "bytestream://cache.example:443/blobs/" + d.String(), digest: d.Hash, length: d.SizeBytes}
}

const cfg = "k8-fastbuild-abc123"

func TestPushesImageTargetsOnce(t *testing.T) {
	p := &fakePusher{}
	h := start(t, p)
	push, multi := digestOf("push dispatch"), digestOf("multi dispatch")
	c := h.open()
	c.send(
		progressEvent(0),
		configuredEvent("//app:push", "image_push rule", cfg),
		configuredEvent("//app:multi", "multi_deploy rule", cfg),
		namedSetEvent("0", []tFile{{name: "app/push.digest", uri: "bytestream://x/blobs/" + digestOf("d").String()}, dispatchFile("app/push_dispatch.json", push)}),
		completedEvent("//app:push", cfg, true, group("other", "0"), group("default", "0")),
		completedEvent("//app:push", cfg, true, group("default", "0")), // a duplicate is not pushed again
		// Only the URI, with an instance name, tells the digest.
		namedSetEvent("1", []tFile{{name: "app/multi_dispatch.json", uri: "bytestream://cache.example:443/my/instance/blobs/" + multi.String()}}),
		completedEvent("//app:multi", cfg, true, group("default", "1")),
		progressEvent(1),
	)
	c.close()
	h.shutdown()
	got := h.srv.Results()
	if len(got) != 2 {
		t.Fatalf("results %+v, want 2", got)
	}
	want := map[string]reapi.Digest{"//app:push": push, "//app:multi": multi}
	for _, r := range got {
		if r.Err != nil || want[r.Target] != r.Dispatch {
			t.Errorf("result %+v, want digest %v and no error", r, want[r.Target])
		}
		delete(want, r.Target)
	}
	if len(p.pushed()) != 2 || len(want) != 0 {
		t.Errorf("pushes %+v", p.pushed())
	}
	h.wantLog("seen image target //app:push (image_push rule)", "seen image target //app:multi (multi_deploy rule)",
		"pushing //app:push (deploy manifest "+push.String()+")", "pushed //app:push", "pushed //app:multi")
}

func TestFailedTargetsAreNotPushed(t *testing.T) {
	p := &fakePusher{}
	h := start(t, p)
	d := digestOf("dispatch")
	c := h.open()
	c.send(
		configuredEvent("//app:failed", "image_push rule", cfg),
		configuredEvent("//app:aborted", "image_push rule", cfg),
		namedSetEvent("0", []tFile{dispatchFile("app/failed_dispatch.json", d)}),
		completedEvent("//app:failed", cfg, false, group("default", "0")),
		abortedEvent("//app:aborted", cfg),
	)
	c.close()
	h.shutdown()
	if len(p.pushed()) != 0 {
		t.Errorf("pushed %+v", p.pushed())
	}
	h.wantLog("not pushing //app:failed: target failed", "not pushing //app:aborted: target failed")
}

func TestOtherTargetsAreIgnored(t *testing.T) {
	p := &fakePusher{}
	h := start(t, p)
	d := digestOf("dispatch")
	c := h.open()
	c.send(
		configuredEvent("//app:gen", "genrule rule", cfg),
		configuredEvent("//app:push", "image_push rule", cfg),
		namedSetEvent("0", []tFile{dispatchFile("app/gen_dispatch.json", d)}),
		completedEvent("//app:gen", cfg, true, group("default", "0")),
		// The completion of an aspect on the image target is not the target's.
		buildEvent(idAspectCompleted("//app:push", cfg, "//:aspect.bzl%a"), nil, sub(8, boolean(1, true), group("default", "0"))),
		// Nor is a completion in another configuration than announced.
		completedEvent("//app:push", "other-config", true, group("default", "0")),
	)
	c.close()
	h.shutdown()
	if len(p.pushed()) != 0 {
		t.Errorf("pushed %+v", p.pushed())
	}
	if strings.Contains(h.log.String(), "//app:gen") {
		t.Errorf("log mentions the genrule:\n%s", h.log)
	}
	h.wantLog("not pushing //app:push: the build did not complete it")
}

func TestNestedNamedSets(t *testing.T) {
	p := &fakePusher{}
	h := start(t, p)
	d := digestOf("nested")
	c := h.open()
	c.send(
		configuredEvent("//app:push", "image_push rule", cfg),
		namedSetEvent("c", []tFile{dispatchFile("app/push_dispatch.json", d)}),
		namedSetEvent("b", []tFile{{name: "app/layer.tgz", uri: "bytestream://x/blobs/" + digestOf("l").String()}}, "c"),
		namedSetEvent("a", nil, "b", "c"),
		completedEvent("//app:push", cfg, true, group("default", "a")),
	)
	c.close()
	h.shutdown()
	if got := p.pushed(); len(got) != 1 || got[0].Dispatch != d || got[0].Target != "//app:push" {
		t.Errorf("pushed %+v, want //app:push with %v", got, d)
	}
}

func TestLocalFileIsNotPushed(t *testing.T) {
	p := &fakePusher{}
	h := start(t, p)
	d := digestOf("local")
	c := h.open()
	c.send(
		configuredEvent("//app:push", "image_push rule", cfg),
		namedSetEvent("0", []tFile{{name: "app/push_dispatch.json", uri: "file:///out/bin/app/push_dispatch.json", digest: d.Hash, length: d.SizeBytes}}),
		completedEvent("//app:push", cfg, true, group("default", "0")),
	)
	c.close()
	h.shutdown()
	if len(p.pushed()) != 0 {
		t.Errorf("pushed %+v", p.pushed())
	}
	h.wantLog("not pushing //app:push:", "--remote_cache", "without --remote_upload_local_results=false")
}

func TestUndecodableEventIsSkipped(t *testing.T) {
	p := &fakePusher{}
	h := start(t, p)
	d := digestOf("dispatch")
	c := h.open()
	c.send(
		[]byte{0x0a, 0xff}, // field 1, length beyond the end
		configuredEvent("//app:push", "image_push rule", cfg),
		namedSetEvent("0", []tFile{dispatchFile("app/push_dispatch.json", d)}),
		completedEvent("//app:push", cfg, true, group("default", "0")),
	)
	c.close()
	h.shutdown()
	if len(p.pushed()) != 1 {
		t.Errorf("pushed %+v", p.pushed())
	}
	h.wantLog("stream build-1: skipping event 1:")
}

func TestPushErrorNamesTargetAndDigest(t *testing.T) {
	errRegistry := errors.New("registry said no")
	h := start(t, &fakePusher{err: errRegistry})
	d := digestOf("dispatch")
	c := h.open()
	c.send(
		configuredEvent("//app:push", "image_push rule", cfg),
		namedSetEvent("0", []tFile{dispatchFile("app/push_dispatch.json", d)}),
		completedEvent("//app:push", cfg, true, group("default", "0")),
	)
	c.close()
	h.shutdown()
	r := h.srv.Results()
	if len(r) != 1 || !errors.Is(r[0].Err, errRegistry) || !strings.Contains(r[0].Err.Error(), "//app:push") || !strings.Contains(r[0].Err.Error(), d.Hash) {
		t.Fatalf("results %+v", r)
	}
	h.wantLog("push failed: " + r[0].Err.Error())
}

func TestBrokenStreamPushesOnlyCompletedTargets(t *testing.T) {
	p := &fakePusher{}
	h := start(t, p)
	d := digestOf("dispatch")
	c := h.open()
	c.send(
		configuredEvent("//app:done", "image_push rule", cfg),
		namedSetEvent("0", []tFile{dispatchFile("app/done_dispatch.json", d)}),
		completedEvent("//app:done", cfg, true, group("default", "0")),
		configuredEvent("//app:pending", "image_push rule", cfg),
	)
	c.waitAcks(c.seq)
	c.cancel() // Bazel is killed.
	h.waitLog("stream build-1 of invocation inv-1 ended before the build finished: ")
	h.shutdown()
	if got := p.pushed(); len(got) != 1 || got[0].Target != "//app:done" {
		t.Errorf("pushed %+v, want only //app:done", got)
	}
	h.wantLog("not pushing //app:pending:")
}

func TestPerStreamWaitsForPushes(t *testing.T) {
	p := &fakePusher{release: make(chan struct{}), started: make(chan string, 1)}
	h := start(t, p, WithCommitMode(CommitPerStream))
	d := digestOf("dispatch")
	c := h.open()
	c.send(
		configuredEvent("//app:push", "image_push rule", cfg),
		namedSetEvent("0", []tFile{dispatchFile("app/push_dispatch.json", d)}),
		completedEvent("//app:push", cfg, true, group("default", "0")),
	)
	c.finish()
	c.waitAcks(c.seq - 1) // all but the final event's
	<-p.started
	select {
	case seq, ok := <-c.acks:
		t.Fatalf("final event acknowledged (%d, %v) or stream ended while the push runs", seq, ok)
	case <-time.After(200 * time.Millisecond):
	}
	close(p.release)
	c.waitAcks(c.seq)
	if err := <-c.end; err != io.EOF {
		t.Fatalf("stream ended with %v", err)
	}
	if r := h.srv.Results(); len(r) != 1 || r[0].Err != nil {
		t.Errorf("results at the end of the stream: %+v", r)
	}
}

func TestShutdownWaitsForBackgroundPushes(t *testing.T) {
	p := &fakePusher{release: make(chan struct{}), started: make(chan string, 1)}
	h := start(t, p)
	d := digestOf("dispatch")
	c := h.open()
	c.send(
		configuredEvent("//app:push", "image_push rule", cfg),
		namedSetEvent("0", []tFile{dispatchFile("app/push_dispatch.json", d)}),
		completedEvent("//app:push", cfg, true, group("default", "0")),
	)
	c.close() // while the push runs
	<-p.started
	done := make(chan error, 1)
	go func() { done <- h.srv.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while the push runs", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(p.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r := h.srv.Results(); len(r) != 1 || r[0].Err != nil {
		t.Errorf("results %+v", r)
	}
}

func TestShutdownDeadlineCancelsPushes(t *testing.T) {
	p := &fakePusher{release: make(chan struct{}), started: make(chan string, 1)}
	h := start(t, p)
	c := h.open()
	c.send(
		configuredEvent("//app:push", "image_push rule", cfg),
		namedSetEvent("0", []tFile{dispatchFile("app/push_dispatch.json", digestOf("x"))}),
		completedEvent("//app:push", cfg, true, group("default", "0")),
	)
	c.close()
	<-p.started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want a deadline error", err)
	}
	h.waitLog("push failed")
	if r := h.srv.Results(); len(r) != 1 || !errors.Is(r[0].Err, context.Canceled) {
		t.Errorf("results %+v, want a cancelled push", r)
	}
}

func TestLifecycleEventsAreAccepted(t *testing.T) {
	h := start(t, &fakePusher{})
	conn, err := grpc.NewClient(h.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := &buildpb.PublishLifecycleEventRequest{BuildEvent: &buildpb.OrderedBuildEvent{StreamId: streamID, SequenceNumber: 1}}
	if _, err := buildpb.NewPublishBuildEventClient(conn).PublishLifecycleEvent(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}

func TestCASDigest(t *testing.T) {
	d := digestOf("m")
	for _, tc := range []struct {
		name string
		f    tFile
		want error // nil: want d
	}{
		{"fields", tFile{uri: "bytestream://h:1/blobs/" + strings.Repeat("0", 64) + "/1", digest: d.Hash, length: d.SizeBytes}, nil},
		{"uri", tFile{uri: "bytestream://h:1/blobs/" + d.String()}, nil},
		{"uri with instance", tFile{uri: "bytestream://h:1/a/b/blobs/" + d.String()}, nil},
		{"file", tFile{uri: "file:///x/m_dispatch.json"}, errNotInCache},
		{"no uri", tFile{digest: d.Hash, length: d.SizeBytes}, errors.New("has no URI")},
		{"bad hash", tFile{uri: "bytestream://h:1/blobs/abc/1"}, errors.New("CAS digest")},
		{"other scheme", tFile{uri: "https://h/x"}, errors.New("unsupported URI")},
	} {
		got, err := casDigest(file{name: "m_dispatch.json", uri: tc.f.uri, digest: tc.f.digest, length: tc.f.length})
		switch {
		case tc.want == nil && (err != nil || got != d):
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, d)
		case tc.want == errNotInCache && !errors.Is(err, errNotInCache):
			t.Errorf("%s: %v, want errNotInCache", tc.name, err)
		case tc.want != nil && (err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(tc.want.Error(), "not in the remote cache"))):
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}
