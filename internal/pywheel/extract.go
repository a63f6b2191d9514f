package pywheel

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// extract copies w's members out of the wheel at wheelPath into dir and returns the stamp that records
// them. Every member goes to a temporary file first and all are renamed into place only once all were
// read intact, so a failure leaves dir as it was.
func extract(ctx context.Context, w Wheel, wheelPath, dir string) (stamp, error) {
	zr, err := zip.OpenReader(wheelPath)
	if err != nil {
		return stamp{}, fmt.Errorf("%w: %s: %v", ErrInvalidWheel, w.Filename, err)
	}
	defer zr.Close()
	byName := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		byName[f.Name] = f
	}
	for _, m := range w.Members {
		if byName[m.Name] == nil {
			return stamp{}, fmt.Errorf("%w: %s has no %s (it holds %d files)", ErrMemberMissing, w.Filename, m.Name, len(zr.File))
		}
	}
	st := stamp{SHA256: w.SHA256, Sizes: map[string]int64{}}
	temps := make([]string, 0, len(w.Members))
	defer func() {
		for _, tmp := range temps {
			os.Remove(tmp) // a no-op for the ones renamed into place
		}
	}()
	for _, m := range w.Members {
		tmp, n, err := extractMember(ctx, byName[m.Name], m, dir)
		if err != nil {
			return stamp{}, fmt.Errorf("extracting %s from %s: %w", m.Name, w.Filename, err)
		}
		temps = append(temps, tmp)
		st.Sizes[m.File] = n
	}
	for i, m := range w.Members {
		if err := os.Rename(temps[i], filepath.Join(dir, m.File)); err != nil {
			return stamp{}, fmt.Errorf("pywheel: %w", err)
		}
	}
	return st, nil
}

// extractMember writes one zip member to a temporary file in dir with m's mode and returns the file and
// its size. archive/zip checks the member's CRC-32 when the read reaches its end.
func extractMember(ctx context.Context, f *zip.File, m Member, dir string) (path string, n int64, err error) {
	src, err := f.Open()
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", ErrInvalidWheel, err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(dir, ".extract-*")
	if err != nil {
		return "", 0, fmt.Errorf("pywheel: %w", err)
	}
	defer func() {
		tmp.Close()
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	n, err = io.Copy(tmp, ctxReader{ctx, src})
	switch {
	case ctx.Err() != nil:
		return "", n, ctx.Err()
	case errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF):
		return "", n, fmt.Errorf("%w: %v", ErrInvalidWheel, err)
	case err != nil:
		return "", n, fmt.Errorf("pywheel: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", n, fmt.Errorf("pywheel: writing %s: %w", tmp.Name(), err)
	}
	mode := m.Mode
	if mode == 0 {
		mode = 0o644
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return "", n, fmt.Errorf("pywheel: %w", err)
	}
	return tmp.Name(), n, nil
}

// ctxReader stops a long copy once ctx is cancelled (a local file read does not watch the context).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
