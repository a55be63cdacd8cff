package ingress

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeTargetBody reads the JSON body of POST /restate/attach|output|lookup as restate-server
// does (serde_json into an enum internally tagged by "target"), and on failure returns serde's
// message, so that a malformed body is answered in the same words:
//
//   - while reading (serde_json): syntax errors ("expected value at line 1 column 1", "EOF while
//     parsing an object at line 1 column 9", …), a value that is not an object ("invalid type:
//     integer `1`, expected internally tagged enum InvocationTargetRequest at line 1 column 1"),
//     a tag that is not a variant ("unknown variant `x`, expected one of `workflow`,
//     `idempotentInvocation`, `invocation` at line 1 column 14"), a missing tag ("missing field
//     `target` at line 1 column 2");
//   - then, without a position, the variant's fields: a value that is not a string ("invalid
//     type: integer `1`, expected a string"), a field given twice, a missing field ("missing field
//     `workflowKey`"), in the order serde meets them.
//
// Unknown fields are ignored, as there; an array is taken as serde takes it (the tag, then the
// variant's fields in declaration order). serde_json's checks of strings (UTF-8, surrogate
// pairs), numbers and nesting depth are made in its order with its words. One difference: a
// float is read correctly rounded, where serde_json's default parser may be off in the last
// digit of a long mantissa (which shows only in a message about a number where a string is due).
func decodeTargetBody(body []byte) (targetRequest, string) {
	p := &jsonReader{b: body}
	fields, msg := p.topLevel()
	if msg != "" {
		return targetRequest{}, msg
	}
	return fields.variant()
}

// targetVariants are the values of "target", in restate-server's declaration order.
var targetVariants = []string{"workflow", "idempotentInvocation", "invocation"}

// variantFields are each variant's fields in declaration order; optional ones may be missing or
// null.
var variantFields = map[string][]struct {
	name     string
	optional bool
}{
	"workflow":             {{"scope", true}, {"workflowName", false}, {"workflowKey", false}},
	"idempotentInvocation": {{"scope", true}, {"service", false}, {"key", true}, {"handler", false}, {"idempotencyKey", false}},
	"invocation":           {{"invocationId", false}},
}

// jsonValue is one top-level field's value: a string, or what it is instead (serde's Unexpected).
type jsonValue struct {
	isString   bool
	isNull     bool
	str        string
	unexpected string
}

// topLevelFields is a parsed body: the tag and the other fields in their order. seq says it was
// an array of seqLen values after the tag, given to the variant's fields in their order.
type topLevelFields struct {
	target string
	names  []string
	values []jsonValue
	seq    bool
	seqLen int
}

func (f topLevelFields) variant() (targetRequest, string) {
	tr := targetRequest{Target: f.target}
	set := map[string]*string{
		"scope": &tr.scope, "service": &tr.service, "key": &tr.key, "handler": &tr.handler,
		"idempotencyKey": &tr.idempotencyKey, "workflowName": &tr.workflowName,
		"workflowKey": &tr.workflowKey, "invocationId": &tr.invocationID,
	}
	seen := map[string]bool{}
	known := map[string]bool{}
	for _, fd := range variantFields[f.target] {
		known[fd.name] = fd.optional
	}
	for i, name := range f.names {
		optional, ok := known[name]
		if !ok {
			continue
		}
		if seen[name] {
			return targetRequest{}, "duplicate field `" + name + "`"
		}
		v := f.values[i]
		switch {
		case v.isNull && optional:
			continue
		case !v.isString:
			return targetRequest{}, "invalid type: " + v.unexpected + ", expected a string"
		}
		seen[name] = true
		*set[name] = v.str
	}
	if fields := variantFields[f.target]; f.seq && f.seqLen != len(fields) {
		if f.seqLen < len(fields) {
			return targetRequest{}, fmt.Sprintf("invalid length %d, expected struct variant InvocationTargetRequest::%s with %d elements", f.seqLen, variantNames[f.target], len(fields))
		}
		plural := "s"
		if len(fields) == 1 {
			plural = ""
		}
		return targetRequest{}, fmt.Sprintf("invalid length %d, expected %d element%s in sequence", f.seqLen, len(fields), plural)
	}
	for _, fd := range variantFields[f.target] {
		if !fd.optional && !seen[fd.name] {
			return targetRequest{}, "missing field `" + fd.name + "`"
		}
	}
	tr.hasScope, tr.keyed = seen["scope"], seen["key"]
	return tr, ""
}

// jsonReader reads JSON as serde_json does, with its error messages and positions: the line and
// the column (bytes on the line) of the last byte read.
type jsonReader struct {
	b     []byte
	pos   int // next byte to read
	depth int // containers open
}

// maxDepth is serde_json's recursion limit: opening the 128th nested array or object fails.
const maxDepth = 128

// enter opens a container at pos (not yet read), or refuses one too deep as serde_json does.
func (p *jsonReader) enter() string {
	p.depth++
	if p.depth >= maxDepth {
		return p.errHere("recursion limit exceeded")
	}
	p.pos++
	return ""
}

// errAt words a message at the position of the byte before pos (the last one read).
func (p *jsonReader) errAt(msg string, pos int) string {
	line, col := 1, 0
	for i := 0; i < pos && i < len(p.b); i++ {
		if p.b[i] == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
	}
	return fmt.Sprintf("%s at line %d column %d", msg, line, col)
}

// errHere words msg at the byte at pos (read, and found wrong).
func (p *jsonReader) errHere(msg string) string { return p.errAt(msg, p.pos+1) }

func (p *jsonReader) skipSpace() {
	for p.pos < len(p.b) {
		switch p.b[p.pos] {
		case ' ', '\n', '\t', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonReader) eof() bool { return p.pos >= len(p.b) }

// topLevel reads the whole body: an object whose "target" is a variant, then only whitespace.
func (p *jsonReader) topLevel() (topLevelFields, string) {
	p.skipSpace()
	if p.eof() {
		return topLevelFields{}, p.errAt("EOF while parsing a value", p.pos)
	}
	switch p.b[p.pos] {
	case '[':
		return p.topLevelSeq()
	case '{':
	default:
		v, msg := p.value()
		if msg != "" {
			return topLevelFields{}, msg
		}
		return topLevelFields{}, p.errAt("invalid type: "+v.unexpected+", expected internally tagged enum InvocationTargetRequest", p.pos)
	}
	p.enter()
	var f topLevelFields
	hasTarget := false
	first := true
	for {
		p.skipSpace()
		if p.eof() {
			return topLevelFields{}, p.errAt("EOF while parsing an object", p.pos)
		}
		c := p.b[p.pos]
		if c == '}' {
			p.pos++
			break
		}
		if !first {
			if c != ',' {
				return topLevelFields{}, p.errHere("expected `,` or `}`")
			}
			p.pos++
			p.skipSpace()
			if p.eof() {
				return topLevelFields{}, p.errAt("EOF while parsing a value", p.pos)
			}
			c = p.b[p.pos]
			if c == '}' {
				return topLevelFields{}, p.errHere("trailing comma")
			}
		}
		first = false
		if c != '"' {
			return topLevelFields{}, p.errHere("key must be a string")
		}
		p.pos++
		key, msg := p.stringBody()
		if msg != "" {
			return topLevelFields{}, msg
		}
		if key == "target" && hasTarget {
			return topLevelFields{}, p.errAt("duplicate field `target`", p.pos)
		}

		p.skipSpace()
		if p.eof() {
			return topLevelFields{}, p.errAt("EOF while parsing an object", p.pos)
		}
		if p.b[p.pos] != ':' {
			return topLevelFields{}, p.errHere("expected `:`")
		}
		p.pos++
		v, msg := p.value()
		if msg != "" {
			return topLevelFields{}, msg
		}
		if key != "target" {
			f.names, f.values = append(f.names, key), append(f.values, v)
			continue
		}
		if msg := p.checkVariant(v); msg != "" {
			return topLevelFields{}, msg
		}
		f.target, hasTarget = v.str, true
	}
	if !hasTarget {
		return topLevelFields{}, p.errAt("missing field `target`", p.pos)
	}
	return f, p.end()
}

// end checks that only whitespace follows the top-level value.
func (p *jsonReader) end() string {
	p.skipSpace()
	if !p.eof() {
		return p.errHere("trailing characters")
	}
	return ""
}

// checkVariant refuses a tag that is not a string naming a variant, at the position after it.
func (p *jsonReader) checkVariant(v jsonValue) string {
	if !v.isString {
		return p.errAt("invalid type: "+v.unexpected+", expected variant identifier", p.pos)
	}
	for _, t := range targetVariants {
		if t == v.str {
			return ""
		}
	}
	return p.errAt("unknown variant `"+v.str+"`, expected one of `workflow`, `idempotentInvocation`, `invocation`", p.pos)
}

// variantNames are the variants as serde names them in its messages.
var variantNames = map[string]string{"workflow": "Workflow", "idempotentInvocation": "IdempotentInvocation", "invocation": "Invocation"}

// topLevelSeq reads the array form serde also takes: the tag, then the variant's fields in
// declaration order.
func (p *jsonReader) topLevelSeq() (topLevelFields, string) {
	p.enter()
	var elems []jsonValue
	var f topLevelFields
	for {
		p.skipSpace()
		if p.eof() {
			return topLevelFields{}, p.errAt("EOF while parsing a list", p.pos)
		}
		c := p.b[p.pos]
		if c == ']' {
			p.pos++
			break
		}
		if len(elems) > 0 {
			if c != ',' {
				return topLevelFields{}, p.errHere("expected `,` or `]`")
			}
			p.pos++
			p.skipSpace()
			if !p.eof() && p.b[p.pos] == ']' {
				return topLevelFields{}, p.errHere("trailing comma")
			}
		}
		v, msg := p.value()
		if msg != "" {
			return topLevelFields{}, msg
		}
		if len(elems) == 0 {
			if msg := p.checkVariant(v); msg != "" {
				return topLevelFields{}, msg
			}
			f.target = v.str
		}
		elems = append(elems, v)
	}
	if len(elems) == 0 {
		return topLevelFields{}, p.errAt("missing field `target`", p.pos)
	}
	if msg := p.end(); msg != "" {
		return topLevelFields{}, msg
	}
	f.seq, f.seqLen = true, len(elems)-1
	for i, fd := range variantFields[f.target] {
		if i < f.seqLen {
			f.names, f.values = append(f.names, fd.name), append(f.values, elems[1+i])
		}
	}
	return f, ""
}

// value reads one JSON value after optional whitespace.
func (p *jsonReader) value() (jsonValue, string) {
	p.skipSpace()
	if p.eof() {
		return jsonValue{}, p.errAt("EOF while parsing a value", p.pos)
	}
	switch c := p.b[p.pos]; {
	case c == '"':
		p.pos++
		s, msg := p.stringBody()
		if msg != "" {
			return jsonValue{}, msg
		}
		return jsonValue{isString: true, str: s, unexpected: "string " + strconv.Quote(s)}, ""
	case c == 'n':
		return jsonValue{isNull: true, unexpected: "null"}, p.ident("null")
	case c == 't':
		return jsonValue{unexpected: "boolean `true`"}, p.ident("true")
	case c == 'f':
		return jsonValue{unexpected: "boolean `false`"}, p.ident("false")
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	case c == '[' || c == '{':
		if msg := p.enter(); msg != "" {
			return jsonValue{}, msg
		}
		defer func() { p.depth-- }()
		if c == '[' {
			return jsonValue{unexpected: "sequence"}, p.container(']', "EOF while parsing a list", "expected `,` or `]`")
		}
		return jsonValue{unexpected: "map"}, p.container('}', "EOF while parsing an object", "expected `,` or `}`")
	}
	return jsonValue{}, p.errHere("expected value")
}

// container reads the rest of an array or object (after its opening bracket).
func (p *jsonReader) container(end byte, eofMsg, sepMsg string) string {
	first := true
	for {
		p.skipSpace()
		if p.eof() {
			return p.errAt(eofMsg, p.pos)
		}
		c := p.b[p.pos]
		if c == end {
			p.pos++
			return ""
		}
		if !first {
			if c != ',' {
				return p.errHere(sepMsg)
			}
			p.pos++
			p.skipSpace()
			if p.eof() {
				return p.errAt("EOF while parsing a value", p.pos)
			}
			if p.b[p.pos] == end {
				return p.errHere("trailing comma")
			}
		}
		first = false
		if end == '}' {
			if p.b[p.pos] != '"' {
				return p.errHere("key must be a string")
			}
			p.pos++
			if _, msg := p.stringBody(); msg != "" {
				return msg
			}
			p.skipSpace()
			if p.eof() {
				return p.errAt(eofMsg, p.pos)
			}
			if p.b[p.pos] != ':' {
				return p.errHere("expected `:`")
			}
			p.pos++
		}
		if _, msg := p.value(); msg != "" {
			return msg
		}
	}
}

// ident reads the literal word (null, true, false).
func (p *jsonReader) ident(word string) string {
	for i := 0; i < len(word); i++ {
		if p.eof() {
			return p.errAt("EOF while parsing a value", p.pos)
		}
		if p.b[p.pos] != word[i] {
			return p.errHere("expected ident")
		}
		p.pos++
	}
	return ""
}

// number reads a JSON number; serde tells integers (unsigned or signed) from floats.
func (p *jsonReader) number() (jsonValue, string) {
	start := p.pos
	if p.b[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for !p.eof() && '0' <= p.b[p.pos] && p.b[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.eof() {
		return jsonValue{}, p.errAt("EOF while parsing a value", p.pos)
	}
	if p.b[p.pos] == '0' {
		p.pos++
		if !p.eof() && '0' <= p.b[p.pos] && p.b[p.pos] <= '9' {
			return jsonValue{}, p.errHere("invalid number")
		}
	} else if digits() == 0 {
		return jsonValue{}, p.errHere("invalid number")
	}
	float := false
	if !p.eof() && p.b[p.pos] == '.' {
		float = true
		p.pos++
		if p.eof() {
			return jsonValue{}, p.errAt("EOF while parsing a value", p.pos)
		}
		if digits() == 0 {
			return jsonValue{}, p.errHere("invalid number")
		}
	}
	if !p.eof() && (p.b[p.pos] == 'e' || p.b[p.pos] == 'E') {
		float = true
		p.pos++
		if !p.eof() && (p.b[p.pos] == '+' || p.b[p.pos] == '-') {
			p.pos++
		}
		if p.eof() {
			return jsonValue{}, p.errAt("EOF while parsing a value", p.pos)
		}
		if digits() == 0 {
			return jsonValue{}, p.errHere("invalid number")
		}
	}
	text := string(p.b[start:p.pos])
	if !float {
		var err error
		if strings.HasPrefix(text, "-") {
			_, err = strconv.ParseInt(text, 10, 64)
		} else {
			_, err = strconv.ParseUint(text, 10, 64)
		}
		if err == nil {
			return jsonValue{unexpected: "integer `" + text + "`"}, ""
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && math.IsInf(f, 0) {
		return jsonValue{}, p.errAt("number out of range", p.pos)
	}
	return jsonValue{unexpected: "floating point `" + serdeFloat(f) + "`"}, ""
}

// serdeFloat writes a float as serde's messages do: decimal from 1e-5 up to 1e16 ("1500.0",
// "0.00001"), else the shortest digits with an exponent ("1e+16", "1.5e-7").
func serdeFloat(f float64) string {
	e := strconv.FormatFloat(f, 'e', -1, 64) // "1.5e+16"
	mant, exp, _ := strings.Cut(e, "e")
	n, _ := strconv.Atoi(exp)
	if f == 0 || (-5 <= n && n < 16) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	if n > 0 {
		return mant + "e+" + strconv.Itoa(n)
	}
	return mant + "e" + strconv.Itoa(n)
}

// stringBody reads a string's contents after its opening quote. As serde_json, it checks the
// UTF-8 of the whole string at its closing quote, and takes \u escapes of UTF-16 surrogates
// only in pairs.
func (p *jsonReader) stringBody() (string, string) {
	var sb strings.Builder
	for {
		if p.eof() {
			return "", p.errAt("EOF while parsing a string", p.pos)
		}
		c := p.b[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.ValidString(sb.String()) {
				return "", p.errAt("invalid unicode code point", p.pos)
			}
			return sb.String(), ""
		case c < 0x20:
			return "", p.errHere("control character (\\u0000-\\u001F) found while parsing a string")
		case c != '\\':
			sb.WriteByte(c)
			p.pos++
			continue
		}
		p.pos++
		if p.eof() {
			return "", p.errAt("EOF while parsing a string", p.pos)
		}
		e := p.b[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			sb.WriteByte(e)
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'u':
			r, msg := p.surrogates()
			if msg != "" {
				return "", msg
			}
			sb.WriteRune(r)
		default:
			return "", p.errAt("invalid escape", p.pos)
		}
	}
}

// surrogates reads what follows \u: a code point, or a pair of UTF-16 surrogates.
func (p *jsonReader) surrogates() (rune, string) {
	r, msg := p.hex4()
	switch {
	case msg != "":
		return 0, msg
	case 0xDC00 <= r && r <= 0xDFFF:
		return 0, p.errAt("lone leading surrogate in hex escape", p.pos)
	case r < 0xD800 || r > 0xDBFF:
		return r, ""
	}
	for _, want := range []byte{'\\', 'u'} {
		if p.eof() {
			return 0, p.errAt("EOF while parsing a string", p.pos)
		}
		if p.b[p.pos] != want {
			p.pos++
			return 0, p.errAt("unexpected end of hex escape", p.pos)
		}
		p.pos++
	}
	lo, msg := p.hex4()
	switch {
	case msg != "":
		return 0, msg
	case lo < 0xDC00 || lo > 0xDFFF:
		return 0, p.errAt("lone leading surrogate in hex escape", p.pos)
	}
	return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), ""
}

// hex4 reads the four hex digits of a \u escape, all four before it judges them (as serde_json).
func (p *jsonReader) hex4() (rune, string) {
	if len(p.b)-p.pos < 4 {
		p.pos = len(p.b)
		return 0, p.errAt("EOF while parsing a string", p.pos)
	}
	digits := p.b[p.pos : p.pos+4]
	p.pos += 4
	var r rune
	for _, c := range digits {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, p.errAt("invalid escape", p.pos)
		}
		r = r<<4 | rune(d)
	}
	return r, ""
}
