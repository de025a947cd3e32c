package compress

import (
	"bufio"
	"fmt"
	"io"

	"github.com/rules-img/rules_img/img_tool/pkg/atomicfile"
)

// WriteFile writes a blob to path: fill writes the uncompressed tar stream,
// which is compressed and hashed on the way. The file appears at path only
// if fill and compression both succeed; otherwise nothing is left there.
func WriteFile(path string, fill func(io.Writer) error, opts ...Option) (Result, error) {
	out, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return Result{}, err
	}
	defer out.Abort()
	bw := bufio.NewWriterSize(out, 1<<20)
	cw, err := NewWriter(bw, opts...)
	if err != nil {
		return Result{}, err
	}
	fillErr := fill(cw)
	res, closeErr := cw.Close()
	if fillErr != nil {
		return Result{}, fillErr
	}
	if closeErr != nil {
		return Result{}, fmt.Errorf("write %s: %w", path, closeErr)
	}
	if err := bw.Flush(); err != nil {
		return Result{}, fmt.Errorf("write %s: %w", path, err)
	}
	if err := out.Commit(); err != nil {
		return Result{}, err
	}
	return res, nil
}
