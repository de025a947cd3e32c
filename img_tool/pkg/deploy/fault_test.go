package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// faultPlan decides which connections reset and which requests fail. The
// decision for the n-th connection or request depends only on seed and n.
type faultPlan struct {
	seed                 int64
	resetRate, errorRate float64

	conns, requests atomic.Int64
	// planned connections reset when they carry enough bytes; resets did.
	planned, resets, errors atomic.Int64
}

// rng returns the random source of the n-th decision of a kind; splitmix64
// spreads neighbouring n over the whole seed space.
func (p *faultPlan) rng(kind, n int64) *rand.Rand {
	z := uint64(p.seed) ^ uint64(kind)<<56 ^ uint64(n)
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return rand.New(rand.NewSource(int64(z)))
}

// failRequest reports whether the next request gets a 500.
func (p *faultPlan) failRequest() bool {
	n := p.requests.Add(1)
	if p.rng(1, n).Float64() < p.errorRate {
		p.errors.Add(1)
		return true
	}
	return false
}

// connFault says where the next connection resets: after readAt bytes
// read, or after writeAt bytes written; -1 is never.
func (p *faultPlan) connFault() (readAt, writeAt int64) {
	n := p.conns.Add(1)
	r := p.rng(2, n)
	if r.Float64() >= p.resetRate {
		return -1, -1
	}
	p.planned.Add(1)
	at := r.Int63n(200)
	if r.Intn(2) == 0 {
		return at, -1
	}
	return -1, at
}

func (p *faultPlan) String() string {
	return fmt.Sprintf("%d connections, %d to reset, %d reset; %d requests, %d answered 500",
		p.conns.Load(), p.planned.Load(), p.resets.Load(), p.requests.Load(), p.errors.Load())
}

type faultListener struct {
	net.Listener
	plan *faultPlan
}

func (l *faultListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	readAt, writeAt := l.plan.connFault()
	if readAt < 0 && writeAt < 0 {
		return c, nil
	}
	return &faultConn{Conn: c, plan: l.plan, readAt: readAt, writeAt: writeAt}, nil
}

// faultConn resets (RST, not FIN) after readAt bytes read or writeAt bytes
// written.
type faultConn struct {
	net.Conn
	plan            *faultPlan
	readAt, writeAt int64

	mu          sync.Mutex
	read, wrote int64
	done        bool
}

var errInjectedReset = errors.New("injected connection reset")

func (c *faultConn) reset() {
	if c.done {
		return
	}
	c.done = true
	c.plan.resets.Add(1)
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Conn.Close()
}

func (c *faultConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return 0, errInjectedReset
	}
	if c.readAt >= 0 {
		left := c.readAt - c.read
		if left <= 0 {
			c.reset()
			c.mu.Unlock()
			return 0, errInjectedReset
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.read += int64(n)
	c.mu.Unlock()
	return n, err
}

func (c *faultConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return 0, errInjectedReset
	}
	if c.writeAt >= 0 && c.wrote+int64(len(p)) > c.writeAt {
		n, _ := c.Conn.Write(p[:c.writeAt-c.wrote])
		c.wrote += int64(n)
		c.reset()
		return n, errInjectedReset
	}
	n, err := c.Conn.Write(p)
	c.wrote += int64(n)
	return n, err
}

// TestPushFaults pushes 20 distinct images with distinct tags through a
// proxy that resets about 20% of the connections and answers 500 to about
// 20% of the requests. Every push must either succeed, with the image
// readable directly from the registry by its tag, or fail with an error
// that names registry, repository and what failed, and then its tag must
// not exist.
func TestPushFaults(t *testing.T) {
	host := testRegistry(t)
	proxy := startProxy(t, host, 0.2, 0.2, 42)
	repo := repoName("faults")
	const pushes = 20
	var ok, failed int
	var failures []string
	for i := 0; i < pushes; i++ {
		tag := fmt.Sprintf("t%02d", i)
		seed := time.Now().UnixNano()
		layers := []v1.Layer{testLayer(t, seed, 8_000+int64(i)*500)}
		if i%2 == 0 {
			layers = append(layers, testLayer(t, seed+1, 3_000))
		}
		img := testImage(t, layers...)
		var buf bytes.Buffer
		res, err := runPush(t, Settings{}, testOptions(t, &buf, WithJobs(2)), fakeOp{img: img, configuration: push(proxy, repo, tag)})
		if err == nil {
			ok++
			if want := must[v1.Hash](t)(img.Digest()).String(); res[0].Digest != want {
				t.Errorf("push %d: result digest %s, want %s", i, res[0].Digest, want)
			}
			checkImage(t, host+"/"+repo+":"+tag, img)
			continue
		}
		failed++
		failures = append(failures, fmt.Sprintf("push %d: %v", i, err))
		if errors.Is(err, context.Canceled) {
			t.Errorf("push %d: canceled: %v", i, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "push to "+proxy+"/"+repo+": ") ||
			!(strings.Contains(msg, ": blob sha256:") || strings.Contains(msg, ": manifest ") || strings.Contains(msg, ": tag ")) {
			t.Errorf("push %d: unclear error: %v", i, err)
		}
		if tagExists(t, host+"/"+repo+":"+tag) {
			t.Errorf("push %d failed but its tag %s exists: %v", i, tag, err)
		}
	}
	for _, f := range failures {
		t.Log(f)
	}
	t.Logf("fault injection: %d of %d pushes succeeded, %d failed cleanly (no tag)", ok, pushes, failed)
	if ok == 0 {
		t.Error("no push succeeded")
	}
}
