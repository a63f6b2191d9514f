package pywheel

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// simpleJSONType is the PEP 691 media type of the simple API's JSON form.
const simpleJSONType = "application/vnd.pypi.simple.v1+json"

// indexFile is one file of a PEP 691 project page.
type indexFile struct {
	Filename string            `json:"filename"`
	URL      string            `json:"url"`
	Hashes   map[string]string `json:"hashes"`
	Size     int64             `json:"size"` // PEP 700; 0 when the index does not say
}

// projectNameRuns are what PEP 503 normalisation folds into one "-".
var projectNameRuns = regexp.MustCompile(`[-_.]+`)

// locate finds w's file on the index's project page and returns it with an absolute URL. It checks the
// sha256 the index lists (when it lists one) against the pin before anything is downloaded.
func (in *Installer) locate(ctx context.Context, w Wheel) (indexFile, error) {
	index := in.Index
	if index == "" {
		index = DefaultIndex
	}
	project := projectNameRuns.ReplaceAllString(strings.ToLower(w.Project), "-")
	pageURL := strings.TrimSuffix(index, "/") + "/" + project + "/"
	body, err := in.get(ctx, pageURL, simpleJSONType)
	if err != nil {
		return indexFile{}, err
	}
	defer body.Close()
	var page struct {
		Files []indexFile `json:"files"`
	}
	if err := json.NewDecoder(io.LimitReader(body, 64<<20)).Decode(&page); err != nil {
		if ctx.Err() != nil {
			return indexFile{}, fmt.Errorf("pywheel: reading %s: %w", pageURL, ctx.Err())
		}
		return indexFile{}, fmt.Errorf("%w: %s is not a PEP 691 JSON page: %v", ErrNetwork, pageURL, err)
	}
	for _, f := range page.Files {
		if f.Filename != w.Filename {
			continue
		}
		if listed := strings.ToLower(f.Hashes["sha256"]); listed != "" && listed != w.SHA256 {
			return indexFile{}, fmt.Errorf("%w: the index lists sha256 %s for %s, the pin is %s", ErrChecksum, listed, w.Filename, w.SHA256)
		}
		// The URL may be relative to the page (PEP 503).
		ref, err := url.Parse(f.URL)
		if err != nil || f.URL == "" {
			return indexFile{}, fmt.Errorf("%w: %s lists %s with the bad URL %q", ErrNetwork, pageURL, w.Filename, f.URL)
		}
		base, _ := url.Parse(pageURL) // built from a URL the request above accepted
		f.URL = base.ResolveReference(ref).String()
		return f, nil
	}
	return indexFile{}, fmt.Errorf("%w: %s lists %d files, none named %s", ErrNotInIndex, pageURL, len(page.Files), w.Filename)
}

// get performs a GET and returns the body of a 200 response.
func (in *Installer) get(ctx context.Context, rawURL, accept string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNetwork, rawURL, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := in.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pywheel: GET %s: %w", rawURL, ctx.Err())
		}
		return nil, fmt.Errorf("%w: GET %s: %v", ErrNetwork, rawURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: GET %s: HTTP status %d", ErrNetwork, rawURL, resp.StatusCode)
	}
	return resp.Body, nil
}
