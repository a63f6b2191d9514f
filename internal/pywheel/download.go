package pywheel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// bigDownload is the size from which a download shows progress.
const bigDownload = 1 << 20

// download fetches file into a temporary file in dir, checks its sha256 against w's pin and returns its
// path. The caller removes it.
func (in *Installer) download(ctx context.Context, w Wheel, file indexFile, dir string) (path string, err error) {
	body, err := in.get(ctx, file.URL, "")
	if err != nil {
		return "", err
	}
	defer body.Close()
	tmp, err := os.CreateTemp(dir, ".download-*.whl")
	if err != nil {
		return "", fmt.Errorf("pywheel: %w", err)
	}
	defer func() {
		tmp.Close()
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	hash := sha256.New()
	sink := io.MultiWriter(tmp, hash)
	if bar := in.progressBar(w.Filename, file.Size); bar != nil {
		sink = io.MultiWriter(sink, bar)
		defer bar.Close()
	}
	n, err := io.Copy(sink, body)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("pywheel: downloading %s: %w", w.Filename, ctx.Err())
		}
		return "", fmt.Errorf("%w: downloading %s, after %d bytes: %v", ErrNetwork, file.URL, n, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("pywheel: writing %s: %w", tmp.Name(), err)
	}
	if got := hex.EncodeToString(hash.Sum(nil)); got != w.SHA256 {
		return "", fmt.Errorf("%w: %s (%d bytes from %s) has sha256 %s, the pin is %s", ErrChecksum, w.Filename, n, file.URL, got, w.SHA256)
	}
	return tmp.Name(), nil
}

// progressBar returns a byte-counting bar on in.Progress for a download of size bytes (as the index
// lists it), or nil when there is no writer or the download is small or of unknown size.
func (in *Installer) progressBar(name string, size int64) *progressbar.ProgressBar {
	if in.Progress == nil || size < bigDownload {
		return nil
	}
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(in.Progress),
		progressbar.OptionSetDescription("downloading "+name),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(500*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(in.Progress) }))
}
