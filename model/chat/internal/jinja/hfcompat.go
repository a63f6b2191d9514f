package jinja

// This file is not from upstream. It gives values the semantics of Hugging Face's JavaScript implementation
// (@huggingface/jinja, the reference this fork is tested against): how values print, how tojson formats,
// JavaScript's whitespace, UTF-16 lengths, its string methods, its equality. Upstream follows Python's Jinja
// in these places; byte-identical renders need the JS behaviour.

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// isJSSpace is JavaScript's \s and String.prototype.trim's set (WhiteSpace and LineTerminator).
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func jsTrim(s string) string      { return strings.TrimFunc(s, isJSSpace) }
func jsTrimStart(s string) string { return strings.TrimLeftFunc(s, isJSSpace) }
func jsTrimEnd(s string) string   { return strings.TrimRightFunc(s, isJSSpace) }

// utf16Len is a JavaScript string's length: UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// utf16At is String.prototype.at(i): one UTF-16 code unit (a lone surrogate comes out as U+FFFD, as it does
// once the oracle's output is written as UTF-8).
func utf16At(s string, i int) (string, bool) {
	units := utf16.Encode([]rune(s))
	if i < 0 {
		i += len(units)
	}
	if i < 0 || i >= len(units) {
		return "", false
	}
	return string(utf16.Decode(units[i : i+1])), true
}

// jsNumber is Number.prototype.toString: the shortest round-trip digits, in fixed notation between 1e-7
// and 1e21 and in exponent notation ("1e+21", "1.5e-7") outside.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if a := math.Abs(f); a >= 1e-7 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1.5e+21, 1e-07
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[:1]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "e" + sign + exp
}

// floatString is how a float prints: integral values keep one decimal ("2.0"), as in Python.
func floatString(f float64) string {
	if f == 0 && math.Signbit(f) {
		return "-0.0"
	}
	if f == math.Trunc(f) && !math.IsInf(f, 0) {
		if math.Abs(f) < 1e21 {
			return strconv.FormatFloat(f, 'f', 1, 64)
		}
		return jsNumber(f)
	}
	return jsNumber(f)
}

// rawString is JavaScript's value.toString() of a value's payload, which "~" and string "+" use: floats
// lose ".0", booleans are lowercase, lists join their items' printed forms with commas.
func rawString(v Value) string {
	switch v.kind {
	case KindBool:
		return strconv.FormatBool(v.AsBool())
	case KindInt:
		return strconv.FormatInt(v.AsInt(), 10)
	case KindFloat:
		return jsNumber(v.AsFloat())
	case KindString:
		return v.AsString()
	case KindList:
		var sb strings.Builder
		for i, it := range v.AsList().Items {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(printValue(it))
			if sb.Len() > maxPrintBytes { // the caller's length check then fails
				break
			}
		}
		return sb.String()
	case KindDict:
		return "[object Map]"
	case KindNone, KindUndefined:
		return "undefined"
	}
	return ""
}

// jsonOptions are tojson's keyword arguments.
type jsonOptions struct {
	indent      int
	ensureASCII bool
	sortKeys    bool
	separators  *[2]string
}

// writeJSON is the oracle's toJSON: ", " and ": " separators (or "," and ": " with indent), keys in
// insertion order, strings escaped as JSON.stringify does, numbers as JavaScript numbers (so 2.0 is 2).
// undefToNull=false (how lists and dicts print) writes undefined as "undefined".
func writeJSON(sb *strings.Builder, v Value, o jsonOptions, depth int, undefToNull bool) error {
	if depth > maxValueDepth {
		return fmt.Errorf("%w: value nested deeper than %d levels", ErrLimit, maxValueDepth)
	}
	// Shared references can make a small value print exponentially large ([x, x] nested n times).
	if sb.Len() > maxPrintBytes {
		return fmt.Errorf("%w: printed value above %d bytes", ErrLimit, maxPrintBytes)
	}
	itemSep, keySep := ", ", ": "
	if o.separators != nil {
		itemSep, keySep = o.separators[0], o.separators[1]
	} else if o.indent > 0 {
		itemSep = ","
	}
	switch v.kind {
	case KindNone:
		sb.WriteString("null")
	case KindUndefined:
		if undefToNull {
			sb.WriteString("null")
		} else {
			sb.WriteString("undefined")
		}
	case KindBool:
		sb.WriteString(strconv.FormatBool(v.AsBool()))
	case KindInt:
		sb.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case KindFloat:
		f := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			sb.WriteString("null")
		} else {
			sb.WriteString(jsNumber(f))
		}
	case KindString:
		writeJSONString(sb, v.AsString(), o.ensureASCII)
	case KindList, KindDict:
		return writeJSONContainer(sb, v, o, depth, undefToNull, itemSep, keySep)
	default:
		return fmt.Errorf("Cannot convert to JSON: %s", kindName(v))
	}
	return nil
}

func writeJSONContainer(sb *strings.Builder, v Value, o jsonOptions, depth int, undefToNull bool, itemSep, keySep string) error {
	pad, childPad := "", ""
	if o.indent > 0 {
		unit := strings.Repeat(" ", o.indent)
		pad = "\n" + strings.Repeat(unit, depth)
		childPad = pad + unit
	}
	open, closing := byte('['), byte(']')
	n := 0
	var keys []string
	if v.IsDict() {
		open, closing = '{', '}'
		keys = append(keys, v.AsDict().Keys...)
		if o.sortKeys {
			sort.SliceStable(keys, func(i, j int) bool { return localeLess(keys[i], keys[j]) })
		}
		n = len(keys)
	} else {
		n = len(v.AsList().Items)
	}
	sb.WriteByte(open)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(itemSep)
		}
		sb.WriteString(childPad)
		item := Value{}
		if keys != nil {
			writeJSONString(sb, keys[i], o.ensureASCII)
			sb.WriteString(keySep)
			item = v.AsDict().Data[keys[i]]
		} else {
			item = v.AsList().Items[i]
		}
		if err := writeJSON(sb, item, o, depth+1, undefToNull); err != nil {
			return err
		}
	}
	if n > 0 {
		sb.WriteString(pad)
	}
	sb.WriteByte(closing)
	return nil
}

// localeLess approximates String.prototype.localeCompare for sort_keys: case-insensitive first.
func localeLess(a, b string) bool {
	la, lb := strings.ToLower(a), strings.ToLower(b)
	if la != lb {
		return la < lb
	}
	return a > b // localeCompare puts lowercase first
}

// writeJSONString is JSON.stringify of a string: only '"', '\\' and control characters are escaped (\b \f
// \n \r \t by name, others as \u00XX); with ensureASCII every UTF-16 unit from U+007F up is escaped too.
func writeJSONString(sb *strings.Builder, s string, ensureASCII bool) {
	const hex = "0123456789abcdef"
	sb.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			sb.WriteString(`\"`)
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\b':
			sb.WriteString(`\b`)
		case r == '\f':
			sb.WriteString(`\f`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20:
			sb.WriteString(`\u00`)
			sb.WriteByte(hex[r>>4])
			sb.WriteByte(hex[r&0xf])
		case ensureASCII && r >= 0x7f:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(sb, `\u%04x`, u)
			}
		default:
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	sb.WriteByte('"')
}

// toJSONString is toJSON to a string.
func toJSONString(v Value, o jsonOptions, undefToNull bool) (string, error) {
	var sb strings.Builder
	err := writeJSON(&sb, v, o, 0, undefToNull)
	return sb.String(), err
}

// sliceIndices is the oracle's slice(): Python's slicing rules on a sequence of n items. start/stop/step
// are nil when omitted.
func sliceIndices(n int, start, stop, step *int) []int {
	st := 1
	if step != nil {
		st = *step
	}
	var lo, hi int
	if st >= 0 {
		lo, hi = 0, n
		if start != nil {
			lo = clampIndex(*start, n, 0, n)
		}
		if stop != nil {
			hi = clampIndex(*stop, n, 0, n)
		}
	} else {
		lo, hi = n-1, -1
		if start != nil {
			lo = clampIndex(*start, n, -1, n-1)
		}
		if stop != nil {
			if *stop < -1 {
				hi = max(n+*stop, -1)
			} else {
				hi = min(*stop, n-1)
			}
		}
	}
	var idx []int
	if st == 0 {
		return idx
	}
	for i := lo; (st > 0 && i < hi) || (st < 0 && i > hi); i += st {
		idx = append(idx, i)
	}
	return idx
}

// clampIndex resolves a negative index from the end and clamps it to [lo, hi].
func clampIndex(i, n, lo, hi int) int {
	if i < 0 {
		return max(n+i, lo)
	}
	return min(i, hi)
}

// titleCase is the oracle's title: /\b\w/ upper-cased, i.e. the first ASCII word character after a
// non-word character; the rest is left as it is.
func titleCase(s string) string {
	b := []byte(s)
	prevWord := false
	for i := 0; i < len(b); i++ {
		w := isASCIIWord(b[i])
		if w && !prevWord && b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
		prevWord = w
	}
	return string(b)
}

func isASCIIWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// capitalize is charAt(0).toUpperCase() + slice(1): the rest keeps its case.
func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return jsUpper(string(r)) + s[size:]
}

// looseEqual is the oracle's ==: JavaScript's == on the payloads. None and undefined are equal to each
// other; numbers, strings and booleans convert; lists and dicts are equal only to themselves.
func looseEqual(a, b Value) bool {
	an, bn := a.IsNone() || a.IsUndefined(), b.IsNone() || b.IsUndefined()
	if an || bn {
		return an && bn
	}
	if a.IsString() && b.IsString() {
		return a.AsString() == b.AsString()
	}
	if prim(a) && prim(b) {
		x, okx := jsToNumber(a)
		y, oky := jsToNumber(b)
		return okx && oky && x == y
	}
	return sameRef(a, b)
}

// strictEqual is JavaScript's === on the payloads (used by "in" on lists).
func strictEqual(a, b Value) bool {
	an, bn := a.IsNone() || a.IsUndefined(), b.IsNone() || b.IsUndefined()
	switch {
	case an || bn:
		return an && bn
	case a.IsNumber() && b.IsNumber():
		return toFloat64(a) == toFloat64(b)
	case a.IsString() && b.IsString():
		return a.AsString() == b.AsString()
	case a.IsBool() && b.IsBool():
		return a.AsBool() == b.AsBool()
	}
	return sameRef(a, b)
}

func prim(v Value) bool { return v.IsNumber() || v.IsString() || v.IsBool() }

func sameRef(a, b Value) bool {
	switch {
	case a.IsList() && b.IsList():
		return a.AsList() == b.AsList()
	case a.IsDict() && b.IsDict():
		return a.AsDict() == b.AsDict()
	}
	return false
}

// jsToNumber is ToNumber for a primitive: strings are trimmed, "" is 0, anything unparsable is NaN.
func jsToNumber(v Value) (float64, bool) {
	switch v.kind {
	case KindBool:
		if v.AsBool() {
			return 1, true
		}
		return 0, true
	case KindInt, KindFloat:
		return toFloat64(v), true
	case KindString:
		s := jsTrim(v.AsString())
		if s == "" {
			return 0, true
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	return 0, false
}

// jsUpper and jsLower are toUpperCase/toLowerCase: full Unicode case mapping (ß → SS, final sigma).
func jsUpper(s string) string { return cases.Upper(language.Und).String(s) }
func jsLower(s string) string { return cases.Lower(language.Und).String(s) }

// kindName names a value's type as the oracle's messages do.
func kindName(v Value) string {
	switch v.kind {
	case KindNone:
		return "NullValue"
	case KindBool:
		return "BooleanValue"
	case KindInt:
		return "IntegerValue"
	case KindFloat:
		return "FloatValue"
	case KindString:
		return "StringValue"
	case KindList:
		return "ArrayValue"
	case KindDict:
		return "ObjectValue"
	case KindCallable:
		return "FunctionValue"
	}
	return "UndefinedValue"
}
