package ingress

import (
	"fmt"
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
// Unknown fields are ignored, as there. One difference: serde also takes a JSON array (the tag
// first, then the fields in declaration order), which is refused here as not an object.
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

// topLevelFields is a parsed body: the tag and the other fields in their order.
type topLevelFields struct {
	target string
	names  []string
	values []jsonValue
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
	b   []byte
	pos int // next byte to read
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
	if p.b[p.pos] != '{' {
		v, msg := p.value()
		if msg != "" {
			return topLevelFields{}, msg
		}
		return topLevelFields{}, p.errAt("invalid type: "+v.unexpected+", expected internally tagged enum InvocationTargetRequest", p.pos)
	}
	p.pos++
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
		if !v.isString {
			return topLevelFields{}, p.errAt("invalid type: "+v.unexpected+", expected variant identifier", p.pos)
		}
		known := false
		for _, t := range targetVariants {
			known = known || t == v.str
		}
		if !known {
			return topLevelFields{}, p.errAt("unknown variant `"+v.str+"`, expected one of `workflow`, `idempotentInvocation`, `invocation`", p.pos)
		}
		f.target, hasTarget = v.str, true
	}
	if !hasTarget {
		return topLevelFields{}, p.errAt("missing field `target`", p.pos)
	}
	p.skipSpace()
	if !p.eof() {
		return topLevelFields{}, p.errHere("trailing characters")
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
	case c == '[':
		p.pos++
		return jsonValue{unexpected: "sequence"}, p.container(']', "EOF while parsing a list", "expected `,` or `]`")
	case c == '{':
		p.pos++
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
	f, _ := strconv.ParseFloat(text, 64)
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".IN") {
		s += ".0"
	}
	return jsonValue{unexpected: "floating point `" + s + "`"}, ""
}

// stringBody reads a string's contents after its opening quote.
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
			r, msg := p.hex4()
			if msg != "" {
				return "", msg
			}
			if 0xD800 <= r && r < 0xDC00 && p.pos+1 < len(p.b) && p.b[p.pos] == '\\' && p.b[p.pos+1] == 'u' {
				p.pos += 2
				lo, msg := p.hex4()
				if msg != "" {
					return "", msg
				}
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
			}
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			sb.WriteRune(r)
		default:
			return "", p.errAt("invalid escape", p.pos)
		}
	}
}

func (p *jsonReader) hex4() (rune, string) {
	var r rune
	for i := 0; i < 4; i++ {
		if p.eof() {
			return 0, p.errAt("EOF while parsing a string", p.pos)
		}
		c := p.b[p.pos]
		p.pos++
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
