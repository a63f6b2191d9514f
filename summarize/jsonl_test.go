package summarize

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

var sampleRecords = []Record{
	{Prompt: "What is two plus three?", Thoughts: []RecordThought{
		{Text: "Two and three make five.", Summary: "Five."},
		{Text: "Check: five minus three is two.\nOK", Summary: "Checked <ok> & \"quoted\" — ünïcode"},
	}, Answer: "5"},
	{Prompt: "p", Thoughts: []RecordThought{{Text: "t", Summary: "s"}}, Answer: "a"},
}

func TestWriterReaderRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, r := range sampleRecords {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	if n := strings.Count(text, "\n"); n != len(sampleRecords) {
		t.Fatalf("%d lines:\n%s", n, text)
	}
	if !strings.Contains(text, "<ok> & ") {
		t.Errorf("HTML characters escaped: %s", text)
	}
	if want := `{"prompt":"p","thoughts":[{"text":"t","summary":"s"}],"answer":"a"}` + "\n"; !strings.HasSuffix(text, want) {
		t.Errorf("second line is not %q:\n%s", want, text)
	}
	r := NewReader(strings.NewReader(text))
	var got []Record
	for rec, err := range r.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec)
	}
	if !reflect.DeepEqual(got, sampleRecords) {
		t.Errorf("round trip:\n got  %+v\n want %+v", got, sampleRecords)
	}
}

func TestWriterRejectsInvalid(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Write(sampleRecords[1]); err != nil {
		t.Fatal(err)
	}
	err := w.Write(Record{Prompt: "p", Answer: "a"})
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || !errors.Is(err, ErrRecord) {
		t.Fatalf("err = %v", err)
	}
	w.Flush()
	if strings.Count(buf.String(), "\n") != 1 {
		t.Errorf("invalid record written: %q", buf.String())
	}
}

func TestReaderErrors(t *testing.T) {
	good := `{"prompt":"p","thoughts":[{"text":"t","summary":"s"}],"answer":"a"}`
	cases := []struct {
		name string
		line string
		want error
		msg  string
	}{
		{"not json", `{"prompt":`, ErrSyntax, "unexpected EOF"},
		{"unknown field", `{"prompt":"p","thoughts":[],"answer":"a","extra":1}`, ErrSyntax, "extra"},
		{"missing prompt", `{"thoughts":[{"text":"t","summary":"s"}],"answer":"a"}`, ErrSyntax, `missing "prompt"`},
		{"missing thoughts", `{"prompt":"p","answer":"a"}`, ErrSyntax, `missing "thoughts"`},
		{"missing answer", `{"prompt":"p","thoughts":[{"text":"t","summary":"s"}]}`, ErrSyntax, `missing "answer"`},
		{"thought without summary", `{"prompt":"p","thoughts":[{"text":"t"}],"answer":"a"}`, ErrSyntax, "thoughts[0]"},
		{"wrong type", `{"prompt":3,"thoughts":[],"answer":"a"}`, ErrSyntax, "prompt"},
		{"trailing data", good + ` {}`, ErrSyntax, "after the record"},
		{"array", `[1]`, ErrSyntax, "array"},
		{"no thoughts", `{"prompt":"p","thoughts":[],"answer":"a"}`, ErrRecord, "no thoughts"},
		{"blank summary", `{"prompt":"p","thoughts":[{"text":"t","summary":" "}],"answer":"a"}`, ErrRecord, "thoughts[0] has empty summary"},
		{"blank text", `{"prompt":"p","thoughts":[{"text":"t","summary":"s"},{"text":"\n","summary":"s"}],"answer":"a"}`, ErrRecord, "thoughts[1] has empty text"},
		{"empty prompt", `{"prompt":"","thoughts":[{"text":"t","summary":"s"}],"answer":"a"}`, ErrRecord, "empty prompt"},
		{"empty answer", `{"prompt":"p","thoughts":[{"text":"t","summary":"s"}],"answer":""}`, ErrRecord, "empty answer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// good, blank, bad, good: the bad line is line 3 and reading goes on after it.
			r := NewReader(strings.NewReader(good + "\n\n" + c.line + "\r\n" + good))
			if _, err := r.Read(); err != nil {
				t.Fatal(err)
			}
			_, err := r.Read()
			var le *LineError
			if !errors.As(err, &le) || le.Line != 3 || !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want line 3, %v, containing %q", err, c.want, c.msg)
			}
			if !strings.HasPrefix(err.Error(), "line 3: ") {
				t.Errorf("message %q", err.Error())
			}
			if _, err := r.Read(); err != nil {
				t.Fatalf("after the bad line: %v", err)
			}
			if r.Line() != 4 {
				t.Errorf("Line() = %d", r.Line())
			}
			if _, err := r.Read(); err != io.EOF {
				t.Fatalf("end: %v", err)
			}
		})
	}
}

func TestReaderLongLines(t *testing.T) {
	long := `{"prompt":"` + strings.Repeat("x", 200_000) + `","thoughts":[{"text":"t","summary":"s"}],"answer":"a"}`
	rec, err := NewReader(strings.NewReader(long)).Read()
	if err != nil || len(rec.Prompt) != 200_000 {
		t.Fatalf("long line without newline: %v", err)
	}
	good := `{"prompt":"p","thoughts":[{"text":"t","summary":"s"}],"answer":"a"}`
	r := NewReader(strings.NewReader(long + "\n" + good + "\n" + long))
	r.MaxLineBytes = 1000
	for _, wantLine := range []int{1, 2, 3} {
		_, err := r.Read()
		if wantLine == 2 {
			if err != nil {
				t.Fatalf("line 2: %v", err)
			}
			continue
		}
		var le *LineError
		if !errors.As(err, &le) || le.Line != wantLine || !errors.Is(err, ErrLineTooLong) {
			t.Fatalf("line %d: %v", wantLine, err)
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func TestReaderIOError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader(`{"prompt":"p",`), iotest.ErrReader(boom)))
	_, err := r.Read()
	var le *LineError
	if !errors.As(err, &le) || le.Line != 1 || !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	// All stops at the first error and yields it.
	n := 0
	for _, err := range NewReader(strings.NewReader("x\nx\n")).All() {
		n++
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("All: %v", err)
		}
	}
	if n != 1 {
		t.Errorf("All yielded %d errors", n)
	}
	// An empty stream and a stream of blank lines have no records.
	for _, in := range []string{"", "\n\n  \n"} {
		if _, err := NewReader(strings.NewReader(in)).Read(); err != io.EOF {
			t.Errorf("%q: %v", in, err)
		}
	}
}
