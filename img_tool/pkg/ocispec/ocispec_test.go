package ocispec

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	specv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// The image-spec and go-digest modules are the independent checkers: the
// documents must marshal to their bytes, and digests validate as theirs.

var sha = FromBytes([]byte("x"))

var documents = []struct {
	name string
	json string
}{
	{"empty object", `{}`},
	{"manifest", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x.test",
		"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + string(sha) + `","size":7,"data":"e30="},
		"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + string(sha) + `","size":1,"urls":["https://example.com/l"],"annotations":{"b":"2","a":"1"}}],
		"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + string(sha) + `","size":3},
		"annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"}}`},
	{"manifest without layers", `{"schemaVersion":2,"config":{"mediaType":"m","digest":"d","size":0}}`},
	{"manifest with empty layers", `{"schemaVersion":2,"config":{"mediaType":"m","digest":"d","size":0},"layers":[]}`},
	{"index", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
		{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + string(sha) + `","size":9,
		 "platform":{"architecture":"arm64","os":"linux","variant":"v8","os.version":"10.0","os.features":["win32k"]},"artifactType":"a"}],
		"annotations":{"k":"v"}}`},
	{"config", `{"created":"2024-05-06T07:08:09.123456789+02:00","author":"me","architecture":"amd64","os":"linux","os.version":"1","variant":"v3",
		"config":{"User":"1000:1000","ExposedPorts":{"80/tcp":{},"53/udp":{}},"Env":["A=1","PATH=/bin"],"Entrypoint":["/app"],"Cmd":["--x"],
		"Volumes":{"/data":{}},"WorkingDir":"/w","Labels":{"l":"v"},"StopSignal":"SIGTERM","ArgsEscaped":true},
		"rootfs":{"type":"layers","diff_ids":["` + string(sha) + `"]},
		"history":[{"created":"1970-01-01T00:00:00Z","created_by":"img","author":"a","comment":"c","empty_layer":true},{}]}`},
	{"config with empty parts", `{"architecture":"","os":"","config":{"Env":[],"ExposedPorts":{}},"rootfs":{"type":"layers","diff_ids":[]},"history":[]}`},
	{"html and unicode", `{"config":{"Labels":{"<&>":"\u2028\u00e9\"\\"}},"rootfs":{"type":"","diff_ids":null}}`},
}

// roundTrip decodes doc into ours and theirs and returns both encodings;
// ok is false when either fails to decode (then both must).
func roundTrip(t testing.TB, doc []byte, ours, theirs any) (a, b []byte, ok bool) {
	t.Helper()
	errA, errB := json.Unmarshal(doc, ours), json.Unmarshal(doc, theirs)
	if (errA == nil) != (errB == nil) {
		t.Fatalf("decode %q: ocispec %v, image-spec %v", doc, errA, errB)
	}
	if errA != nil {
		return nil, nil, false
	}
	a, errA = json.Marshal(ours)
	b, errB = json.Marshal(theirs)
	if errA != nil || errB != nil {
		t.Fatalf("encode %q: ocispec %v, image-spec %v", doc, errA, errB)
	}
	return a, b, true
}

func checkDocument(t testing.TB, doc []byte) {
	t.Helper()
	pairs := []struct {
		kind         string
		ours, theirs func() any
	}{
		{"descriptor", func() any { return new(Descriptor) }, func() any { return new(specv1.Descriptor) }},
		{"manifest", func() any { return new(Manifest) }, func() any { return new(specv1.Manifest) }},
		{"index", func() any { return new(Index) }, func() any { return new(specv1.Index) }},
		{"image config", func() any { return new(Image) }, func() any { return new(specv1.Image) }},
		{"platform", func() any { return new(Platform) }, func() any { return new(specv1.Platform) }},
	}
	for _, p := range pairs {
		a, b, ok := roundTrip(t, doc, p.ours(), p.theirs())
		if ok && !bytes.Equal(a, b) {
			t.Errorf("%s of %q:\nocispec    %s\nimage-spec %s", p.kind, doc, a, b)
		}
	}
}

func TestDocumentsMarshalAsImageSpec(t *testing.T) {
	for _, d := range documents {
		t.Run(d.name, func(t *testing.T) { checkDocument(t, []byte(d.json)) })
	}
}

func TestBuiltDocumentsMarshalAsImageSpec(t *testing.T) {
	// Values built in code (nil against empty slices and maps) as well.
	ours := Manifest{Versioned: Versioned{SchemaVersion: 2}, MediaType: MediaTypeImageManifest, Config: DescriptorEmptyJSON}
	theirs := specv1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: specv1.MediaTypeImageManifest, Config: specv1.DescriptorEmptyJSON}
	a, _ := json.Marshal(ours)
	b, _ := json.Marshal(theirs)
	if !bytes.Equal(a, b) {
		t.Errorf("manifest:\nocispec    %s\nimage-spec %s", a, b)
	}
	ci, ti := Image{RootFS: RootFS{Type: "layers"}}, specv1.Image{RootFS: specv1.RootFS{Type: "layers"}}
	a, _ = json.Marshal(ci)
	b, _ = json.Marshal(ti)
	if !bytes.Equal(a, b) {
		t.Errorf("config:\nocispec    %s\nimage-spec %s", a, b)
	}
	if !reflect.DeepEqual(DescriptorEmptyJSON.Data, specv1.DescriptorEmptyJSON.Data) ||
		string(DescriptorEmptyJSON.Digest) != string(specv1.DescriptorEmptyJSON.Digest) ||
		FromBytes(DescriptorEmptyJSON.Data) != DescriptorEmptyJSON.Digest {
		t.Errorf("DescriptorEmptyJSON %+v, image-spec has %+v", DescriptorEmptyJSON, specv1.DescriptorEmptyJSON)
	}
	consts := map[string][2]string{
		"index":    {MediaTypeImageIndex, specv1.MediaTypeImageIndex},
		"manifest": {MediaTypeImageManifest, specv1.MediaTypeImageManifest},
		"config":   {MediaTypeImageConfig, specv1.MediaTypeImageConfig},
		"empty":    {MediaTypeEmptyJSON, specv1.MediaTypeEmptyJSON},
		"layer":    {MediaTypeImageLayer, specv1.MediaTypeImageLayer},
		"gzip":     {MediaTypeImageLayerGzip, specv1.MediaTypeImageLayerGzip},
		"zstd":     {MediaTypeImageLayerZstd, specv1.MediaTypeImageLayerZstd},
		"desc":     {MediaTypeDescriptor, specv1.MediaTypeDescriptor},
		"layout":   {MediaTypeLayoutHeader, specv1.MediaTypeLayoutHeader},
		"ref name": {AnnotationRefName, specv1.AnnotationRefName},
	}
	for n, c := range consts {
		if c[0] != c[1] {
			t.Errorf("%s: %q, image-spec has %q", n, c[0], c[1])
		}
	}
}

var digests = []string{
	"", ":", "sha256", "sha256:", ":abc",
	"sha256:" + sha.Encoded(),
	"sha256:" + sha.Encoded()[1:],
	"sha256:" + sha.Encoded() + "0",
	"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	"sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"sha384:" + string(bytes.Repeat([]byte("ab"), 48)),
	"sha512:" + string(bytes.Repeat([]byte("0f"), 64)),
	"sha512:" + string(bytes.Repeat([]byte("0f"), 32)),
	"md5:d41d8cd98f00b204e9800998ecf8427e",
	"multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
	"sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
	"a.b:x", "a..b:x", ".a:x", "a.:x", "A:x", "a:x y", "a:x=", "sha256::" + sha.Encoded(),
	"sha256:" + sha.Encoded() + ":",
}

func TestValidateAsGoDigest(t *testing.T) {
	for _, s := range digests {
		checkDigest(t, s)
	}
}

func checkDigest(t testing.TB, s string) {
	t.Helper()
	got, want := Digest(s).Validate(), digest.Digest(s).Validate()
	if errString(got) != errString(want) {
		t.Errorf("Validate(%q) = %v, go-digest says %v", s, got, want)
	}
	if want == nil {
		d := digest.Digest(s)
		if string(Digest(s).Algorithm()) != string(d.Algorithm()) || Digest(s).Encoded() != d.Encoded() {
			t.Errorf("%q: algorithm %q encoded %q, go-digest %q %q", s, Digest(s).Algorithm(), Digest(s).Encoded(), d.Algorithm(), d.Encoded())
		}
		data := []byte(s)
		if string(Digest(s).Algorithm().FromBytes(data)) != string(d.Algorithm().FromBytes(data)) {
			t.Errorf("%q: FromBytes differs from go-digest", s)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestDigestHelpers(t *testing.T) {
	data := []byte("hello")
	if got, want := string(FromBytes(data)), string(digest.FromBytes(data)); got != want {
		t.Errorf("FromBytes = %s, go-digest %s", got, want)
	}
	if Algorithm("md5").FromBytes(data) != "" {
		t.Error("FromBytes of an unknown algorithm is not empty")
	}
	h := SHA512.newHash()
	h.Write(data)
	if got, want := string(NewDigest(SHA512, h)), string(digest.SHA512.FromBytes(data)); got != want {
		t.Errorf("NewDigest(sha512) = %s, want %s", got, want)
	}
	if !errors.Is(Digest("md5:00").Validate(), ErrDigestUnsupported) {
		t.Error("md5 is not ErrDigestUnsupported")
	}
}
