package compress

import (
	"io"
	"strconv"

	"github.com/rules-img/rules_img/img_tool/pkg/estargz"
	"github.com/rules-img/rules_img/img_tool/pkg/metadata"
)

// estargzWriter feeds the tar stream through a pipe into the eStargz
// writer, which re-frames each file as its own gzip member and appends the
// table of contents. It stays one pass: the eStargz writer hashes the
// uncompressed stream (the diff_id) and we hash and count its output. Its
// memory does not grow with the number of files: the table of contents
// collects in a temporary file under os.TempDir().
//
// The eStargz writer parses the tar with archive/tar, so the stream must
// already have passed tarpolicy: `img layer` writes it, and `img compress`
// checks each member (tarpolicy.CopyChecked) before its bytes reach this
// writer, so that a rejected member is reported by name.
type estargzWriter struct {
	pw   *io.PipeWriter
	done chan error
	sw   *estargz.Writer
	out  *countingHash
}

func newEstargzWriter(dst io.Writer, o options) *estargzWriter {
	pr, pw := io.Pipe()
	w := &estargzWriter{pw: pw, done: make(chan error, 1), out: newCountingHash(dst)}
	// checkLevel has accepted the level: -1 (the default) or 0 to 9.
	sw, err := estargz.NewWriter(w.out, estargz.WithLevel(o.level))
	w.sw = sw
	go func() {
		if err == nil {
			err = sw.AppendTar(pr)
		}
		pr.CloseWithError(err) // unblock the producer if the writer stopped early
		w.done <- err
	}()
	return w
}

func (w *estargzWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *estargzWriter) Close() (Result, error) {
	w.pw.Close()
	if err := <-w.done; err != nil {
		if w.sw != nil {
			w.sw.Close() // removes its temporary file; the error is err
		}
		return Result{}, err
	}
	res, err := w.sw.Close()
	if err != nil {
		return Result{}, err
	}
	return Result{
		Digest:           w.out.digest(),
		Size:             w.out.n,
		DiffID:           res.DiffID.String(),
		UncompressedSize: res.UncompressedSize,
		MediaType:        metadata.MediaTypeTarGzip,
		Annotations: map[string]string{
			metadata.AnnotationTOCDigest:        res.TOCDigest.String(),
			metadata.AnnotationUncompressedSize: strconv.FormatInt(res.UncompressedSize, 10),
		},
	}, nil
}
