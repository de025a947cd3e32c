package metadata_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// TestReadRejects checks every rejection of hostile or corrupt layer
// metadata: the error names the file and the field, in this shape:
// "layer metadata FILE: field FIELD: ...".
func TestReadRejects(t *testing.T) {
	const gz = metadata.MediaTypeTarGzip
	obj := func(fields ...string) string { return "{" + strings.Join(fields, ",") + "}" }
	var (
		name   = `"name":"//app:layer"`
		diffID = `"diff_id":"` + d1 + `"`
		mt     = `"mediaType":"` + gz + `"`
		dg     = `"digest":"` + d2 + `"`
		size   = `"size":1024`
		ann    = `"annotations":{}`
	)
	valid := obj(name, diffID, mt, dg, size, ann)
	var manyAnn []string
	for i := range 257 {
		k := `"k` + strings.Repeat("x", i) + `"`
		manyAnn = append(manyAnn, k+`:"v"`)
	}
	for _, tc := range []struct {
		name, content string
		want          string // after "layer metadata FILE: "
	}{
		{"unknown field", obj(name, diffID, mt, dg, size, ann, `"urls":[]`),
			`field "urls": unknown; layer metadata has name, diff_id, mediaType, digest, size, annotations`},
		{"field spelled in another case", obj(name, diffID, `"MediaType":"`+gz+`"`, dg, size, ann),
			`field "MediaType": unknown; layer metadata has name, diff_id, mediaType, digest, size, annotations`},
		{"trailing object", valid + `{}`, "data after the JSON object"},
		{"trailing garbage", valid + "\nx", "data after the JSON object"},
		{"null", "null", "not a JSON object: null"},
		{"array", "[]", "not a JSON object: json: cannot unmarshal array into Go value of type map[string]json.RawMessage"},
		{"missing digest", obj(name, diffID, mt, size, ann), "field digest: missing"},
		{"missing diff_id", obj(name, mt, dg, size, ann), "field diff_id: missing"},
		{"missing mediaType", obj(name, diffID, dg, size, ann), "field mediaType: missing"},
		{"missing size", obj(name, diffID, mt, dg, ann), "field size: missing"},
		{"size as string", obj(name, diffID, mt, dg, `"size":"1"`, ann),
			"field size: json: cannot unmarshal string into Go struct field Layer.size of type int64"},
		{"short digest", obj(name, diffID, mt, `"digest":"sha256:abc"`, size, ann),
			`field digest: "sha256:abc" is not a sha256 digest ("sha256:" and 64 lowercase hex digits)`},
		{"sha512 diff_id", obj(name, `"diff_id":"sha512:`+strings.Repeat("0", 64)+`"`, mt, dg, size, ann),
			`field diff_id: "sha512:` + strings.Repeat("0", 64) + `" is not a sha256 digest ("sha256:" and 64 lowercase hex digits)`},
		{"uppercase diff_id", obj(name, `"diff_id":"`+strings.ToUpper(d1)+`"`, mt, dg, size, ann),
			`field diff_id: "` + strings.ToUpper(d1) + `" is not a sha256 digest ("sha256:" and 64 lowercase hex digits)`},
		{"zero size", obj(name, diffID, mt, dg, `"size":0`, ann), "field size: 0 is not positive; a layer blob is never empty"},
		{"negative size", obj(name, diffID, mt, dg, `"size":-5`, ann), "field size: -5 is not positive; a layer blob is never empty"},
		{"huge size", obj(name, diffID, mt, dg, `"size":1099511627777`, ann), "field size: 1099511627777 is above the limit of 1099511627776 bytes"},
		{"size overflows int64", obj(name, diffID, mt, dg, `"size":99999999999999999999`, ann),
			"field size: json: cannot unmarshal number 99999999999999999999 into Go struct field Layer.size of type int64"},
		{"unknown media type", obj(name, diffID, `"mediaType":"text/plain"`, dg, size, ann),
			`field mediaType: "text/plain" is not a layer media type; want one of ` + strings.Join(metadata.LayerMediaTypes, ", ") +
				" (or application/vnd.in-toto+json in pulled attestations)"},
		{"empty media type", obj(name, diffID, `"mediaType":""`, dg, size, ann),
			`field mediaType: "" is not a layer media type; want one of ` + strings.Join(metadata.LayerMediaTypes, ", ") +
				" (or application/vnd.in-toto+json in pulled attestations)"},
		{"name with newline", obj(`"name":"a\nb"`, diffID, mt, dg, size, ann), `field name: "a\nb" holds a NUL or newline`},
		{"name with NUL", obj(`"name":"a\u0000b"`, diffID, mt, dg, size, ann), `field name: "a\x00b" holds a NUL or newline`},
		{"long name", obj(`"name":"`+strings.Repeat("n", 4097)+`"`, diffID, mt, dg, size, ann), "field name: 4097 bytes, more than the limit of 4096"},
		{"empty annotation key", obj(name, diffID, mt, dg, size, `"annotations":{"":"v"}`), "field annotations: empty key"},
		{"long annotation", obj(name, diffID, mt, dg, size, `"annotations":{"k":"`+strings.Repeat("v", 64<<10+1)+`"}`),
			`field annotations: key "k": key or value longer than 65536 bytes`},
		{"too many annotations", obj(name, diffID, mt, dg, size, `"annotations":{`+strings.Join(manyAnn, ",")+`}`),
			"field annotations: 257 entries, more than the limit of 256"},
		{"annotations as list", obj(name, diffID, mt, dg, size, `"annotations":[]`),
			"field annotations: json: cannot unmarshal array into Go struct field Layer.annotations of type map[string]string"},
		{"bad TOC digest", obj(name, diffID, mt, dg, size, `"annotations":{"containerd.io/snapshot/stargz/toc.digest":"sha256:00"}`),
			`field annotations: containerd.io/snapshot/stargz/toc.digest "sha256:00" is not a sha256 digest`},
		{"TOC digest on zstd", obj(name, diffID, `"mediaType":"`+metadata.MediaTypeTarZstd+`"`, dg, size, `"annotations":{"containerd.io/snapshot/stargz/toc.digest":"`+d1+`"}`),
			"field annotations: containerd.io/snapshot/stargz/toc.digest on a application/vnd.oci.image.layer.v1.tar+zstd layer; eStargz layers are gzip"},
		{"negative uncompressed size", obj(name, diffID, mt, dg, size, `"annotations":{"io.containers.estargz.uncompressed-size":"-1"}`),
			`field annotations: io.containers.estargz.uncompressed-size "-1" is not a decimal size from 0 to 1099511627776`},
		{"uncompressed size with sign", obj(name, diffID, mt, dg, size, `"annotations":{"io.containers.estargz.uncompressed-size":"+12"}`),
			`field annotations: io.containers.estargz.uncompressed-size "+12" is not a decimal size from 0 to 1099511627776`},
		{"huge uncompressed size", obj(name, diffID, mt, dg, size, `"annotations":{"io.containers.estargz.uncompressed-size":"1099511627777"}`),
			`field annotations: io.containers.estargz.uncompressed-size "1099511627777" is not a decimal size from 0 to 1099511627776`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "layer_metadata.json")
			if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := metadata.Read(p)
			want := "layer metadata " + p + ": " + tc.want
			if err == nil || err.Error() != want {
				t.Errorf("Read() = %v\nwant %s", err, want)
			}
		})
	}
}

func TestReadTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "layer_metadata.json")
	if err := os.WriteFile(p, []byte(strings.Repeat(" ", 4<<20+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := metadata.Read(p)
	if want := "layer metadata " + p + ": larger than 4194304 bytes"; err == nil || err.Error() != want {
		t.Errorf("Read() = %v, want %s", err, want)
	}
}

// TestReadAccepts checks the shapes every producer writes: the img tool
// (metadata.Write, including eStargz annotations), the image_import rule
// (compact json.encode with Docker media types) and whitespace around it.
func TestReadAccepts(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"json.encode of image_import", `{"name":"registry.example/app@` + d2 + `","diff_id":"` + d1 + `","mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"` + d2 + `","size":31}`},
		{"attestation of a pulled index", `{"name":"registry.example/app@` + d2 + `","diff_id":"` + d1 + `","mediaType":"application/vnd.in-toto+json","digest":"` + d2 + `","size":1467,"annotations":{"in-toto.io/predicate-type":"https://spdx.dev/Document"}}`},
		{"foreign layer", `{"name":"n","diff_id":"` + d1 + `","mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"` + d2 + `","size":31,"annotations":{}}`},
		{"non-distributable zstd", `{"name":"n","diff_id":"` + d1 + `","mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd","digest":"` + d2 + `","size":31,"annotations":{}}`},
		{"surrounding whitespace", "\n\t " + `{"name":"","diff_id":"` + d1 + `","mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + d2 + `","size":1024}` + "\n\n"},
		{"eStargz", `{"name":"n","diff_id":"` + d1 + `","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + d2 + `","size":1,"annotations":{"containerd.io/snapshot/stargz/toc.digest":"` + d1 + `","io.containers.estargz.uncompressed-size":"0"}}`},
		{"size at the limit", `{"name":"n","diff_id":"` + d1 + `","mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + d2 + `","size":1099511627776}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "layer_metadata.json")
			if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := metadata.Read(p); err != nil {
				t.Errorf("Read() = %v", err)
			}
		})
	}
}

func TestWriteRejectsInvalid(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "layer.json")
	err := metadata.Write(p, &metadata.Layer{DiffID: d1, Digest: d2, MediaType: "text/plain", Size: 3})
	if err == nil || !strings.HasPrefix(err.Error(), "layer metadata "+p+`: field mediaType: "text/plain" is not a layer media type`) {
		t.Errorf("Write() = %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("Write() left %d files", len(ents))
	}
}
