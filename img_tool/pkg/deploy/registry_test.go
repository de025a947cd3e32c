package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// testRegistry returns the host:port of a real plain-HTTP distribution
// registry, or skips the test.
func testRegistry(t *testing.T) string {
	t.Helper()
	host := os.Getenv("RULES_IMG_TEST_REGISTRY")
	if host == "" {
		t.Skip("RULES_IMG_TEST_REGISTRY is unset: set it to the host:port of a plain registry " +
			`(eval "$(tools/services/registry.sh start plain 5200)"; RULES_IMG_TEST_REGISTRY=$REGISTRY)`)
	}
	return host
}

// repoName is a repository name unique to this run.
func repoName(kind string) string {
	return fmt.Sprintf("rules-img-test/deploy-%s-%d", kind, time.Now().UnixNano())
}

func TestPushRealRegistry(t *testing.T) {
	host := testRegistry(t)
	base := testLayer(t, time.Now().UnixNano(), 50_000)
	img := testImage(t, base, testLayer(t, time.Now().UnixNano()+1, 20_000))
	repo1, repo2 := repoName("first"), repoName("mount")

	t.Run("two layers", func(t *testing.T) {
		var buf bytes.Buffer
		res, err := runPush(t, Settings{PushStrategy: "eager"}, testOptions(t, &buf), fakeOp{img: img, configuration: push(host, repo1, "v1")})
		if err != nil {
			t.Fatal(err)
		}
		checkCounts(t, res[0], 3, 3, 0, 0, 0)
		checkProgress(t, buf.String(), 3)
		t.Logf("progress:\n%s", buf.String())
		checkImage(t, host+"/"+repo1+":v1", img)
	})

	t.Run("again uploads nothing", func(t *testing.T) {
		var buf bytes.Buffer
		res, err := runPush(t, Settings{}, testOptions(t, &buf), fakeOp{img: img, configuration: push(host, repo1, "v1", "v1-again")})
		if err != nil {
			t.Fatal(err)
		}
		checkCounts(t, res[0], 3, 0, 0, 0, 3)
		if res[0].UploadedBytes != 0 {
			t.Errorf("uploaded %d bytes", res[0].UploadedBytes)
		}
		t.Logf("progress:\n%s", buf.String())
		checkImage(t, host+"/"+repo1+":v1-again", img)
	})

	t.Run("mount a missing base layer", func(t *testing.T) {
		// The base layer is only in repo1; the build of img2 never had it.
		img2 := testImage(t, base, testLayer(t, time.Now().UnixNano()+2, 10_000))
		baseHash := must[v1.Hash](t)(base.Digest())
		if blobExists(t, host, repo2, baseHash.String()) {
			t.Fatal("the base layer is in the new repository already")
		}
		var buf bytes.Buffer
		res, err := runPush(t, Settings{}, testOptions(t, &buf), fakeOp{img: img2, configuration: push(host, repo2, "v1"),
			missing: map[v1.Hash]bool{baseHash: true}, origRegistries: []string{host}, origRepository: repo1})
		if err != nil {
			t.Fatal(err)
		}
		checkCounts(t, res[0], 3, 2, 1, 0, 0)
		t.Logf("progress:\n%s", buf.String())
		if !blobExists(t, host, repo2, baseHash.String()) {
			t.Error("the mounted base layer is not in the new repository")
		}
		checkImage(t, host+"/"+repo2+":v1", img2)
	})

	t.Run("digest only", func(t *testing.T) {
		repo := repoName("digest")
		img3 := testImage(t, testLayer(t, time.Now().UnixNano()+3, 1_000))
		var buf bytes.Buffer
		res, err := runPush(t, Settings{}, testOptions(t, &buf), fakeOp{img: img3, configuration: push(host, repo)})
		if err != nil {
			t.Fatal(err)
		}
		want := host + "/" + repo + "@" + must[v1.Hash](t)(img3.Digest()).String()
		if res[0].Reference() != want || len(res[0].Tags) != 0 {
			t.Errorf("pushed %s with tags %q, want %s without tags", res[0].Reference(), res[0].Tags, want)
		}
		checkImage(t, want, img3)
		// distribution answers NAME_UNKNOWN for a repository without tags.
		tags, err := remote.List(direct(t, host+"/"+repo).Context())
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			err = nil
		}
		if err != nil || len(tags) != 0 {
			t.Errorf("tags of %s: %q, %v; want none", repo, tags, err)
		}
	})

	t.Run("index of two manifests", func(t *testing.T) {
		repo := repoName("index")
		a := testImage(t, base, testLayer(t, time.Now().UnixNano()+4, 5_000))
		b := testImage(t, base, testLayer(t, time.Now().UnixNano()+5, 6_000))
		idx := testIndex(t, a, b)
		var buf bytes.Buffer
		res, err := runPush(t, Settings{}, testOptions(t, &buf, WithJobs(1)), fakeOp{idx: idx, configuration: push(host, repo, "multi")})
		if err != nil {
			t.Fatal(err)
		}
		// base, two configs, two top layers: base once.
		checkCounts(t, res[0], 5, 5, 0, 0, 0)
		checkProgress(t, buf.String(), 5)
		got, err := remote.Index(direct(t, host+"/"+repo+":multi"))
		if err != nil {
			t.Fatal(err)
		}
		if gd, wd := must[v1.Hash](t)(got.Digest()), must[v1.Hash](t)(idx.Digest()); gd != wd {
			t.Errorf("index is %s, want %s", gd, wd)
		}
		if err := validate.Index(got); err != nil {
			t.Error(err)
		}
	})

	t.Run("two operations, tags last", func(t *testing.T) {
		// The second operation fails (its layer is corrupt): the first
		// operation's content is pushed, but neither writes a tag.
		repoA, repoB := repoName("ops-a"), repoName("ops-b")
		a := testImage(t, testLayer(t, time.Now().UnixNano()+6, 1_000))
		b := testImage(t, testLayer(t, time.Now().UnixNano()+7, 1_000))
		dir := t.TempDir()
		d := writeRunfiles(t, dir, Settings{}, fakeOp{img: a, configuration: push(host, repoA, "v1")}, fakeOp{img: b, configuration: push(host, repoB, "v1")})
		flipByte(t, dir+"/"+LayerPath(1, 0, 0))
		var buf bytes.Buffer
		_, err := Run(context.Background(), d, DirRunfiles(dir), testOptions(t, &buf)...)
		if err == nil {
			t.Fatal("Run() succeeded with a corrupt layer")
		}
		t.Logf("error: %v", err)
		if tagExists(t, host+"/"+repoA+":v1") || tagExists(t, host+"/"+repoB+":v1") {
			t.Error("a failed run wrote a tag")
		}
		// Fixed, both push; the first operation's blobs exist already.
		d = writeRunfiles(t, dir, Settings{}, fakeOp{img: a, configuration: push(host, repoA, "v1")}, fakeOp{img: b, configuration: push(host, repoB, "v1")})
		res, err := Run(context.Background(), d, DirRunfiles(dir), testOptions(t, &buf)...)
		if err != nil {
			t.Fatal(err)
		}
		checkCounts(t, res[0], 2, 0, 0, 0, 2)
		checkImage(t, host+"/"+repoA+":v1", a)
		checkImage(t, host+"/"+repoB+":v1", b)
	})
}

// TestPushIndexOfTwoBases pushes an index whose two images sit on base
// images pulled from different repositories (shallow: neither base layer
// is in the runfiles); each base layer is mounted from its own repository.
func TestPushIndexOfTwoBases(t *testing.T) {
	host := testRegistry(t)
	baseA := testLayer(t, time.Now().UnixNano(), 30_000)
	baseB := testLayer(t, time.Now().UnixNano()+1, 40_000)
	repoA, repoB, dst := repoName("base-a"), repoName("base-b"), repoName("two-bases")
	for repo, l := range map[string]v1.Layer{repoA: baseA, repoB: baseB} {
		if _, err := runPush(t, Settings{}, testOptions(t, new(bytes.Buffer)), fakeOp{img: testImage(t, l), configuration: push(host, repo, "base")}); err != nil {
			t.Fatalf("push the base to %s: %v", repo, err)
		}
	}
	a := testImage(t, baseA, testLayer(t, time.Now().UnixNano()+2, 1_000))
	b := testImage(t, baseB, testLayer(t, time.Now().UnixNano()+3, 1_000))
	idx := testIndex(t, a, b)
	missing := map[v1.Hash]bool{must[v1.Hash](t)(baseA.Digest()): true, must[v1.Hash](t)(baseB.Digest()): true}
	var buf bytes.Buffer
	res, err := runPush(t, Settings{}, testOptions(t, &buf), fakeOp{idx: idx, configuration: push(host, dst, "v1"), missing: missing,
		origRegistries: []string{host}, origRepository: repoA,
		manifestOrigins: map[int]BaseOrigin{0: {Registries: []string{host}, Repository: repoA}, 1: {Registries: []string{host}, Repository: repoB}}})
	if err != nil {
		t.Fatalf("push: %v\n%s", err, buf.String())
	}
	// two base layers mounted; two configs and two top layers uploaded.
	checkCounts(t, res[0], 6, 4, 2, 0, 0)
	got, err := remote.Index(direct(t, host+"/"+dst+":v1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(got); err != nil {
		t.Error(err)
	}
}

// TestPushStreamed streams a base layer that the build never had from the
// base image's registry A into registry B. A and B are
// RULES_IMG_TEST_REGISTRY_A and _B when set; otherwise A is a proxy in front
// of RULES_IMG_TEST_REGISTRY under another host name, so that no mount is
// possible.
func TestPushStreamed(t *testing.T) {
	regA, regB := os.Getenv("RULES_IMG_TEST_REGISTRY_A"), os.Getenv("RULES_IMG_TEST_REGISTRY_B")
	if regA == "" || regB == "" {
		regB = testRegistry(t)
		regA = startProxy(t, regB, 0, 0, 1)
	}
	base := testLayer(t, time.Now().UnixNano(), 200_000)
	baseImg := testImage(t, base)
	srcRepo, dstRepo := repoName("stream-src"), repoName("stream-dst")
	if _, err := runPush(t, Settings{}, testOptions(t, new(bytes.Buffer)), fakeOp{img: baseImg, configuration: push(regA, srcRepo, "base")}); err != nil {
		t.Fatalf("push the base to %s: %v", regA, err)
	}
	baseHash := must[v1.Hash](t)(base.Digest())
	img := testImage(t, base, testLayer(t, time.Now().UnixNano()+1, 1_000))
	var buf bytes.Buffer
	// A dead mirror first: the blob comes from the next registry.
	res, err := runPush(t, Settings{}, testOptions(t, &buf), fakeOp{img: img, configuration: push(regB, dstRepo, "v1"),
		missing: map[v1.Hash]bool{baseHash: true}, origRegistries: []string{"127.0.0.1:1", regA}, origRepository: srcRepo})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", buf.String())
	checkCounts(t, res[0], 3, 2, 0, 1, 0)
	if res[0].StreamedBytes != must[int64](t)(base.Size()) {
		t.Errorf("streamed %d bytes, want %d", res[0].StreamedBytes, must[int64](t)(base.Size()))
	}
	checkImage(t, regB+"/"+dstRepo+":v1", img)
}

// startProxy serves a reverse proxy to the registry at target on a new
// loopback port and returns its host:port. It resets about resetRate of the
// connections (at a random point of the request or the response) and
// answers 500 to about errorRate of the requests, as the seeded faultPlan
// says.
func startProxy(t *testing.T, target string, resetRate, errorRate float64, seed int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plan := &faultPlan{seed: seed, resetRate: resetRate, errorRate: errorRate}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target})
	rp.ErrorLog = discardLog()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if plan.failRequest() {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, `{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}`)
				return
			}
			rp.ServeHTTP(w, r)
		}),
		ErrorLog: discardLog(),
	}
	go srv.Serve(&faultListener{Listener: ln, plan: plan})
	t.Cleanup(func() {
		srv.Close()
		t.Logf("proxy %s: %s", ln.Addr(), plan)
	})
	return ln.Addr().String()
}
