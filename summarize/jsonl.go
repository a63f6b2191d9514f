package summarize

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
)

// DefaultMaxLineBytes is the longest JSONL line a Reader accepts unless told otherwise.
const DefaultMaxLineBytes = 64 << 20

// Reader streams Records from JSONL, one per line. Blank lines are skipped. Errors are *LineError
// wrapping ErrSyntax, ErrRecord or ErrLineTooLong (or the underlying read error); after an error in
// one line the next Read continues with the next line.
type Reader struct {
	r    *bufio.Reader
	line int
	buf  []byte
	// MaxLineBytes caps a line's length; 0 means DefaultMaxLineBytes.
	MaxLineBytes int
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 64<<10)} }

// Line returns the number of the last line read.
func (r *Reader) Line() int { return r.line }

// Read returns the next record, or io.EOF after the last one.
func (r *Reader) Read() (Record, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return Record{}, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, err := parseRecord(line)
		if err != nil {
			return Record{}, &LineError{Line: r.line, Err: err}
		}
		return rec, nil
	}
}

// All iterates over the remaining records. It stops after the first error, which it yields.
func (r *Reader) All() iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for {
			rec, err := r.Read()
			if err == io.EOF {
				return
			}
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

// readLine returns the next line without its line terminator, reusing r.buf.
func (r *Reader) readLine() ([]byte, error) {
	limit := r.MaxLineBytes
	if limit <= 0 {
		limit = DefaultMaxLineBytes
	}
	r.buf = r.buf[:0]
	r.line++
	tooLong := false
	for {
		chunk, err := r.r.ReadSlice('\n')
		if !tooLong {
			r.buf = append(r.buf, chunk...)
			tooLong = len(bytes.TrimRight(r.buf, "\r\n")) > limit
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(r.buf) > 0 && !tooLong:
			// The last line has no newline: a record all the same.
		case err == io.EOF && !tooLong:
			r.line--
			return nil, io.EOF
		case err != nil && err != io.EOF:
			return nil, &LineError{Line: r.line, Err: err}
		}
		if tooLong {
			r.buf = nil // do not keep an oversized buffer; the stream continues at the next line
			return nil, &LineError{Line: r.line, Err: fmt.Errorf("%w: more than %d bytes", ErrLineTooLong, limit)}
		}
		return bytes.TrimRight(r.buf, "\r\n"), nil
	}
}

// wireRecord mirrors Record with pointers, to tell a missing field from an empty one.
type wireRecord struct {
	Prompt   *string        `json:"prompt"`
	Thoughts *[]wireThought `json:"thoughts"`
	Answer   *string        `json:"answer"`
}

type wireThought struct {
	Text    *string `json:"text"`
	Summary *string `json:"summary"`
}

func parseRecord(line []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var w wireRecord
	if err := dec.Decode(&w); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Record{}, fmt.Errorf("%w: data after the record", ErrSyntax)
	}
	switch {
	case w.Prompt == nil:
		return Record{}, fmt.Errorf("%w: missing \"prompt\"", ErrSyntax)
	case w.Thoughts == nil:
		return Record{}, fmt.Errorf("%w: missing \"thoughts\"", ErrSyntax)
	case w.Answer == nil:
		return Record{}, fmt.Errorf("%w: missing \"answer\"", ErrSyntax)
	}
	rec := Record{Prompt: *w.Prompt, Answer: *w.Answer, Thoughts: make([]RecordThought, len(*w.Thoughts))}
	for i, t := range *w.Thoughts {
		if t.Text == nil || t.Summary == nil {
			return Record{}, fmt.Errorf("%w: thoughts[%d] needs \"text\" and \"summary\"", ErrSyntax, i)
		}
		rec.Thoughts[i] = RecordThought{Text: *t.Text, Summary: *t.Summary}
	}
	if err := rec.Validate(); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// Writer writes Records as JSONL, one compact object per line, with HTML characters unescaped so
// that markers such as "<|end_of_summary|>" stay readable. Call Flush at the end.
type Writer struct {
	bw   *bufio.Writer
	enc  *json.Encoder
	line int
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &Writer{bw: bw, enc: enc}
}

// Write validates and writes one record. An invalid record is not written (*LineError with the line
// it would have had, wrapping ErrRecord).
func (w *Writer) Write(rec Record) error {
	if err := rec.Validate(); err != nil {
		return &LineError{Line: w.line + 1, Err: err}
	}
	if err := w.enc.Encode(rec); err != nil {
		return &LineError{Line: w.line + 1, Err: err}
	}
	w.line++
	return nil
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error { return w.bw.Flush() }
